"""``kb validate --stats``: how the knowledge base's boards and frameworks spread over vendors and classes."""

from __future__ import annotations

from collections import Counter

from advisor.kb.base import KnowledgeBase

# NOTE: the order is the order of the printed tables and of the JSON keys.
GROUPS = ("board vendor", "board class", "core class", "core", "framework kind", "framework vendor")


def core_class(core: str) -> str:
    """The family of a core name: cortex-m4f -> cortex-m, cortex-a53 -> cortex-a, xtensa-lx7 -> xtensa,
    riscv32 -> riscv, avr8 -> avr, arc-em9d -> arc."""
    if core.startswith("cortex-"):
        return core[:8]
    return core.split("-")[0].rstrip("0123456789")


def kb_stats(kb: KnowledgeBase) -> dict[str, dict[str, int]]:
    """Entry counts per group: board vendor, board class (mcu/mpu/sbc), the class and name of the
    board's main (fastest) core, framework kind and framework vendor.

    Returns:
        {group: {value: count}}, each group sorted by count (descending), then by value.
    """
    boards = list(kb.entities.get("board", {}).values())
    frameworks = list(kb.entities.get("framework", {}).values())
    counters = {
        "board vendor": Counter(b.vendor for b in boards),
        "board class": Counter(b.class_ for b in boards),
        "core class": Counter(core_class(b.mcu.main_core.core) for b in boards),
        "core": Counter(b.mcu.main_core.core for b in boards),
        "framework kind": Counter(f.kind for f in frameworks),
        "framework vendor": Counter(f.vendor for f in frameworks),
    }
    return {group: dict(sorted(counters[group].items(), key=lambda kv: (-kv[1], kv[0]))) for group in GROUPS}
