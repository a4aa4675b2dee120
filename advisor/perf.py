"""The one latency and energy formula, and what it rests on: kernel family, throughput lookup, runtime size.

``profile --board`` and the solver both call ``latency_ms`` and ``energy_mj`` here, so one model on one
board gets one figure whichever command asks.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.kb.base import KnowledgeBase
from advisor.kb.entities import Board, Framework, Recipe, Throughput

# When no figure exists for a kernel family, the next one to try (a slower, hence safer, one).
KERNEL_FALLBACK = {"npu": ("cmsis-nn", "esp-nn", "reference"), "vendor": ("cmsis-nn", "reference"),
                   "cmsis-nn": ("reference",), "esp-nn": ("reference",), "reference": ()}
# When no figure exists for a core, a core of the same family whose figure is used instead.
CORE_FALLBACK = {"cortex-m4f": ("cortex-m4",), "cortex-m7": ("cortex-m4",), "cortex-m33": ("cortex-m4",),
                 "cortex-m55": ("cortex-m33", "cortex-m4"), "cortex-m85": ("cortex-m7", "cortex-m4"),
                 "cortex-m3": ("cortex-m4",), "cortex-m0plus": ("cortex-m4",), "cortex-m0": ("cortex-m4",),
                 "xtensa-lx7": ("xtensa-lx6",), "riscv32": ("xtensa-lx6",),
                 "arc-em9d": (),  # no published figure maps an ARC core onto another family: the default says so
                 "cortex-a53": ("cortex-m7", "cortex-m4"), "cortex-a72": ("cortex-m7", "cortex-m4"),
                 "cortex-a76": ("cortex-m7", "cortex-m4")}

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



def latency_ms(work_ops: float, rate: Rate, clock_mhz: float, floating: bool, kb: KnowledgeBase) -> float:
    """Milliseconds for ``work_ops`` (MACs plus pooling and element-wise work) at ``rate`` on a core.

    Float models run at int8's rate divided by int8's published speed-up (``float_speed_factor``).
    """
    mpc = rate.macs_per_cycle * (float_speed_factor(kb) if floating else 1.0)
    return work_ops / (mpc * clock_mhz * 1e6) * 1e3


def active_mw(board: Board) -> float:
    """The board's published active power, 0.0 when unpublished."""
    return board.power.active_mw if board.power and board.power.active_mw else 0.0


def energy_mj(latency: float, board: Board) -> float:
    """Energy per inference at the board's active power (0.0 when the board publishes none)."""
    return latency * active_mw(board) / 1e3
