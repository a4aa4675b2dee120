"""Rule-context roots (see schemas/rule-context.schema.json) built from knowledge-base entities.

Board, framework and recipe roots do not depend on the questionnaire, so they are built once per
knowledge base and shared by every solve.
"""

from __future__ import annotations

from advisor.perf import runtime_kb
from advisor.kb.base import KnowledgeBase
from advisor.kb.entities import Board, Framework, Recipe

DATA_ORDER = ("none", "representative", "labelled")


def board_context(board: Board) -> dict:
    core = board.mcu.main_core
    power = board.power
    return {
        "id": board.id, "class": board.class_, "core": core.core, "arch": board.mcu.arch,
        "clock_mhz": float(core.clock_mhz), "sram_kb": float(board.sram_kb), "flash_kb": float(board.flash_kb),
        "ext_ram_kb": float(board.ext_ram_kb), "ext_flash_kb": float(board.ext_flash_kb), "fpu": board.fpu,
        "dsp": board.dsp, "npu": board.npu.kind if board.npu else "", "sensors": list(board.sensors),
        "connectivity": list(board.connectivity),
        # NOTE: an unknown price is 0.0 with price_known false; every rule reading price_usd tests price_known.
        "price_usd": float(board.price_usd) if board.price_usd is not None else 0.0,
        "price_known": board.price_usd is not None,
        "active_mw": float(power.active_mw or 0.0) if power else 0.0,
        "sleep_mw": float(power.sleep_mw or 0.0) if power else 0.0,
        "frameworks": list(board.frameworks), "os": list(board.os),
    }


def framework_context(fw: Framework, kb: KnowledgeBase) -> dict:
    flash, ram = runtime_kb(fw, kb)
    opset = kb.operator_sets.get(fw.operators or "")
    return {
        "id": fw.id, "kind": fw.kind, "target_classes": list(fw.target_classes), "cores": list(fw.cores),
        "languages": list(fw.languages), "model_formats": list(fw.model_formats),
        "quantization": list(fw.quantization), "accelerators": list(fw.accelerators), "os": list(fw.os),
        "runtime_flash_kb": flash, "runtime_ram_kb": ram, "status": fw.status, "community": fw.community,
        "license": fw.license, "ops": list(opset.names()) if opset else [],
    }


def recipe_context(recipe: Recipe, kb: KnowledgeBase) -> dict:
    techniques = [kb.techniques[t] for t in recipe.techniques]
    data = max((t.preconditions.data for t in techniques), key=DATA_ORDER.index, default="none")
    return {"id": recipe.id, "techniques": list(recipe.techniques), "quantization": recipe.quantization,
            "data_needed": data, "retraining": any(t.preconditions.retraining for t in techniques)}


class EntityContexts:
    """Board, framework and recipe roots for one knowledge base, built once."""

    def __init__(self, kb: KnowledgeBase):
        self.boards = {b.id: board_context(b) for b in kb.boards.values()}
        self.frameworks = {f.id: framework_context(f, kb) for f in kb.frameworks.values()}
        self.recipes = {r.id: recipe_context(r, kb) for r in kb.recipes.values()}


def contexts_for(kb: KnowledgeBase) -> EntityContexts:
    """The cached contexts of ``kb`` (built on first use)."""
    cached = getattr(kb, "_entity_contexts", None)
    if cached is None:
        cached = EntityContexts(kb)
        kb._entity_contexts = cached  # type: ignore[attr-defined]
    return cached

