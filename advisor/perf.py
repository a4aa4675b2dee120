"""The one latency and energy formula, and what it rests on: kernel family, throughput lookup, runtime size.

Latency is summed per operator class (``model_latency_ms``): a model's MACs split into 3x3-and-larger
convolution, 1x1 convolution, depthwise, fully connected and element-wise work, each at the class rate
of the throughput entry for the (core, kernel family, framework, framework version), plus a per-operator
overhead where one is known. Operators an NPU runs go at the NPU's rate, the rest on the CPU (a
framework without an operator table runs the whole model at its end-to-end NPU figure). A missing
figure falls back to a slower one and the basis string names it. ``profile --board`` and the solver both
call ``model_latency_ms``, so one model on one board gets one figure whichever command asks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from advisor.kb.base import KnowledgeBase
from advisor.kb.entities import Board, Framework, Recipe, Throughput

# When no figure exists for a kernel family, the next one to try (a slower, hence safer, one).
KERNEL_FALLBACK = {"npu": ("cmsis-nn", "esp-nn", "reference"), "vendor": ("cmsis-nn", "reference"),
                   "cmsis-nn": ("reference",), "esp-nn": ("reference",), "reference": ()}
# When no figure exists for a core, a core of the same family whose figure is used instead.
CORE_FALLBACK = {"cortex-m4f": ("cortex-m4",), "cortex-m7": ("cortex-m4",), "cortex-m33": ("cortex-m4",),
                 # the M85 has no measured figure: the M55's is the nearest with Helium kernels
                 "cortex-m55": ("cortex-m33", "cortex-m4"), "cortex-m85": ("cortex-m55", "cortex-m7", "cortex-m4"),
                 "cortex-m3": ("cortex-m0plus", "cortex-m4"), "cortex-m0plus": ("cortex-m4",),
                 "cortex-m0": ("cortex-m0plus", "cortex-m4"), "avr8": ("cortex-m0plus",),
                 "xtensa-lx7": ("xtensa-lx6",), "riscv32": ("xtensa-lx6",),
                 "arc-em9d": (),  # no published figure maps an ARC core onto another family: the default says so
                 "cortex-a53": ("cortex-m7", "cortex-m4"), "cortex-a72": ("cortex-m7", "cortex-m4"),
                 "cortex-a76": ("cortex-m7", "cortex-m4")}
# Cores without DSP/SIMD instructions: another core's optimized-library figure would be optimistic for them,
# so a fallback to another core takes that core's reference-kernel figure only, unless that core has no SIMD
# either (the Cortex-M0 takes the M0+'s plain-C CMSIS-NN figure).
NO_SIMD = {"cortex-m0", "cortex-m0plus", "cortex-m3", "riscv32", "avr8"}
# Cores slower per cycle than the figure they fall back to, by an unmeasured factor: the basis says so.
CORE_CAVEAT = {"avr8": "an 8-bit core with no 32-bit multiply-accumulate: real latency is likely several times "
                       "higher (no published AVR figure)",
               # the one runtime timed on both: TinyMaix's plain-C kernels ran its CIFAR model in 32.0 M cycles on an
               # STM32F103 (M3, 72 MHz) and 33.6 M on a SAMD21 (M0+, 48 MHz) (sipeed/TinyMaix doc/porting,
               # commit 0532ece), so the M0+ figure is about right, erring slow by some 5 %
               "cortex-m3": "the Cortex-M0+ figure: a Cortex-M3 runs plain-C kernels at about the same rate per "
                            "cycle (TinyMaix ports), so this errs slightly slow"}
# Cores with the Helium (M-profile vector) extension: a fallback to a scalar core's figure leaves out the vector
# kernels, so it errs slow (4-12x on the held-out MLPerf Tiny rows of a Cortex-M85 on the M4 figure), and says so.
HELIUM = {"cortex-m55", "cortex-m85"}
CLASSES = ("conv", "pointwise", "depthwise", "fully_connected", "elementwise")
# The figure ``throughput_for`` (which names no framework) has always answered with for a kernel family: the
# framework its entries were measured with before they were keyed by framework. ``model_latency_ms`` names it.
UNNAMED_FRAMEWORK = {"vendor": "st-edge-ai", "cmsis-nn": "tflite-micro", "reference": "tflite-micro"}


def runtime_kb(fw: Framework, kb: KnowledgeBase) -> tuple[float, float]:
    """(flash, RAM) of the runtime itself, inherited from what it builds on; 0.0 when unpublished."""
    flash, ram = fw.runtime.flash_kb, fw.runtime.ram_kb
    for parent in fw.builds_on:
        p = kb.frameworks.get(parent)
        if p is not None:
            flash = flash if flash is not None else p.runtime.flash_kb
            ram = ram if ram is not None else p.runtime.ram_kb
    return float(flash or 0.0), float(ram or 0.0)


def kernel_for(board: Board, fw: Framework) -> str:
    """The kernel family a framework uses on a board."""
    core = board.mcu.main_core.core
    if board.npu and board.npu.kind in fw.accelerators and fw.kind in ("compiler", "code-generator"):
        return "npu"
    if fw.kind in ("compiler", "code-generator") and not fw.builds_on:
        return "vendor"
    accelerators = set(fw.accelerators)
    if core.startswith("cortex-m") and (accelerators & {"cmsis-nn", "helium"} or fw.builds_on):
        return "cmsis-nn"
    if (core.startswith("xtensa") or core == "riscv32") and "esp-nn" in accelerators:
        return "esp-nn"
    return "reference"


@dataclass(frozen=True)
class Rate:
    macs_per_cycle: float
    basis: str  # the throughput entry used, and any fallback taken
    entry: Throughput | None = None


@dataclass(frozen=True)
class OpMix:
    """A model's work per operator class: MACs (element operations for ``elementwise``) and operator count."""

    conv: float = 0.0
    pointwise: float = 0.0
    depthwise: float = 0.0
    fully_connected: float = 0.0
    elementwise: float = 0.0
    operators: int = 0

    @property
    def macs(self) -> float:
        return self.conv + self.pointwise + self.depthwise + self.fully_connected

    def scaled(self, factor: float) -> OpMix:
        return OpMix(*(getattr(self, c) * factor for c in CLASSES), operators=self.operators)

    def as_tuple(self) -> tuple:
        return tuple((c, float(getattr(self, c))) for c in CLASSES) + (("operators", float(self.operators)),)


def op_class(op: str, macs: float, output_shape: tuple, input_bytes: float, params: dict, dtypes: tuple) -> str:
    """The operator class of one profiled operator.

    NOTE: a CONV_2D row carries no kernel size, so it is recovered from its shapes: input channels =
    input bytes / (element size x output area x stride area), kernel area = MACs / output elements /
    input channels; an area under 2 is a 1x1 (pointwise) convolution.
    """
    if op == "DEPTHWISE_CONV_2D":
        return "depthwise"
    if op in ("FULLY_CONNECTED", "BATCH_MATMUL"):
        return "fully_connected"
    if op in ("CONV_2D", "TRANSPOSE_CONV") and macs:
        if op == "CONV_2D" and len(output_shape) == 4:
            _n, h, w, oc = output_shape
            sh, sw = params.get("stride", (1, 1))
            size = 4 if "FLOAT32" in dtypes else 2 if "INT16" in dtypes else 1
            channels_in = input_bytes / (size * h * w * sh * sw) if h * w * sh * sw else 0
            if channels_in >= 1 and macs / (h * w * oc) / channels_in < 2.0:
                return "pointwise"
        return "conv"
    return "elementwise"


def mix_from_profile(profile) -> OpMix:
    """Per-class work of a profiled model (``advisor.profile.model.ModelProfile``)."""
    work = dict.fromkeys(CLASSES, 0.0)
    for r in profile.rows:
        cls = op_class(r.op, r.macs, tuple(r.output_shape), r.input_bytes, r.params, tuple(r.dtypes))
        work[cls] += r.macs if cls != "elementwise" else r.other_ops
    return OpMix(**work, operators=len(profile.rows))


def mix_of(source, kb: KnowledgeBase) -> OpMix | None:
    """The per-class work of an OpMix, a ModelProfile, or a ModelBasis (its ``op_mix``, else its reference
    model's ``work`` scaled to the basis' MACs); None when no split is known."""
    if isinstance(source, OpMix):
        return source
    if hasattr(source, "rows"):
        return mix_from_profile(source)
    pairs = dict(getattr(source, "op_mix", ()) or ())
    if pairs:
        return OpMix(*(pairs.get(c, 0.0) for c in CLASSES), operators=int(pairs.get("operators", 0)))
    ref = kb.reference_models.get(getattr(source, "name", "")) if getattr(source, "source", "") == "reference" \
        else None
    if ref is not None and ref.work is not None:
        w = ref.work
        mix = OpMix(w.conv, w.pointwise, w.depthwise, w.fully_connected, w.elementwise, w.operators)
        return mix.scaled(float(source.macs) / mix.macs) if mix.macs and source.macs else mix
    return None


def _version(v: str | None) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", v or ""))


def _in_range(entry: Throughput, version: str | None) -> bool:
    r = entry.framework_versions
    if r is None or version is None:
        return True
    v = _version(version)
    return _version(r.min) <= v and (r.below is None or v < _version(r.below))


def _candidates(core: str, kernel: str, npu: str | None, framework: str | None, kb: KnowledgeBase) -> list:
    """Entries for (core, kernel, npu): those for this framework first, then those for none (generic)."""
    table = _throughput_table(kb)
    entries = table.get((core, kernel, npu if kernel == "npu" else None), [])
    if framework is None:  # no framework named (throughput_for): generic entries, then the historical default
        return [[e for e in entries if e.framework is None],
                [e for e in entries if e.framework == UNNAMED_FRAMEWORK.get(kernel)], entries]
    own = [e for e in entries if framework and e.framework == framework]
    generic = [e for e in entries if e.framework is None]
    # a compiler's or NPU stack's figure is its own; a kernel library's figure holds for any runtime calling it
    others = [] if kernel in ("vendor", "npu") else [e for e in entries if e.framework not in (None, framework)]
    return [own, generic, others]


def _pick(entries: list, version: str | None) -> tuple[Throughput | None, str]:
    """The entry for ``version`` (else the one for the nearest older version, else the slowest), and why."""
    if not entries:
        return None, ""
    fitting = [e for e in entries if _in_range(e, version)]
    if fitting:
        return min(fitting, key=lambda e: (e.macs_per_cycle, e.id)), ""
    older = [e for e in entries if e.framework_versions and _version(e.framework_versions.min) <= _version(version)]
    if older:
        best = max(older, key=lambda e: _version(e.framework_versions.min))
        return best, f"no figure for version {version}: the {best.framework_versions.min} figure (older, slower)"
    slowest = min(entries, key=lambda e: e.macs_per_cycle)
    return slowest, f"no figure for version {version}: the slowest known"


def st_version(version: str | None) -> str | None:
    """An ST Edge AI version on X-CUBE-AI's numbering, which the throughput entries use.

    NOTE: ST Edge AI Core numbers its releases from 1 while X-CUBE-AI went on from 7 to 10; ST's model-zoo
    cards list X-CUBE-AI 10.0.0 with Core 2.0.0 (stm32ai-modelzoo, commit 6f10965, e.g.
    image_classification/mobilenetv1/README.md), and later Core releases time the same models as 10.0 within
    2 %. So a Core version from 2 on is read as 10.0; Core 1.x, with no published pairing, as unknown (the
    slowest figure answers).
    """
    v = _version(version)
    if not v or v[0] >= 7:
        return version
    return "10.0" if v[0] >= 2 else None


def resolve(core: str, kernel: str, npu: str | None, kb: KnowledgeBase, framework: str | None = None,
            version: str | None = None) -> Rate:
    """The throughput entry for a core, kernel family, NPU, framework and version, falling back to safer ones."""
    if framework == "st-edge-ai":
        version = st_version(version)
    pairs = [(k, c) for k in (kernel,) + KERNEL_FALLBACK[kernel] for c in (core,) + CORE_FALLBACK.get(core, ())]
    if kernel == "reference" and core in NO_SIMD:
        # a plain-C library figure of this core, or of another core without SIMD, is nearer its reference
        # kernels than a faster core's reference figure
        plain = [("cmsis-nn", c) for c in (core,) + CORE_FALLBACK.get(core, ()) if c == core or c in NO_SIMD]
        pairs[1:1] = plain
    for k, c in pairs:
        if c != core and core in NO_SIMD and c not in NO_SIMD and k != "reference":
            continue
        for tier, entries in enumerate(_candidates(c, k, npu, framework, kb)):
            entry, why = _pick(entries, version)
            if entry is None:
                continue
            notes = [why] if why else []
            if (c, k) != (core, kernel):
                notes.append(f"no figure for {core} with {kernel} kernels")
            if kernel == "reference" and k != "reference":
                notes.append("an optimized library's figure: reference kernels run slower")
            if c != core and core in CORE_CAVEAT:
                notes.append(CORE_CAVEAT[core])
            if c != core and core in HELIUM and c not in HELIUM:
                notes.append(f"{c} has no Helium vector unit: real latency is likely several times lower")
            if tier == 2 and framework:
                notes.append(f"no {framework} figure: {entry.framework}'s with the same kernels")
            return Rate(entry.macs_per_cycle, entry.id + (f" ({'; '.join(notes)})" if notes else ""), entry)
    fallback = _first(_throughput_table(kb).get(("cortex-m4", "reference", None), []))
    value = fallback.macs_per_cycle if fallback else 0.1
    return Rate(value, f"{fallback.id if fallback else 'default'} (no figure for {core})", fallback)


def _first(entries: list) -> Throughput | None:
    return min(entries, key=lambda e: e.macs_per_cycle) if entries else None


def throughput_for(core: str, kernel: str, npu: str | None, kb: KnowledgeBase) -> Rate:
    """int8 whole-model MACs per cycle for a core and kernel family (any framework), with fallbacks."""
    return resolve(core, kernel, npu, kb)


def _throughput_table(kb: KnowledgeBase, dtype: str = "int8") -> dict[tuple, list[Throughput]]:
    """(core, kernel, npu kind) -> the entries of one dtype, built once per knowledge base and dtype."""
    tables = getattr(kb, "_throughput_table", None)
    if tables is None:
        tables = kb._throughput_table = {}  # type: ignore[attr-defined]
    if dtype not in tables:
        table: dict[tuple, list[Throughput]] = {}
        for t in sorted(kb.throughput.values(), key=lambda t: t.id):
            if t.dtype != dtype:
                continue
            for core in t.cores:
                table.setdefault((core, t.kernel, t.npu if t.kernel == "npu" else None), []).append(t)
        tables[dtype] = table
    return tables[dtype]


def _known_rates(rate: Rate) -> dict[str, float]:
    if rate.entry is None or rate.entry.class_rates is None:
        return {}
    return {c: v for c, v in rate.entry.class_rates.model_dump().items() if v}


def class_rates(rate: Rate) -> dict[str, float]:
    """MACs per cycle per class for a resolved rate (the whole-model figure when the entry has no class split).

    A MAC class without a figure takes the slowest known MAC class (element-wise work is counted per element,
    not per MAC, so its rate is not a MAC rate); element-wise without a figure takes the slowest of all.
    """
    known = _known_rates(rate)
    if not known:
        return dict.fromkeys(CLASSES, rate.macs_per_cycle)
    slowest = min(known.values())
    slowest_mac = min((v for c, v in known.items() if c != "elementwise"), default=slowest)
    return {c: known.get(c, slowest if c == "elementwise" else slowest_mac) for c in CLASSES}


def unmeasured(mix: OpMix, rate: Rate) -> list[str]:
    """The classes of the model's work that the entry's class split has no figure for."""
    known = _known_rates(rate)
    return [c for c in CLASSES if known and c not in known and getattr(mix, c)]


def cycles(mix: OpMix, rate: Rate) -> float:
    """Core cycles for a model's per-class work at a resolved rate, plus the per-operator overhead."""
    rates = class_rates(rate)
    overhead = rate.entry.op_overhead_cycles if rate.entry is not None and rate.entry.op_overhead_cycles else 0.0
    return sum(getattr(mix, c) / rates[c] for c in CLASSES if getattr(mix, c)) + mix.operators * overhead


def is_float(recipe: Recipe) -> bool:
    """Whether the recipe's model computes in float (optimized MCU kernel libraries are integer-only)."""
    return recipe.quantization in ("float32", "float16", "dynamic-range")


def float_speed_factor(kb: KnowledgeBase) -> float:
    """Float32 throughput relative to int8 on the same core: the inverse of int8's published speed-up."""
    ptq = kb.techniques.get("full-integer-ptq")
    if ptq and ptq.effect.latency_factor:
        return sum(ptq.effect.latency_factor) / 2.0
    return 0.5


def latency_ms(work_ops: float, rate: Rate, clock_mhz: float, floating: bool, kb: KnowledgeBase) -> float:
    """Milliseconds for ``work_ops`` (MACs plus pooling and element-wise work) at a whole-model ``rate``.

    Float models run at int8's rate divided by int8's published speed-up (``float_speed_factor``).
    """
    mpc = rate.macs_per_cycle * (float_speed_factor(kb) if floating else 1.0)
    return work_ops / (mpc * clock_mhz * 1e6) * 1e3


NPU_CLASSES = {"conv": "CONV_2D", "pointwise": "CONV_2D", "depthwise": "DEPTHWISE_CONV_2D",
               "fully_connected": "FULLY_CONNECTED"}


def npu_split(mix: OpMix, framework: Framework, kb: KnowledgeBase, dtype: str = "int8") -> tuple[OpMix, OpMix]:
    """(work the NPU runs, work left to the CPU): classes whose operator the framework's operator table
    marks as accelerated by the NPU go to the NPU, element-wise work and everything else stays on the CPU."""
    opset = kb.operator_sets.get(framework.operators) if framework.operators else None
    if opset is None:
        return OpMix(), mix
    accelerated = {o.name for o in opset.ops if o.accelerated_by and dtype in o.dtypes}
    npu = {c: getattr(mix, c) if NPU_CLASSES.get(c) in accelerated else 0.0 for c in CLASSES}
    cpu = {c: getattr(mix, c) - npu[c] for c in CLASSES}
    return OpMix(**npu, operators=0), OpMix(**cpu, operators=mix.operators)


def _npu_sized(rate: Rate, board: Board) -> Rate:
    """An NPU figure measured on a larger configuration than the board's NPU, scaled down by the MAC units.

    A smaller Ethos-U (32 or 64 MACs against a 128-MAC figure) has that share of the compute; a larger one keeps
    the figure (its memory-bound layers do not speed up), so the estimate errs slow, never fast.
    """
    entry = rate.entry
    if entry is None or not entry.npu_macs_per_cycle:
        return rate
    have = board.npu.macs_per_cycle if board.npu else None
    if not have:
        return replace(rate, basis=f"{rate.basis} (the board's NPU size is not published: the "
                                   f"{entry.npu_macs_per_cycle}-MAC figure)")
    if have >= entry.npu_macs_per_cycle:
        return rate
    factor = have / entry.npu_macs_per_cycle
    scaled = entry.model_copy(update={
        "macs_per_cycle": entry.macs_per_cycle * factor,
        "class_rates": entry.class_rates.model_copy(update={c: v * factor for c, v in
                                                            entry.class_rates.model_dump().items() if v})
        if entry.class_rates else None})
    return Rate(rate.macs_per_cycle * factor, f"{rate.basis} scaled by {have}/{entry.npu_macs_per_cycle} MAC "
                                             "units to the board's NPU", scaled)


def model_latency_ms(source, board: Board, framework: Framework, recipe: Recipe | None, kb: KnowledgeBase,
                     *, scale: float = 1.0, floating: bool | None = None, clock_mhz: float | None = None,
                     version: str | None = None) -> tuple[float, str]:
    """Latency of a model on a board with a framework, summed over its operator classes, and its basis.

    Args:
        source: an ``OpMix``, a ``ModelProfile`` or a ``ModelBasis`` (see ``mix_of``).
        recipe: the compression recipe (float recipes run on reference kernels); None: int8.
        scale: factor on the model's work (a recipe that shrinks the architecture).
        floating: override the recipe's float-ness (a profiled float model).
        clock_mhz: override the board's main-core clock; version: the framework's version, when known.
    Returns:
        (milliseconds, basis): the throughput entry used and every fallback taken.
    """
    floating = is_float(recipe) if floating is None and recipe is not None else bool(floating)
    core = board.mcu.main_core
    clock = clock_mhz or core.clock_mhz
    kernel = "reference" if floating else kernel_for(board, framework)
    npu_kind = board.npu.kind if board.npu else None
    mix = mix_of(source, kb)
    cpu_rate = resolve(core.core, kernel if kernel != "npu" else "cmsis-nn", None, kb, framework.id, version)
    npu_rate = _npu_sized(resolve(core.core, "npu", npu_kind, kb, framework.id, version), board) \
        if kernel == "npu" else None
    has_npu = npu_rate is not None and npu_rate.entry is not None and npu_rate.entry.kernel == "npu"
    # no operator table to split by: the NPU figure, timed end to end (NPU and CPU together), answers for
    # the whole model
    end_to_end = has_npu and not framework.operators
    if mix is None:
        work = (float(getattr(source, "macs", 0.0)) + float(getattr(source, "other_ops", 0.0))) * scale
        rate = npu_rate if end_to_end else cpu_rate
        note = f"; all on the CPU: without a split the {npu_kind} NPU's share is unknown" \
            if kernel == "npu" and not end_to_end else ""
        ms = latency_ms(work, rate, clock, floating, kb)
        return ms, f"{rate.basis}; whole-model figure (no per-class split for this model){note}"
    mix = mix.scaled(scale)
    basis = cpu_rate.basis
    extra = 0.0
    if end_to_end:
        extra = cycles(mix, npu_rate)
        basis = f"{npu_rate.basis} for the whole model (an end-to-end NPU figure; {framework.id} publishes " \
                "no operator table to split by)"
        mix = OpMix()
    elif has_npu:
        on_npu, on_cpu = npu_split(mix, framework, kb)
        extra = cycles(on_npu, npu_rate)
        basis = f"{npu_rate.basis} for NPU operators; {cpu_rate.basis} for the rest"
        mix = on_cpu
    elif kernel == "npu":
        basis = f"{cpu_rate.basis} (no {npu_kind} NPU figure: all operators on the CPU)"
    missing = unmeasured(mix, cpu_rate)
    if missing:
        basis += f" ({', '.join(missing)}: no figure in {cpu_rate.entry.id}, its slowest MAC class's rate)"
    total = cycles(mix, cpu_rate) + extra
    if floating:
        total /= float_speed_factor(kb)
        if board.fpu == "none":
            total, note = _soft_float(mix, core.core, total, kb)
            basis += f"; float on a core without FPU: {note}"
    return total / (clock * 1e6) * 1e3, basis


def _soft_float(mix: OpMix, core: str, total: float, kb: KnowledgeBase) -> tuple[float, str]:
    """Cycles of a float model on a core without an FPU: at least the soft-float library's cost of every MAC
    and element-wise operation (a float32 throughput entry for the core, else the slowest published one)."""
    table = _throughput_table(kb, "float32")
    own = _first(table.get((core, "reference", None), []))
    entry = own or _first([t for entries in table.values() for t in entries])
    if entry is None:
        return total, "no published soft-float figure, hardware-float rate assumed (real latency is higher)"
    floor = sum(getattr(mix, c) for c in CLASSES) / entry.macs_per_cycle
    how = f"soft-float at {1 / entry.macs_per_cycle:.0f} cycles per MAC at least ({entry.id}" + \
        ("" if own else f", measured on {', '.join(entry.cores)}: no figure for {core}") + ")"
    return max(total, floor), how


def ext_ram_counted(board: Board, fw: Framework | None) -> bool:
    """Whether the board's external RAM (PSRAM/SDRAM) can hold the stack's tensor arena.

    On an application processor external DRAM is the main memory. On a microcontroller it counts only when the
    framework is known to place its arena there (``runtime.arena_external_ram``); unknown is not counted.
    """
    if not board.ext_ram_kb:
        return False
    if board.class_ != "mcu" or fw is None:
        return True
    return fw.runtime.arena_external_ram is True


def active_power(board: Board, npu: bool = False) -> tuple[float, str]:
    """The board's published active power (0.0 when unpublished) and what it means; for a stack on the NPU
    (``npu``) the power published while the NPU runs, where there is one (else the CPU run-mode figure)."""
    p = board.power
    if not p:
        return 0.0, ""
    if npu and p.npu_active_mw:
        return p.npu_active_mw, p.npu_conditions
    return p.active_mw or 0.0, p.conditions


def active_mw(board: Board, npu: bool = False) -> float:
    """The active power ``active_power`` gives, mW."""
    return active_power(board, npu)[0]


def energy_mj(latency: float, board: Board, npu: bool = False) -> float:
    """Energy per inference at the board's active power (0.0 when the board publishes none)."""
    return latency * active_mw(board, npu) / 1e3
