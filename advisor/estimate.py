"""Estimates for one (board, framework, recipe): RAM, flash, latency, energy, accuracy loss, op support.

Until the model profiler lands, the model's size, arena and MACs come from the task's reference
model in the knowledge base (published, measured figures). Every estimate says what it rests on.

The work is split by what it depends on, so the solver computes each part once: the recipe part
(model bytes, arena, MACs, accuracy), the framework x recipe part (operator support), the board x
framework part (kernels, throughput, memory available) and the cheap per-candidate combination.
"""

from __future__ import annotations

from dataclasses import dataclass

from .kb import KnowledgeBase
from .models import Board, Framework, Recipe, ReferenceModel, Throughput
from .requirements import Requirements

KIB = 1024.0
# Bytes per weight relative to int8, and per activation relative to int8, for each numeric scheme.
WEIGHT_FACTOR = {"int8": 1.0, "int16x8": 1.0, "dynamic-range": 1.0, "float16": 2.0, "float32": 4.0}
ACTIVATION_FACTOR = {"int8": 1.0, "int16x8": 2.0, "dynamic-range": 4.0, "float16": 4.0, "float32": 4.0}
# Op-set dtype the recipe's kernels must support.
KERNEL_DTYPE = {"int8": "int8", "int16x8": "int16", "dynamic-range": "float32", "float16": "float32",
                "float32": "float32"}
# When no figure exists for a kernel family, the next one to try (a slower, hence safer, one).
KERNEL_FALLBACK = {"npu": ("cmsis-nn", "esp-nn", "reference"), "vendor": ("cmsis-nn", "reference"),
                   "cmsis-nn": ("reference",), "esp-nn": ("reference",), "reference": ()}
# When no figure exists for a core, a core of the same family whose figure is used instead.
CORE_FALLBACK = {"cortex-m4f": ("cortex-m4",), "cortex-m7": ("cortex-m4",), "cortex-m33": ("cortex-m4",),
                 "cortex-m55": ("cortex-m33", "cortex-m4"), "cortex-m85": ("cortex-m7", "cortex-m4"),
                 "cortex-m3": ("cortex-m4",), "cortex-m0plus": ("cortex-m4",), "cortex-m0": ("cortex-m4",),
                 "xtensa-lx7": ("xtensa-lx6",), "riscv32": ("xtensa-lx6",),
                 "cortex-a53": ("cortex-m7", "cortex-m4"), "cortex-a72": ("cortex-m7", "cortex-m4"),
                 "cortex-a76": ("cortex-m7", "cortex-m4")}
REMOVABLE_STORAGE_KB = 1e9  # application processors boot from removable storage: flash is no constraint


@dataclass(frozen=True)
class ModelBasis:
    """What the estimates assume about the model."""

    source: str  # reference | profile
    name: str
    ops: tuple[str, ...]
    params: float
    macs: float
    int8_bytes: float
    int8_arena_bytes: float
    input_dtype: str = "int8"
    dynamic_shapes: bool = False
    largest_layer_macs_share: float = 0.0  # unknown for reference models
    note: str = ""

    def context(self) -> dict:
        return {"source": self.source, "ops": list(self.ops), "params": self.params, "macs": self.macs,
                "float_size_kb": self.params * 4.0 / KIB if self.params else self.int8_bytes * 4.0 / KIB,
                "input_dtype": self.input_dtype, "dynamic_shapes": self.dynamic_shapes,
                "largest_layer_macs_share": self.largest_layer_macs_share}


def basis_for(req: Requirements, kb: KnowledgeBase) -> ModelBasis:
    """The model the estimates assume: the profile of the user's .tflite, else the reference model that
    load_requirements chose (the one named, or the task's default).

    Raises:
        ProblemError: the .tflite cannot be profiled (truncated, dynamic shapes, ...).
    """
    if req.model_source == "tflite" and req.model_file is not None:
        from .profile import load_model

        return load_model(req.model_file).basis()
    ref: ReferenceModel = kb.reference_models[req.reference_model]  # load_requirements chose it
    note = f"reference model {ref.id}"
    if req.model_file is not None:
        note += (f" (profiling {req.model_file.name} needs TensorFlow to convert it: run `tinyml-advisor profile`"
                 " on it, or convert it to .tflite and name that file)")
    return ModelBasis("reference", ref.id, ref.ops, float(ref.params or 0), float(ref.macs),
                      float(ref.int8_tflite_bytes), float(ref.int8_arena_bytes), note=note)


@dataclass(frozen=True)
class RecipePart:
    model_flash_kb: float
    arena_kb: float
    macs: float
    accuracy_drop_pp: float


def recipe_part(recipe: Recipe, basis: ModelBasis, kb: KnowledgeBase) -> RecipePart:
    """Model bytes, arena, MACs and expected accuracy loss after the recipe."""
    techniques = [kb.techniques[t] for t in recipe.techniques]
    superseded = {r for t in techniques for r in t.preconditions.requires}
    drop, scale = 0.0, 1.0
    for t in techniques:
        if t.id in superseded:
            continue  # a combined technique's effect is measured on the whole combination
        if t.effect.accuracy_delta_pp:
            drop -= sum(t.effect.accuracy_delta_pp) / 2.0
        if t.family in ("distillation", "architecture", "factorization") and t.effect.size_factor:
            scale *= sum(t.effect.size_factor) / 2.0
    return RecipePart(
        model_flash_kb=basis.int8_bytes * WEIGHT_FACTOR[recipe.quantization] * scale / KIB,
        arena_kb=basis.int8_arena_bytes * ACTIVATION_FACTOR[recipe.quantization] / KIB,
        macs=basis.macs * scale, accuracy_drop_pp=max(drop, 0.0))


def unsupported_ops(fw: Framework, recipe: Recipe, basis: ModelBasis, kb: KnowledgeBase) -> tuple[list[str], bool]:
    """Model ops the framework has no kernel for in the recipe's dtype, and whether that was checkable."""
    opset = _opset(fw, kb)
    if opset is None:
        return [], False
    have = set(opset.names(KERNEL_DTYPE[recipe.quantization]))
    return sorted(op for op in basis.ops if op not in have and op not in ("QUANTIZE", "DEQUANTIZE")), True


def _opset(fw: Framework, kb: KnowledgeBase):
    if fw.operators:
        return kb.operator_sets.get(fw.operators)
    for parent in fw.builds_on:
        if parent in kb.frameworks and kb.frameworks[parent].operators:
            return kb.operator_sets.get(kb.frameworks[parent].operators)
    return None


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
    if core.startswith("xtensa") and "esp-nn" in accelerators:
        return "esp-nn"
    return "reference"


@dataclass(frozen=True)
class Rate:
    macs_per_cycle: float
    basis: str  # the throughput entry used, and any fallback taken


def throughput_for(core: str, kernel: str, npu: str | None, kb: KnowledgeBase) -> Rate:
    """int8 MACs per cycle for a core and kernel family, falling back to safer figures when missing."""
    table = _throughput_table(kb)
    for k in (kernel,) + KERNEL_FALLBACK[kernel]:
        for c in (core,) + CORE_FALLBACK.get(core, ()):
            entry = table.get((c, k, npu if k == "npu" else None))
            if entry is not None:
                exact = (c, k) == (core, kernel)
                return Rate(entry.macs_per_cycle, entry.id if exact else
                            f"{entry.id} (no figure for {core} with {kernel} kernels)")
    fallback = table.get(("cortex-m4", "reference", None))
    value = fallback.macs_per_cycle if fallback else 0.1
    return Rate(value, f"{fallback.id if fallback else 'default'} (no figure for {core})")


def _throughput_table(kb: KnowledgeBase) -> dict[tuple, Throughput]:
    """(core, kernel, npu kind) -> the int8 entry, built once per knowledge base."""
    table = getattr(kb, "_throughput_table", None)
    if table is None:
        table = {}
        for t in sorted(kb.throughput.values(), key=lambda t: t.id):
            if t.dtype != "int8":
                continue
            for core in t.cores:
                table.setdefault((core, t.kernel, t.npu if t.kernel == "npu" else None), t)
        kb._throughput_table = table  # type: ignore[attr-defined]
    return table


def is_float(recipe: Recipe) -> bool:
    """Whether the recipe's model computes in float (optimized MCU kernel libraries are integer-only)."""
    return recipe.quantization in ("float32", "float16", "dynamic-range")


def float_speed_factor(kb: KnowledgeBase) -> float:
    """Float32 throughput relative to int8 on the same core: the inverse of int8's published speed-up."""
    ptq = kb.techniques.get("full-integer-ptq")
    if ptq and ptq.effect.latency_factor:
        return sum(ptq.effect.latency_factor) / 2.0
    return 0.5


def estimate(board: Board, basis: ModelBasis, fw: Framework, recipe: Recipe, part: RecipePart,
             unsupported: list[str], rate: Rate, kernel: str, req: Requirements, kb: KnowledgeBase,
             runtime: tuple[float, float]) -> dict:
    """The ``est`` root of the rule context for one candidate.

    ``rate`` and ``kernel`` are those the recipe's dtype runs on (reference kernels for float models).
    """
    flash_rt, ram_rt = runtime
    ram_kb = part.arena_kb + ram_rt
    flash_kb = part.model_flash_kb + flash_rt
    sram = board.sram_kb
    ram_avail = req.ram_budget_kb or (sram + board.ext_ram_kb)
    total_flash = board.flash_kb + board.ext_flash_kb
    flash_avail = req.flash_budget_kb or (total_flash if total_flash or board.class_ == "mcu"
                                          else REMOVABLE_STORAGE_KB)
    floating = is_float(recipe)
    mpc = rate.macs_per_cycle * (float_speed_factor(kb) if floating else 1.0)
    clock = board.mcu.main_core.clock_mhz
    latency_ms = part.macs / (mpc * clock * 1e6) * 1e3
    active = board.power.active_mw if board.power and board.power.active_mw else 0.0
    sleep = board.power.sleep_mw if board.power and board.power.sleep_mw else 0.0
    duty = min(1.0, latency_ms / 1e3 * req.inferences_per_s)
    avg_mw = active * duty + sleep * (1.0 - duty) if active else 0.0
    battery_days = (req.battery_mah * req.battery_v / avg_mw / 24.0) if req.battery_mah and avg_mw else 0.0
    return {
        "model_flash_kb": part.model_flash_kb, "flash_kb": flash_kb, "arena_kb": part.arena_kb,
        "ram_kb": ram_kb, "ram_avail_kb": float(ram_avail), "flash_avail_kb": float(flash_avail),
        "latency_ms": latency_ms, "kernel": kernel, "energy_mj": latency_ms * active / 1e3,
        "avg_power_mw": avg_mw, "battery_days": battery_days, "accuracy_drop_pp": part.accuracy_drop_pp,
        "unsupported_ops": unsupported,
        "float_ops_on_mcu": list(basis.ops) if floating and board.class_ == "mcu" else [],
        "uses_ext_ram": (not req.ram_budget_kb) and ram_kb * (1.0 + req.memory_margin_pct / 100.0) > sram,
    }
