"""What one trial tries: a recipe, its step parameters and (with a family) architecture parameters.

The ranges are data (``knowledge/search-spaces/``, ``knowledge/families/``); this module turns them into
Optuna suggestions and back into a concrete recipe. Parameter names are ``recipe``, ``<step id>.<param>``
and ``arch.<param>``, so the same step in two recipes shares what the sampler learnt about it.
"""

from __future__ import annotations

from advisor.kb.base import KnowledgeBase
from advisor.kb.entities import Recipe, SearchRange
from advisor.kb.families import CATALOG
from advisor.kb.recipes import step_order
from advisor.kb.steps import default_registry

SPACE = "recipe-parameters"


def _suggest(trial, name: str, rng: SearchRange, kind: type):
    if rng.choices is not None:
        return trial.suggest_categorical(name, list(rng.choices))
    if kind is int:
        return trial.suggest_int(name, int(rng.low), int(rng.high), step=int(rng.step or 1), log=rng.log)
    return trial.suggest_float(name, rng.low, rng.high, step=rng.step, log=rng.log)


def step_ranges(recipe: Recipe, kb: KnowledgeBase) -> list[tuple[str, str, SearchRange, type]]:
    """(step id, parameter, range, type) for every parameter of ``recipe`` the search space varies."""
    registry = default_registry()
    space = kb.search_spaces.get(SPACE)
    out = []
    for step in step_order(recipe):
        ranges = space.steps.get(step.uses, {}) if space else {}
        spec = registry.get(step.uses)
        for name in sorted(ranges):
            out.append((step.id, name, ranges[name], spec.params[name].type))
    return out


def suggest(trial, recipes: list[str], family: str | None, kb: KnowledgeBase) -> tuple[str, dict, dict]:
    """(recipe id, {step id: {param: value}}, {arch param: value}) for this trial."""
    recipe_id = trial.suggest_categorical("recipe", list(recipes))
    overrides: dict[str, dict] = {}
    for step_id, name, rng, kind in step_ranges(kb.recipes[recipe_id], kb):
        overrides.setdefault(step_id, {})[name] = _suggest(trial, f"{step_id}.{name}", rng, kind)
    arch = {}
    if family:
        spec = CATALOG[family]
        for name, rng in sorted(kb.families[family].space.items()):
            arch[name] = _suggest(trial, f"arch.{name}", rng, spec.params[name].type)
    return recipe_id, overrides, arch


def defaults(recipe: Recipe, family: str | None, kb: KnowledgeBase) -> dict:
    """The trial parameters that reproduce ``recipe`` exactly as shipped (and the family's defaults)."""
    registry = default_registry()
    params: dict = {"recipe": recipe.id}
    for step_id, name, _rng, _kind in step_ranges(recipe, kb):
        step = next(s for s in recipe.steps if s.id == step_id)
        params[f"{step_id}.{name}"] = registry.get(step.uses).resolve(step.with_)[0][name]
    if family:
        spec = CATALOG[family]
        for name in sorted(kb.families[family].space):
            params[f"arch.{name}"] = spec.params[name].default
    return params


def is_default_arch(arch: dict, family: str | None) -> bool:
    """True when ``arch`` is the family's defaults (the user's own model has that architecture)."""
    if not family:
        return True
    spec = CATALOG[family]
    return all(arch[name] == spec.params[name].default for name in arch)


def variant(recipe: Recipe, overrides: dict) -> Recipe:
    """``recipe`` with the step parameters in ``overrides`` (the id stays: it is the same recipe, tuned)."""
    steps = tuple(s.model_copy(update={"with_": {**s.with_, **overrides.get(s.id, {})}}) for s in recipe.steps)
    return recipe.model_copy(update={"steps": steps})
