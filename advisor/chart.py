"""A self-contained SVG of live arena memory per layer against the board's limit (no plotting library)."""

from __future__ import annotations

from html import escape

from .profile import ModelProfile

WIDTH, HEIGHT = 760, 320
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 40, 60


def memory_svg(profile: ModelProfile, limit_kb: float | None = None, limit_label: str = "") -> str:
    """Bars: KB alive while each operator runs; lines: the planned arena and, if given, the limit."""
    rows = profile.rows
    live_kb = [r.live_bytes / 1024 for r in rows]
    arena_kb = profile.plan.arena_bytes / 1024
    top = max(live_kb + [arena_kb] + ([limit_kb] if limit_kb else [])) * 1.1 or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    bar_w = plot_w / max(len(rows), 1)

    def y(kb: float) -> float:
        return TOP + plot_h * (1 - kb / top)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11" role="img" '
             f'aria-label="Live tensor memory per layer">',
             f'<title>Live tensor memory per layer: {escape(profile.name)}</title>',
             f'<text x="{LEFT}" y="18" font-size="13" font-weight="bold">Live arena memory per layer — '
             f'{escape(profile.name)}</text>']
    for i in range(5):
        kb = top * i / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(kb):.1f}" y2="{y(kb):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y(kb) + 4:.1f}" text-anchor="end">{kb:.0f}</text>')
    parts.append(f'<text x="14" y="{TOP + plot_h / 2}" transform="rotate(-90 14 {TOP + plot_h / 2})" '
                 f'text-anchor="middle">KB</text>')
    for i, (row, kb) in enumerate(zip(rows, live_kb)):
        x = LEFT + i * bar_w
        parts.append(f'<rect x="{x + 1:.1f}" y="{y(kb):.1f}" width="{max(bar_w - 2, 1):.1f}" '
                     f'height="{TOP + plot_h - y(kb):.1f}" fill="#4a7ab5"><title>#{row.index} {escape(row.op)}: '
                     f'{kb:.1f} KB live, {row.macs:,} MACs</title></rect>')
        if len(rows) <= 40:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{TOP + plot_h + 12}" text-anchor="end" '
                         f'transform="rotate(-45 {x + bar_w / 2:.1f} {TOP + plot_h + 12})" font-size="9">'
                         f'{row.index} {escape(row.op.lower())}</text>')
    lines = [(arena_kb, "#e08a00", f"planned arena {arena_kb:.1f} KB")]
    if limit_kb:
        lines.append((limit_kb, "#c0392b", f"{escape(limit_label) or 'limit'} {limit_kb:.0f} KB"))
    for kb, colour, label in lines:
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(kb):.1f}" y2="{y(kb):.1f}" stroke="{colour}" '
                     f'stroke-width="2" stroke-dasharray="6 3"/>')
        parts.append(f'<text x="{WIDTH - RIGHT}" y="{y(kb) - 4:.1f}" text-anchor="end" fill="{colour}">{label}'
                     f'</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
