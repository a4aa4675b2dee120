"""Typed knowledge-base entities (pydantic, extra fields forbidden), built after schema validation."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Source(Strict):
    kind: str
    ref: str
    note: str = ""


class Entity(Strict):
    id: str
    sources: tuple[Source, ...]


class Core(Strict):
    core: str
    count: int
    clock_mhz: float


class Mcu(Strict):
    part: str
    cores: tuple[Core, ...]
    arch: str
    max_clock_mhz: float

    @property
    def main_core(self) -> Core:
        """The fastest core (first listed on ties)."""
        return max(self.cores, key=lambda c: c.clock_mhz)


class Npu(Strict):
    kind: str
    name: str
    macs_per_cycle: Optional[int] = None
    gops: Optional[float] = None


class Power(Strict):
    active_mw: Optional[float] = None
    sleep_mw: Optional[float] = None
    conditions: str


class Board(Entity):
    name: str
    vendor: str
    class_: Literal["mcu", "mpu", "sbc"] = Field(alias="class")
    mcu: Mcu
    sram_kb: float
    flash_kb: float
    ext_ram_kb: float = 0.0
    ext_flash_kb: float = 0.0
    fpu: Literal["none", "sp", "dp"]
    dsp: bool
    vector_ext: str = "none"
    npu: Optional[Npu] = None
    sensors: tuple[str, ...]
    connectivity: tuple[str, ...]
    price_usd: float
    power: Optional[Power] = None
    frameworks: tuple[str, ...]
    os: tuple[str, ...]
    notes: str = ""


class Runtime(Strict):
    flash_kb: Optional[float] = None
    ram_kb: Optional[float] = None
    note: str


class Framework(Entity):
    name: str
    vendor: str
    kind: str
    target_classes: tuple[str, ...]
    cores: tuple[str, ...]
    languages: tuple[str, ...]
    model_formats: tuple[str, ...]
    quantization: tuple[str, ...]
    accelerators: tuple[str, ...] = ()
    runtime: Runtime
    os: tuple[str, ...] = ()
    builds_on: tuple[str, ...] = ()
    license: str
    status: Literal["active", "maintenance", "archived", "removed"]
    status_note: str = ""
    status_checked: str
    community: Literal["large", "medium", "small"]
    operators: Optional[str] = None
    notes: str = ""


class Operator(Strict):
    name: str
    dtypes: tuple[str, ...]
    accelerated_by: tuple[str, ...] = ()
    constraints: str = ""


class OperatorSet(Entity):
    framework: str
    op_naming: str
    checked_against: str
    ops: tuple[Operator, ...]
    notes: str = ""

    def names(self, dtype: str | None = None) -> tuple[str, ...]:
        """Operator names, optionally only those supporting ``dtype``."""
        return tuple(o.name for o in self.ops if dtype is None or dtype in o.dtypes)


class Preconditions(Strict):
    data: Literal["none", "representative", "labelled"]
    retraining: bool
    requires: tuple[str, ...] = ()
    notes: str = ""


class Produces(Strict):
    weights: str
    activations: str
    notes: str = ""


class Effect(Strict):
    size_factor: Optional[tuple[float, float]] = None
    compressed_size_factor: Optional[tuple[float, float]] = None
    latency_factor: Optional[tuple[float, float]] = None
    accuracy_delta_pp: Optional[tuple[float, float]] = None
    note: str


class Technique(Entity):
    name: str
    family: str
    description: str
    preconditions: Preconditions
    produces: Produces
    effect: Effect
    frameworks: tuple[str, ...]
    tools: tuple[str, ...]


class Tool(Entity):
    name: str
    kinds: tuple[str, ...]
    features: tuple[str, ...]
    ease_of_use: Literal["easy", "moderate", "hard"]
    platforms: tuple[str, ...]
    languages: tuple[str, ...]
    license: str
    status: Literal["active", "maintenance", "archived"]
    status_note: str = ""


class StepProblem(Strict):
    id: str
    text: str


class GuidelineStep(Entity):
    step: int
    title: str
    summary: str
    follows: Optional[str] = None
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    methods: tuple[str, ...]
    problems: tuple[StepProblem, ...]


class Cases(Strict):
    fires: tuple[dict, ...]
    quiet: tuple[dict, ...]


class Pitfall(Entity):
    name: str
    step: str
    problem: str
    severity: Literal["info", "low", "medium", "high", "critical"]
    condition: str
    evidence: str
    mitigation: str
    cases: Cases


SEVERITIES = ("info", "low", "medium", "high", "critical")


class ReferenceModel(Entity):
    name: str
    tasks: tuple[str, ...]
    input_kind: str
    input_shape: tuple[int, ...]
    num_classes: int
    params: Optional[int] = None
    macs: int
    int8_tflite_bytes: int
    int8_arena_bytes: int
    float_accuracy_pct: Optional[float] = None
    int8_accuracy_pct: Optional[float] = None
    ops: tuple[str, ...]
    notes: str = ""


class Measurement(Strict):
    model: str
    macs: float
    board: str
    clock_mhz: float
    latency_ms: float
    framework: str = ""
    source: str
    note: str = ""

    @property
    def macs_per_cycle(self) -> float:
        return self.macs / (self.latency_ms * 1e-3 * self.clock_mhz * 1e6)


class Throughput(Entity):
    name: str
    cores: tuple[str, ...]
    kernel: Literal["reference", "cmsis-nn", "esp-nn", "vendor", "npu"]
    npu: Optional[str] = None
    dtype: Literal["int8", "float32"]
    macs_per_cycle: float
    measurements: tuple[Measurement, ...]
    notes: str = ""


class Relax(Strict):
    field: str
    need: Optional[str] = None


class ConstraintCases(Strict):
    hold: tuple[dict, ...]
    violate: tuple[dict, ...]


class Constraint(Entity):
    name: str
    holds: str
    explain: str
    relax: Optional[Relax] = None
    cases: ConstraintCases


class RecipeStep(Strict):
    id: str
    uses: str
    with_: dict = Field(default_factory=dict, alias="with")
    requires: tuple[str, ...] = ()


class Recipe(Strict):
    """A compression recipe (recipes/*.yaml). Recipes are ours, so they carry no sources."""

    id: str
    name: str
    description: str
    techniques: tuple[str, ...]
    quantization: Literal["int8", "int16x8", "dynamic-range", "float16", "float32"]
    steps: tuple[RecipeStep, ...]
    notes: str = ""
