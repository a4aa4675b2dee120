"""The catalog of recipe steps: an explicit registry of named steps with typed parameters.

The catalog is what the knowledge-base loader checks recipes against; it names each step's
implementation as ``module:function`` inside ``advisor.run.steps``, which the run stage resolves
(``advisor.run.steps.implementation``). Steps are registered by ``default_registry`` -- never as a
side effect of importing a module -- and nothing here imports the run stage or TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from advisor.problems import did_you_mean


@dataclass(frozen=True)
class Param:
    type: type
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple = ()
    help: str = ""

    def check(self, value: Any) -> str:
        """'' when ``value`` fits, else what is wrong."""
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, self.type) or (self.type is int and isinstance(value, bool)):
            return f"expected {self.type.__name__}, got {type(value).__name__} {value!r}"
        if self.choices and value not in self.choices:
            return f"{value!r} is not one of {', '.join(map(str, self.choices))}"
        if self.minimum is not None and value < self.minimum:
            return f"{value!r} is below the minimum {self.minimum:g}"
        if self.maximum is not None and value > self.maximum:
            return f"{value!r} is above the maximum {self.maximum:g}"
        return ""


@dataclass(frozen=True)
class Step:
    name: str
    summary: str
    target: str  # "module:function" inside advisor.run.steps
    params: dict[str, Param] = field(default_factory=dict)
    data: str = "none"  # the least data it needs: none | representative | labelled

    def resolve(self, given: dict) -> tuple[dict, list[tuple[str, str]]]:
        """Parameters with defaults filled in, and (name, problem) for each bad one."""
        problems = [(k, f"unknown parameter '{k}'{did_you_mean(k, self.params)} (allowed: "
                        f"{', '.join(self.params) or 'none'})") for k in given if k not in self.params]
        values = {}
        for name, spec in self.params.items():
            value = given.get(name, spec.default)
            wrong = spec.check(value)
            if wrong:
                problems.append((name, wrong))
            values[name] = float(value) if spec.type is float and isinstance(value, int) else value
        return values, problems


class Registry:
    """Steps by name; registering a name twice is an error."""

    def __init__(self) -> None:
        self._steps: dict[str, Step] = {}

    def register(self, step: Step) -> None:
        if step.name in self._steps:
            raise ValueError(f"step '{step.name}' is registered twice")
        self._steps[step.name] = step

    def get(self, name: str) -> Step | None:
        return self._steps.get(name)

    def available(self) -> list[str]:
        return sorted(self._steps)


EPOCHS = Param(int, 2, 1, 200, help="fine-tuning epochs")
BATCH = Param(int, 32, 1, 4096, help="batch size")
RATE = Param(float, 1e-3, 1e-6, 1.0, help="learning rate")


def default_registry() -> Registry:
    """Every step the recipe engine knows."""
    r = Registry()
    r.register(Step("load-model", "load the float Keras model", "keras_steps:load_model"))
    r.register(Step("prune", "magnitude pruning to a target sparsity (polynomial decay), fine-tuned, stripped",
                    "keras_steps:prune", {"target_sparsity": Param(float, 0.5, 0.05, 0.95), "epochs": EPOCHS,
                                          "batch_size": BATCH, "learning_rate": RATE}, "labelled"))
    r.register(Step("cluster", "weight clustering, fine-tuned, stripped", "keras_steps:cluster",
                    {"clusters": Param(int, 16, 2, 256), "preserve_sparsity": Param(bool, False),
                     "epochs": EPOCHS, "batch_size": BATCH, "learning_rate": RATE}, "labelled"))
    r.register(Step("qat", "quantization-aware training (fake-quantized fine-tuning)", "keras_steps:qat",
                    {"preserve": Param(str, "none", choices=("none", "sparsity", "clusters", "sparsity+clusters")),
                     "epochs": EPOCHS, "batch_size": BATCH, "learning_rate": Param(float, 1e-4, 1e-6, 1.0)},
                    "labelled"))
    r.register(Step("distill", "train a narrower student on the teacher's outputs and the labels",
                    "keras_steps:distill", {"width": Param(float, 0.5, 0.1, 1.0), "epochs": Param(int, 10, 1, 500),
                                            "temperature": Param(float, 4.0, 1.0, 20.0),
                                            "alpha": Param(float, 0.3, 0.0, 1.0), "batch_size": BATCH,
                                            "learning_rate": RATE}, "labelled"))
    r.register(Step("convert", "convert to .tflite", "tflite_steps:convert",
                    {"mode": Param(str, "int8", choices=("int8", "dynamic-range", "float16", "float32")),
                     "samples": Param(int, 100, 1, 10_000, help="representative samples for int8 calibration")},
                    "none"))
    r.register(Step("evaluate", "accuracy of the Keras model and of the .tflite in the TFLite interpreter",
                    "tflite_steps:evaluate", {}, "labelled"))
    r.register(Step("tflm-validate", "run the .tflite in the tflite-micro interpreter (child process) on the test "
                    "set: accuracy, arena bytes, unsupported operators", "tflite_steps:tflm_validate",
                    {"samples": Param(int, 10_000, 1, 1_000_000, help="test samples to run (default: all, up to 10,000)")}, "labelled"))
    r.register(Step("export-c", "C array (.cc/.h, 16-byte aligned) and a TFLM main.cc sketch",
                    "export:export_c", {"arena_margin_pct": Param(float, 10.0, 0.0, 200.0)}))
    return r
