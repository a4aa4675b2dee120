"""Typed knowledge-base entities (pydantic, extra fields forbidden), built after schema validation."""

from __future__ import annotations

from typing import Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field

from advisor.resources import schema_json


def _shared(name: str) -> tuple[str, ...]:
    """The values of the shared enum ``name`` in common.schema.json ``$defs`` (the one place they are listed)."""
    return tuple(schema_json("common")["$defs"][name]["enum"])


# NOTE: shared enums are read from common.schema.json, so a value added there is accepted here too;
# tests/test_entities_schema.py checks every field (shared or not) against its schema.
SEVERITIES = _shared("severity")  # mildest first: --fail-on and the report compare by this order
GUIDELINE_STEPS = _shared("guidelineStep")  # in step order
Severity = Literal[SEVERITIES]
GuidelineStepId = Literal[GUIDELINE_STEPS]
BoardClass = Literal[_shared("boardClass")]
TargetClass = Literal[_shared("targetClass")]
CoreName = Literal[_shared("core")]
Arch = Literal[_shared("arch")]
Fpu = Literal[_shared("fpu")]
NpuKind = Literal[_shared("npuKind")]
Accelerator = Literal[_shared("accelerator")]
Kernel = Literal[_shared("kernel")]
Sensor = Literal[_shared("sensor")]
Connectivity = Literal[_shared("connectivity")]
Os = Literal[_shared("os")]
FrameworkKind = Literal[_shared("frameworkKind")]
FrameworkStatus = Literal[_shared("frameworkStatus")]
Community = Literal[_shared("community")]
Language = Literal[_shared("language")]
ModelFormat = Literal[_shared("modelFormat")]
Quantization = Literal[_shared("quantization")]
ConvertedQuantization = Literal[_shared("convertedQuantization")]
Dtype = Literal[_shared("dtype")]
DataNeed = Literal[_shared("dataNeed")]
Task = Literal[_shared("task")]
InputKind = Literal[_shared("inputKind")]
OperatorClass = Literal[_shared("operatorClass")]
BuildPath = Literal[_shared("buildPath")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Source(Strict):
    kind: Literal["datasheet", "reference-manual", "vendor-page", "documentation", "repository", "paper", "seed",
                  "dataset", "release-notes", "benchmark", "issue"]
    ref: str
    note: str = ""


class Entity(Strict):
    id: str
    sources: tuple[Source, ...]


class Core(Strict):
    core: CoreName
    count: int
    clock_mhz: float


class Mcu(Strict):
    part: str
    cores: tuple[Core, ...]
    arch: Arch
    max_clock_mhz: float

    @property
    def main_core(self) -> Core:
        """The fastest core (first listed on ties)."""
        return max(self.cores, key=lambda c: c.clock_mhz)


class Npu(Strict):
    kind: NpuKind
    name: str
    macs_per_cycle: Optional[int] = None
    gops: Optional[float] = None
    memory_kb: Optional[float] = None


class Peripheral(Strict):
    kind: Literal["microphone", "imu", "camera", "ble", "wifi", "lora", "cellular", "display", "other"]
    active_mw: float
    conditions: str


class Power(Strict):
    active_mw: Optional[float] = None
    sleep_mw: Optional[float] = None
    npu_active_mw: Optional[float] = None
    npu_conditions: str = ""
    conditions: str
    basis: Optional[Literal["board-measured", "chip-datasheet", "vendor-board-doc"]] = None
    supply_v: Optional[float] = None
    clock_mhz: Optional[float] = None
    active_ma: Optional[float] = None
    run_ua_per_mhz: Optional[float] = None
    sleep_ua: Optional[float] = None
    peripherals: tuple[Peripheral, ...] = ()


class PriceSource(Strict):
    ref: str
    read: str
    seller: str = ""
    note: str = ""


class Board(Entity):
    name: str
    vendor: str
    class_: BoardClass = Field(alias="class")
    mcu: Mcu
    sram_kb: float
    flash_kb: float
    ext_ram_kb: float = 0.0
    ext_flash_kb: float = 0.0
    fpu: Fpu
    dsp: bool
    vector_ext: Literal["none", "armv7e-m-dsp", "armv8-m-dsp", "helium-mve", "xtensa-pie", "riscv-p", "riscv-v",
                        "neon"] = "none"
    npu: Optional[Npu] = None
    sensors: tuple[Sensor, ...]
    connectivity: tuple[Connectivity, ...]
    price_usd: Optional[float]  # None: unknown (the key is required: say so explicitly)
    price_source: Optional[PriceSource] = None
    power: Optional[Power] = None
    frameworks: tuple[str, ...]
    os: tuple[Os, ...]
    notes: str = ""


class Runtime(Strict):
    flash_kb: Optional[float] = None
    ram_kb: Optional[float] = None
    arena_external_ram: Optional[bool] = None  # None: unknown, so external RAM is not counted
    note: str


class Framework(Entity):
    name: str
    vendor: str
    kind: FrameworkKind
    target_classes: tuple[TargetClass, ...]
    cores: tuple[CoreName, ...]
    languages: tuple[Language, ...]
    model_formats: tuple[ModelFormat, ...]
    quantization: tuple[Quantization, ...]
    accelerators: tuple[Accelerator, ...] = ()
    runtime: Runtime
    os: tuple[Os, ...] = ()
    builds_on: tuple[str, ...] = ()
    license: str
    status: FrameworkStatus
    status_note: str = ""
    status_checked: str
    community: Community
    operators: Optional[str] = None
    notes: str = ""


class Operator(Strict):
    name: str
    dtypes: tuple[Dtype, ...]
    accelerated_by: tuple[Accelerator, ...] = ()
    constraints: str = ""


class OperatorSet(Entity):
    framework: str
    op_naming: Literal["tflite-builtin"]
    checked_against: str
    ops: tuple[Operator, ...]
    notes: str = ""

    def names(self, dtype: str | None = None) -> tuple[str, ...]:
        """Operator names, optionally only those supporting ``dtype``."""
        return tuple(o.name for o in self.ops if dtype is None or dtype in o.dtypes)


class Preconditions(Strict):
    data: DataNeed
    retraining: bool
    requires: tuple[str, ...] = ()
    notes: str = ""


class Produces(Strict):
    weights: Literal["float32", "float16", "int8", "int4", "binary", "sparse", "clustered", "unchanged"]
    activations: Literal["float32", "float16", "int8", "int16", "unchanged"]
    notes: str = ""


class Effect(Strict):
    size_factor: Optional[tuple[float, float]] = None
    compressed_size_factor: Optional[tuple[float, float]] = None
    latency_factor: Optional[tuple[float, float]] = None
    accuracy_delta_pp: Optional[tuple[float, float]] = None
    note: str


class Technique(Entity):
    name: str
    family: Literal["quantization", "pruning", "clustering", "distillation", "architecture", "factorization", "coding"]
    description: str
    preconditions: Preconditions
    produces: Produces
    effect: Effect
    frameworks: tuple[str, ...]
    tools: tuple[str, ...]


class Tool(Entity):
    name: str
    kinds: tuple[Literal["automl", "nas", "hpo", "compression", "benchmark", "training", "conversion"], ...]
    features: tuple[str, ...]
    ease_of_use: Literal["easy", "moderate", "hard"]
    platforms: tuple[str, ...]
    languages: tuple[Literal["python", "java", "scala", "cpp", "r"], ...]
    license: str
    status: Literal["active", "maintenance", "archived"]
    status_note: str = ""


class StepProblem(Strict):
    id: str
    text: str


class GuidelineStep(Entity):
    id: GuidelineStepId
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
    step: GuidelineStepId
    problem: str
    severity: Severity
    condition: str
    evidence: str
    mitigation: str
    cases: Cases



class ModelWork(Strict):
    """Per-operator-class work of a reference model's int8 graph (advisor.perf sums latency over it)."""

    conv: int
    pointwise: int
    depthwise: int
    fully_connected: int
    elementwise: int
    operators: int
    derivation: str


class ReferenceModel(Entity):
    name: str
    tasks: tuple[Task, ...]
    input_kind: InputKind
    input_shape: tuple[int, ...]
    num_classes: int
    params: Optional[int] = None
    macs: int
    int8_tflite_bytes: int
    int8_arena_bytes: int
    activation_bytes: Optional[int] = None
    float_accuracy_pct: Optional[float] = None
    int8_accuracy_pct: Optional[float] = None
    ops: tuple[str, ...]
    work: Optional[ModelWork] = None
    input_scaling: Literal["spatial", "none"] = "none"
    head_features: Optional[int] = None
    notes: str = ""


class OverheadApplies(Strict):
    connectivity: Optional[Connectivity] = None
    os_kind: Optional[Literal["baremetal", "rtos", "linux"]] = None


class Overhead(Entity):
    """RAM a radio stack, OS or thread stack takes beside the model (advisor.solve.estimate adds it)."""

    name: str
    part: Literal["radio", "os", "stack"]
    applies: OverheadApplies
    ram_kb: float
    flash_kb: Optional[float] = None
    notes: str


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


class ClassRates(Strict):
    """MACs (element operations for ``elementwise``) per core cycle for each operator class; None = unpublished."""

    conv: Optional[float] = None
    pointwise: Optional[float] = None
    depthwise: Optional[float] = None
    fully_connected: Optional[float] = None
    elementwise: Optional[float] = None


class VersionRange(Strict):
    min: str
    below: Optional[str] = None


class VersionPoint(Strict):
    version: str
    latency_ms: float
    source: str


class VersionPair(Strict):
    """One model timed by its vendor on one board with two framework versions."""

    model: str
    board: str
    clock_mhz: float
    dominant: OperatorClass
    before: VersionPoint
    after: VersionPoint
    note: str = ""

    @property
    def speedup(self) -> float:
        return self.before.latency_ms / self.after.latency_ms


class ScaledFrom(Strict):
    """Class rates = another entry's class rates x a speed-up per class, bounded by the version pairs."""

    entry: str
    factors: ClassRates
    pairs: tuple[VersionPair, ...]


class KernelTiming(Strict):
    """One kernel timed alone on hardware through one build path."""

    kernel: str
    class_: OperatorClass = Field(alias="class")
    shape: str
    macs: float
    path: BuildPath
    cycles: float
    board: str
    clock_mhz: float
    source: str
    note: str = ""

    @property
    def macs_per_cycle(self) -> float:
        return self.macs / self.cycles


class ScaledByKernels(Strict):
    """Class rates = another entry's x the measured kernel speed-up between two build paths, capped at the kernel."""

    entry: str
    from_path: BuildPath
    to_path: BuildPath
    upstream_factors: Optional[ClassRates] = None


class Throughput(Entity):
    name: str
    cores: tuple[CoreName, ...]
    kernel: Kernel
    npu: Optional[NpuKind] = None
    framework: Optional[str] = None
    framework_versions: Optional[VersionRange] = None
    dtype: Literal["int8", "float32"]
    macs_per_cycle: float
    class_rates: Optional[ClassRates] = None
    op_overhead_cycles: Optional[float] = None
    npu_macs_per_cycle: Optional[int] = None
    scaled_from: Optional[ScaledFrom] = None
    scaled_by_kernels: Optional[ScaledByKernels] = None
    fit: str = ""
    measurements: tuple[Measurement, ...] = ()
    kernel_timings: tuple[KernelTiming, ...] = ()
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
    quantization: ConvertedQuantization
    steps: tuple[RecipeStep, ...]
    notes: str = ""


class SearchRange(Strict):
    """A parameter's search range: ``low``..``high`` (optionally stepped or log-scaled) or a list of choices."""

    low: Optional[float] = None
    high: Optional[float] = None
    step: Optional[float] = None
    log: bool = False
    choices: Optional[tuple[Union[bool, int, float, str], ...]] = None


class SearchSpace(Strict):
    """The ranges the search explores for recipe-step parameters (ours: the reasons are in ``notes``)."""

    id: str
    name: str
    description: str
    notes: str
    steps: dict[str, dict[str, SearchRange]]
    sources: tuple[Source, ...] = ()


class FamilyTraining(Strict):
    epochs: int
    batch_size: int = 32
    learning_rate: float = 1e-3


class Family(Strict):
    """An architecture family the search can vary; its builder is in the catalog (advisor.kb.families)."""

    id: str
    name: str
    description: str
    notes: str
    kind: Literal["classification", "autoencoder"]
    tasks: tuple[Task, ...]
    train: FamilyTraining
    space: dict[str, SearchRange]
    sources: tuple[Source, ...] = ()


class RankingTerm(Strict):
    weight: float
    params: dict[str, float] = Field(default_factory=dict)
    reason: str


class Ranking(Strict):
    """How the solver ranks feasible stacks: a weight, parameters and a reason per term (ours: notes, no sources)."""

    id: str
    name: str
    description: str
    notes: str = ""
    terms: dict[str, RankingTerm]
    tie_break: str
    sources: tuple[Source, ...] = ()
