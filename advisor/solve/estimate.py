"""Estimates for one (board, framework, recipe): RAM, flash, latency, energy, accuracy loss, op support.

Until the model profiler lands, the model's size, arena and MACs come from the task's reference
model in the knowledge base (published, measured figures). Every estimate says what it rests on.

The work is split by what it depends on, so the solver computes each part once: the recipe part
(model bytes, arena, MACs, accuracy), the framework x recipe part (operator support), the board x
framework part (kernels, throughput, memory available) and the cheap per-candidate combination.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.kb.base import KnowledgeBase
from advisor.kb.entities import Board, Framework, Recipe
from advisor.perf import Rate, active_mw, energy_mj, is_float, latency_ms
from advisor.profile.basis import ModelBasis
from advisor.questionnaire.requirements import Requirements

KIB = 1024.0
# Bytes per weight relative to int8, and per activation relative to int8, for each numeric scheme.
WEIGHT_FACTOR = {"int8": 1.0, "int16x8": 1.0, "dynamic-range": 1.0, "float16": 2.0, "float32": 4.0}
ACTIVATION_FACTOR = {"int8": 1.0, "int16x8": 2.0, "dynamic-range": 4.0, "float16": 4.0, "float32": 4.0}
# Op-set dtype the recipe's kernels must support.
KERNEL_DTYPE = {"int8": "int8", "int16x8": "int16", "dynamic-range": "float32", "float16": "float32",
                "float32": "float32"}
REMOVABLE_STORAGE_KB = 1e9  # application processors boot from removable storage: flash is no constraint


@dataclass(frozen=True)
class RecipePart:
    model_flash_kb: float
    arena_kb: float
    macs: float
    accuracy_drop_pp: float
    other_ops: float = 0.0


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
        macs=basis.macs * scale, accuracy_drop_pp=max(drop, 0.0), other_ops=basis.other_ops * scale)


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
    clock = board.mcu.main_core.clock_mhz
    latency = latency_ms(part.macs + part.other_ops, rate, clock, floating, kb)
    active = active_mw(board)
    sleep = board.power.sleep_mw if board.power and board.power.sleep_mw else 0.0
    duty = min(1.0, latency / 1e3 * req.inferences_per_s)
    avg_mw = active * duty + sleep * (1.0 - duty) if active else 0.0
    battery_days = (req.battery_mah * req.battery_v / avg_mw / 24.0) if req.battery_mah and avg_mw else 0.0
    return {
        "model_flash_kb": part.model_flash_kb, "flash_kb": flash_kb, "arena_kb": part.arena_kb,
        "ram_kb": ram_kb, "ram_avail_kb": float(ram_avail), "flash_avail_kb": float(flash_avail),
        "latency_ms": latency, "kernel": kernel, "energy_mj": energy_mj(latency, board),
        "avg_power_mw": avg_mw, "battery_days": battery_days, "accuracy_drop_pp": part.accuracy_drop_pp,
        "unsupported_ops": unsupported,
        "float_ops_on_mcu": list(basis.ops) if floating and board.class_ == "mcu" else [],
        "uses_ext_ram": (not req.ram_budget_kb) and ram_kb * (1.0 + req.memory_margin_pct / 100.0) > sram,
    }
