"""The catalog of architecture families the search can vary, and the checks of search spaces against it.

A family is a parametrized model builder: its parameters (width multiplier, depth, kernel size, ...) are
declared here with their types and hard limits, like recipe steps in ``advisor.kb.steps``; the ranges the
search explores are data (``knowledge/families/*.yaml`` and ``knowledge/search-spaces/*.yaml``), checked
against this catalog when the knowledge base loads. The builders live in ``advisor.run.families`` (they
import TensorFlow); nothing here does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from advisor.kb.steps import Param, Registry


@dataclass(frozen=True)
class FamilySpec:
    name: str
    summary: str
    target: str  # "function" inside advisor.run.families
    kind: str  # classification | autoencoder
    params: dict[str, Param] = field(default_factory=dict)


CATALOG: dict[str, FamilySpec] = {
    spec.name: spec for spec in (
        FamilySpec("digits-cnn", "two conv + max-pool blocks and a dense layer on 8x8 images (the digits example)",
                   "digits_cnn", "classification",
                   {"width": Param(float, 1.0, 0.125, 2.0, help="multiplier on every layer's filters/units"),
                    "depth": Param(int, 2, 1, 2, help="conv + pool blocks (an 8x8 input allows two)"),
                    "kernel": Param(int, 3, choices=(3, 5), help="conv kernel size")}),
        FamilySpec("imu-cnn", "conv layers over time on 3-axis accelerometer windows, then a dense layer "
                   "(the imu-gestures example)", "imu_cnn", "classification",
                   {"width": Param(float, 1.0, 0.125, 2.0, help="multiplier on every layer's filters/units"),
                    "depth": Param(int, 2, 1, 3, help="conv layers"),
                    "kernel": Param(int, 5, choices=(3, 5, 7), help="kernel length over time")}),
        FamilySpec("dense-autoencoder", "a symmetric dense autoencoder (the vibration example; the MLPerf Tiny "
                   "anomaly-detection reference is one too)", "dense_autoencoder", "autoencoder",
                   {"width": Param(float, 1.0, 0.125, 2.0, help="multiplier on the hidden layers' units"),
                    "depth": Param(int, 2, 1, 4, help="hidden layers on each side of the bottleneck"),
                    "bottleneck": Param(int, 8, 2, 64, help="units in the bottleneck")}),
    )
}


def check_range(spec: Param, rng) -> list[tuple[tuple, str]]:
    """(path inside the range, problem) for a search range that leaves the parameter's allowed values."""
    problems: list[tuple[tuple, str]] = []
    if rng.choices is not None:
        for i, value in enumerate(rng.choices):
            wrong = spec.check(value)
            if wrong:
                problems.append((("choices", i), wrong))
        return problems
    if spec.type not in (int, float):
        return [(("low",), f"a {spec.type.__name__} parameter takes choices, not low/high")]
    for key in ("low", "high"):
        value = getattr(rng, key)
        value = int(value) if spec.type is int and float(value).is_integer() else value
        wrong = spec.check(value)
        if wrong:
            problems.append(((key,), wrong))
    if rng.low > rng.high:
        problems.append((("low",), f"low {rng.low:g} is above high {rng.high:g}"))
    if spec.type is int and rng.step is not None and not float(rng.step).is_integer():
        problems.append((("step",), f"an int parameter needs an integer step, got {rng.step:g}"))
    if rng.log and rng.step is not None:
        problems.append((("log",), "a log-scaled range takes no step"))
    if rng.log and rng.low <= 0:
        problems.append((("low",), "a log-scaled range needs low > 0"))
    return problems


def check_space(space, registry: Registry) -> list[tuple[tuple, str]]:
    """Problems of a recipe-parameter search space: unknown steps or parameters, ranges outside limits."""
    problems: list[tuple[tuple, str]] = []
    for step_name, params in space.steps.items():
        step = registry.get(step_name)
        if step is None:
            problems.append((("steps", step_name), f"unknown step '{step_name}' (available: "
                             f"{', '.join(registry.available())})"))
            continue
        for name, rng in params.items():
            spec = step.params.get(name)
            if spec is None:
                problems.append((("steps", step_name, name), f"step '{step_name}' has no parameter '{name}' "
                                 f"(allowed: {', '.join(step.params) or 'none'})"))
                continue
            problems += [(("steps", step_name, name) + p, m) for p, m in check_range(spec, rng)]
    return problems


def check_family(family) -> list[tuple[tuple, str]]:
    """Problems of a family entry: no builder in the catalog, unknown parameters, ranges outside limits."""
    spec = CATALOG.get(family.id)
    if spec is None:
        return [(("id",), f"no builder for family '{family.id}' (available: {', '.join(sorted(CATALOG))})")]
    problems: list[tuple[tuple, str]] = []
    if family.kind != spec.kind:
        problems.append((("kind",), f"the builder of '{family.id}' makes a {spec.kind} model"))
    for name, rng in family.space.items():
        param = spec.params.get(name)
        if param is None:
            problems.append((("space", name), f"family '{family.id}' has no parameter '{name}' "
                             f"(allowed: {', '.join(spec.params)})"))
            continue
        problems += [(("space", name) + p, m) for p, m in check_range(param, rng)]
    return problems
