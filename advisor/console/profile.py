"""Print a model profile (and its estimate on a board) as a per-operator table and a few summary lines."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table


def print_profile(profile, estimate, console: Console) -> None:
    """The per-operator table, the totals, the arena and, with a board, the estimates on it."""
    table = Table(title=f"{profile.name}: {len(profile.rows)} operators", title_justify="left")
    for name, justify in (("#", "right"), ("op", "left"), ("dtypes", "left"), ("output", "left"),
                          ("params", "left"), ("MACs", "right"), ("weights B", "right"), ("in B", "right"),
                          ("out B", "right"), ("live KB", "right")):
        table.add_column(name, justify=justify)
    heavy = {r.index for r in profile.heaviest()}
    for r in profile.rows:
        params = " ".join(f"{k[0]}{'x'.join(map(str, v))}" if isinstance(v, tuple) else str(v)
                          for k, v in r.params.items())
        table.add_row(str(r.index), f"[bold]{r.op}[/bold]" if r.index in heavy else r.op, ",".join(r.dtypes),
                      "x".join(map(str, r.output_shape)), params, f"{r.macs:,}", f"{r.weight_bytes:,}",
                      f"{r.input_bytes:,}", f"{r.output_bytes:,}", f"{r.live_bytes / 1024:.1f}")
    console.print(table)
    plan = profile.plan
    share = ", ".join(f"#{r.index} {r.op} {100 * r.macs / max(profile.macs, 1):.0f}%" for r in profile.heaviest())
    peak = max(profile.rows, key=lambda r: (r.live_bytes, -r.index))
    console.print(f"MACs {profile.macs:,} (+{profile.other_ops:,} pooling/element ops); heaviest: {share}; "
                  f"most memory alive at #{peak.index} {peak.op} ({peak.live_bytes:,} B)")
    console.print(f"file {profile.file_bytes:,} B (weights {profile.weight_bytes:,} B); TFLM arena "
                  f"{plan.arena_bytes:,} B = planned tensors {plan.head_bytes:,} + persistent {plan.tail_bytes:,}; "
                  f"no planner can go below {plan.lower_bound_bytes:,} B of tensors")
    for note in profile.notes:
        console.print(f"note: {note}")
    if estimate is None:
        return
    e = estimate
    energy = f"{e.energy_mj:.3f} mJ" if e.energy_mj else "unknown (no active power published)"
    flash = f"{e.flash_kb:.1f} KB" + ("" if e.runtime_flash_known else " (runtime size not published)")
    console.print(f"on {e.board} with {e.framework} ({e.kernel} kernels, {e.throughput}, {e.clock_mhz:g} MHz): "
                  f"{e.latency_ms:.2f} ms, energy {energy}; RAM {e.ram_kb:.1f} of {e.ram_avail_kb:g} KB; "
                  f"flash {flash} of {e.flash_avail_kb:g} KB")
