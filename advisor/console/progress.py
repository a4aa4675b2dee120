"""Progress of a recipe run on the terminal: one whole line per finished step."""

from __future__ import annotations

from typing import Callable

from rich.console import Console


def step_printer(console: Console) -> Callable[[str, str, dict], None]:
    """A callback ``(step, status, record)`` for the runner that prints each step as it ends."""
    def show(step: str, status: str, record: dict) -> None:
        if status == "start":
            console.print(f"  … {step}", end="\r")
            return
        mark = {"ok": "[green]✓[/green]", "failed": "[red]✗[/red]"}.get(status, status)
        shown = {k: v for k, v in record.get("outputs", {}).items() if not isinstance(v, (list, dict))}
        detail = ", ".join(f"{k} {v}" for k, v in list(shown.items())[:4])
        console.print(f"  {mark} {step} ({record.get('seconds', 0):.1f} s){': ' + detail if detail else ''}"
                      f"{': ' + record['error'] if record.get('error') else ''}")
    return show
