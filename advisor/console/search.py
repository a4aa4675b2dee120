"""The search on the terminal: one progress line while workers run, the Pareto front as a table at the end."""

from __future__ import annotations

import time
from typing import Callable

from rich.console import Console
from rich.table import Table


def progress_printer(console: Console, budget: int) -> Callable:
    """A callback ``(counts, front)`` that prints a line whenever the study's counts change."""
    started = time.monotonic()
    seen: list = [None]

    def show(counts, front) -> None:
        key = (counts.trials, counts.complete, counts.failed, counts.running, len(front))
        if key == seen[0]:
            return
        seen[0] = key
        best = front[0] if front else None
        best_text = (f"best {best.values[0]:.2f} % at {best.values[1] / 1024:.1f} KiB" if best
                     else "no feasible point yet")
        minutes = (time.monotonic() - started) / 60
        console.print(f"  {counts.complete + counts.failed}/{budget} trials · {counts.running} running · "
                      f"{counts.feasible} feasible · {counts.infeasible} over budget ({counts.untrained} never "
                      f"trained) · {counts.failed} failed · {best_text} · {minutes:.1f} min", highlight=False)
    return show


def front_table(doc: dict) -> Table:
    """The Pareto front of pareto.json as a table; * marks the chosen point, ◦ a recipe as shipped."""
    table = Table(title=f"Pareto front: {doc['board']} + {doc['framework']} (study {doc['study']})",
                  header_style="bold", caption="* chosen  ◦ recipe as shipped")
    for col, right in (("trial", True), ("recipe", False), ("parameters", False), ("acc %", True),
                       ("flash KiB", True), ("RAM KiB", True), ("ms", True)):
        table.add_column(col, justify="right" if right else "left", overflow="fold")
    for p in doc["front"]:
        text = " ".join(f"{k.split('.', 1)[-1]}={_fmt(v)}" for k, v in p["params"].items())
        mark = ("*" if p["trial"] == doc["chosen"] else "") + ("◦" if p["fixed_recipe"] else "")
        table.add_row(f"{p['trial']}{mark}", p["recipe"], text, f"{p['accuracy_pct']:.2f}",
                      f"{p['flash_bytes'] / 1024:.1f}", f"{_fmt(p['ram_kb'])}/{_fmt(p['ram_avail_kb'])}",
                      f"{p['latency_ms']:.2f}")
    return table


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 10 else f"{v:.0f}"
    return str(v)
