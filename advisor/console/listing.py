"""Table rows for ``kb list``: the few columns that matter for each kind."""

from __future__ import annotations

from advisor.kb.base import KINDS, KnowledgeBase
from advisor.rules.core import format_value


def resolve_kind(name: str) -> str | None:
    """Map ``boards``/``board``/``operators``/``operator-set`` … to an entity kind."""
    name = name.strip().lower()
    for folder, (_schema, kind, _cls) in KINDS.items():
        if name in (folder, kind, kind + "s", folder.rstrip("s")):
            return kind
    return None


def _j(values) -> str:
    return ", ".join(values)


def rows(kb: KnowledgeBase, kind: str) -> tuple[list[str], list[list[str]]]:
    items = sorted(kb.entities[kind].values(), key=lambda e: (getattr(e, "step", 0), e.id))
    if kind == "board":
        return (["id", "mcu", "core", "MHz", "SRAM KB", "flash KB", "ext RAM/flash KB", "NPU", "USD", "frameworks"],
                [[b.id, b.mcu.part, b.mcu.main_core.core, format_value(b.mcu.max_clock_mhz), format_value(b.sram_kb),
                  format_value(b.flash_kb), f"{format_value(b.ext_ram_kb)}/{format_value(b.ext_flash_kb)}",
                  b.npu.name if b.npu else "", format_value(b.price_usd) if b.price_usd is not None else "unknown", str(len(b.frameworks))] for b in items])
    if kind == "framework":
        return (["id", "name", "kind", "status", "targets", "languages", "quantization"],
                [[f.id, f.name, f.kind, f.status, _j(f.target_classes), _j(f.languages), _j(f.quantization)]
                 for f in items])
    if kind == "operator-set":
        return (["id", "framework", "ops", "int8 ops", "checked against"],
                [[o.id, o.framework, str(len(o.ops)), str(len(o.names("int8"))), o.checked_against] for o in items])
    if kind == "technique":
        return (["id", "family", "data", "retraining", "produces", "size factor"],
                [[t.id, t.family, t.preconditions.data, format_value(t.preconditions.retraining),
                  f"{t.produces.weights}/{t.produces.activations}",
                  format_value(list(map(str, t.effect.size_factor))) if t.effect.size_factor else ""]
                 for t in items])
    if kind == "tool":
        return (["id", "name", "kinds", "ease", "status"],
                [[t.id, t.name, _j(t.kinds), t.ease_of_use, t.status] for t in items])
    if kind == "guideline-step":
        return (["step", "id", "title", "problems"],
                [[str(s.step), s.id, s.title, _j(p.id for p in s.problems)] for s in items])
    if kind == "reference-model":
        return (["id", "tasks", "input", "MACs", "int8 bytes", "arena bytes", "ops"],
                [[m.id, _j(m.tasks), "x".join(map(str, m.input_shape)), format_value(float(m.macs)),
                  str(m.int8_tflite_bytes), str(m.int8_arena_bytes), _j(m.ops)] for m in items])
    if kind == "throughput":
        return (["id", "cores", "kernel", "MACs/cycle", "measurements"],
                [[t.id, _j(t.cores), t.kernel + (f" ({t.npu})" if t.npu else ""), format_value(t.macs_per_cycle),
                  str(len(t.measurements)) if t.measurements else f"{len(t.kernel_timings)} kernel timings"]
                 for t in items])
    if kind == "constraint":
        compiled = kb.constraints
        return (["id", "stage", "name", "relaxed by"],
                [[c.id, compiled[c.id].stage if c.id in compiled else "", c.name,
                  c.relax.field if c.relax else ""] for c in items])
    if kind == "recipe":
        return (["id", "name", "techniques", "quantization"],
                [[r.id, r.name, _j(r.techniques), r.quantization] for r in items])
    return (["id", "step", "severity", "name"],
            [[p.id, p.step, p.severity, p.name] for p in items])


def print_kind(kb: KnowledgeBase, kind: str, console) -> None:
    """The ``kb list`` table for one kind."""
    from rich.table import Table

    header, table = rows(kb, kind)
    out = Table(title=f"{kind}s: {len(table)}", header_style="bold")
    for col in header:
        out.add_column(col, overflow="fold")
    for row in table:
        out.add_row(*row)
    console.print(out)


def print_stats(stats: dict[str, dict[str, int]], console) -> None:
    """The ``kb validate --stats`` tables: one per group, value and count."""
    from rich.table import Table

    for group, counts in stats.items():
        out = Table(title=f"{group}: {len(counts)}", header_style="bold")
        out.add_column(group, overflow="fold")
        out.add_column("entries", justify="right")
        for value, n in counts.items():
            out.add_row(value, str(n))
        console.print(out)
