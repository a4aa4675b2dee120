"""Print an op-probe report: each knowledge-base claim against the installed runtime."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

STYLE = {"agrees": "green", "disagrees": "bold red", "not-probed": "yellow"}


def print_probe(report, console: Console) -> None:
    """One row per (op, dtype) claim (how its model was made, the verdict and why), then the counts."""
    table = Table(title=f"{report.framework} claims vs {report.runtime}", header_style="bold")
    for col in ("op", "dtype", "verdict", "model", "detail"):
        table.add_column(col, overflow="fold")
    for r in report.results:
        table.add_row(r.op, r.dtype, f"[{STYLE[r.status]}]{r.status}[/]", r.method, r.detail)
    console.print(table)
    s = report.summary()
    console.print(f"{s['agrees']} agree, {s['disagrees']} disagree, {s['not-probed']} not probed "
                  f"({s['probed_percent']} % of {s['claims']} claims probed)")
