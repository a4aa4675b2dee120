"""A self-contained SVG of live arena memory per layer against the board's limit (no plotting library)."""

from __future__ import annotations

from html import escape

from advisor.profile.model import ModelProfile

WIDTH, HEIGHT = 760, 320
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 40, 60


def memory_svg(profile: ModelProfile, limit_kb: float | None = None, limit_label: str = "") -> str:
    """Bars: KB alive while each operator runs; lines: the planned arena and, if given, the limit."""
    rows = profile.rows
    live_kb = [r.live_bytes / 1024 for r in rows]
    arena_kb = profile.plan.arena_bytes / 1024
    off_scale = bool(limit_kb) and limit_kb > 4 * max(live_kb + [arena_kb])
    top = max(live_kb + [arena_kb] + ([limit_kb] if limit_kb and not off_scale else [])) * 1.1 or 1.0
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
    if off_scale:
        parts.append(f'<text x="{WIDTH - RIGHT}" y="{TOP - 6}" text-anchor="end" fill="#c0392b">'
                     f'{escape(limit_label) or "limit"} {limit_kb:.0f} KB (far above this scale)</text>')
    elif limit_kb:
        lines.append((limit_kb, "#c0392b", f"{escape(limit_label) or 'limit'} {limit_kb:.0f} KB"))
    for kb, colour, label in lines:
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(kb):.1f}" y2="{y(kb):.1f}" stroke="{colour}" '
                     f'stroke-width="2" stroke-dasharray="6 3"/>')
        parts.append(f'<text x="{WIDTH - RIGHT}" y="{y(kb) - 4:.1f}" text-anchor="end" fill="{colour}">{label}'
                     f'</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def bars_svg(candidates: list[dict]) -> str:
    """RAM and flash each stack needs against what its board offers (horizontal bars, KB)."""
    rows = [(f"#{c['rank']} {c['board']} + {c['framework']} + {c['recipe']}", c["estimates"]) for c in candidates]
    panels = (("RAM", "ram_kb", "ram_avail_kb"), ("flash", "flash_kb", "flash_avail_kb"))
    row_h, label_w, bar_w = 22, 330, 180
    height = 50 + len(rows) * row_h
    width = label_w + 2 * (bar_w + 70) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11" role="img" '
             f'aria-label="RAM and flash used against what the board has">',
             '<title>RAM and flash used against what the board has</title>']
    for p, (name, used_key, avail_key) in enumerate(panels):
        x0 = label_w + p * (bar_w + 70)
        parts.append(f'<text x="{x0}" y="16" font-weight="bold">{name}: used / available</text>')
        for i, (label, e) in enumerate(rows):
            y = 30 + i * row_h
            avail = e[avail_key]
            if avail >= 1e8:  # removable storage: no limit to draw
                parts.append(f'<text x="{x0}" y="{y + 12}">{e[used_key]:.0f} KB (no fixed limit)</text>')
                continue
            share = min(e[used_key] / avail, 1.0) if avail else 1.0
            colour = "#c0392b" if share > 0.8 else "#e08a00" if share > 0.5 else "#2e8b57"
            parts.append(f'<rect x="{x0}" y="{y}" width="{bar_w}" height="14" fill="#eee" stroke="#bbb"/>')
            parts.append(f'<rect x="{x0}" y="{y}" width="{bar_w * share:.1f}" height="14" fill="{colour}">'
                         f'<title>{escape(label)}: {e[used_key]:.1f} of {avail:g} KB</title></rect>')
            parts.append(f'<text x="{x0 + bar_w + 4}" y="{y + 11}">{100 * share:.0f}%</text>')
    for i, (label, _e) in enumerate(rows):
        parts.append(f'<text x="4" y="{30 + i * row_h + 11}">{escape(label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _log_x_frame(sizes: list[float], values: list[float], right: int, y_pad: float, title: str, x_label: str,
                 y_label: str):
    """The frame of a chart of values against sizes on a log axis: (svg parts so far, x of a log10 size, y)."""
    import math

    width, height, left, bottom, top_m = 560, 280, 60, 50, 30
    xs = [math.log10(max(v, 1.0)) for v in sizes]
    x_lo, x_hi = min(xs) - 0.1, max(xs) + 0.1
    y_lo, y_hi = min(values) - y_pad, max(values) + y_pad
    pw, ph = width - left - right, height - top_m - bottom

    def px(x: float) -> float:
        return left + pw * (x - x_lo) / (x_hi - x_lo)

    def py(y: float) -> float:
        return top_m + ph * (1 - (y - y_lo) / (y_hi - y_lo))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11" role="img" '
             f'aria-label="{escape(title)}">', f'<title>{escape(title)}</title>',
             f'<line x1="{left}" y1="{top_m + ph}" x2="{left + pw}" y2="{top_m + ph}" stroke="#888"/>',
             f'<line x1="{left}" y1="{top_m}" x2="{left}" y2="{top_m + ph}" stroke="#888"/>',
             f'<text x="{left + pw / 2}" y="{height - 12}" text-anchor="middle">{escape(x_label)}</text>',
             f'<text x="14" y="{top_m + ph / 2}" transform="rotate(-90 14 {top_m + ph / 2})" '
             f'text-anchor="middle">{escape(y_label)}</text>']
    for e in range(math.ceil(x_lo), math.floor(x_hi) + 1):
        parts.append(f'<text x="{px(e):.1f}" y="{top_m + ph + 14}" text-anchor="middle">{10 ** e:,.0f}</text>')
    for frac in (0.0, 0.5, 1.0):
        y = y_lo + frac * (y_hi - y_lo)
        parts.append(f'<text x="{left - 4}" y="{py(y) + 4:.1f}" text-anchor="end">{y:.1f}</text>')
    return parts, xs, px, py


def scatter_svg(points: list[tuple[str, float, float]]) -> str:
    """Accuracy against model size across a run's stages (bytes on a log axis)."""
    if not points:
        return ""
    parts, xs, px, py = _log_x_frame([p[1] for p in points], [p[2] for p in points], 160, 2.0,
                                     "Accuracy against model size", "model bytes (log scale)",
                                     "accuracy (%, AUC x100)")
    for (label, size, acc), x in zip(points, xs):
        parts.append(f'<circle cx="{px(x):.1f}" cy="{py(acc):.1f}" r="5" fill="#4a7ab5"><title>{escape(label)}: '
                     f'{size:,.0f} bytes, {acc:.2f}</title></circle>')
        parts.append(f'<text x="{px(x) + 8:.1f}" y="{py(acc) + 4:.1f}">{escape(label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def front_svg(doc: dict) -> str:
    """A search's Pareto front: TFLM accuracy against flash (log axis), the chosen point and the best recipe as
    shipped marked; each point's tooltip has its latency and recipe."""
    points = list(doc["front"])
    fixed = doc.get("best_fixed_recipe")
    if fixed and all(p["trial"] != fixed["trial"] for p in points):
        points.append(fixed)
    if not points:
        return ""
    parts, xs, px, py = _log_x_frame([p["flash_bytes"] for p in points], [p["accuracy_pct"] for p in points], 120,
                                     1.0, "Pareto front: accuracy against flash", "model flash, bytes (log scale)",
                                     "TFLM accuracy (%, AUC x100)")
    ordered = sorted(zip(points, xs), key=lambda q: q[1])
    on_front = [(p, x) for p, x in ordered if any(f["trial"] == p["trial"] for f in doc["front"])]
    if len(on_front) > 1:
        path = " ".join(f"{px(x):.1f},{py(p['accuracy_pct']):.1f}" for p, x in on_front)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#4a7ab5" stroke-dasharray="4 3"/>')
    for p, x in ordered:
        chosen = p["trial"] == doc["chosen"]
        colour = "#c0392b" if chosen else ("#888" if p["fixed_recipe"] else "#4a7ab5")
        label = f"#{p['trial']}" + (" chosen" if chosen else "") + (" shipped" if p["fixed_recipe"] else "")
        parts.append(f'<circle cx="{px(x):.1f}" cy="{py(p["accuracy_pct"]):.1f}" r="{6 if chosen else 5}" '
                     f'fill="{colour}"><title>trial {p["trial"]} {escape(p["recipe"] or "")}: '
                     f'{p["flash_bytes"]:,} bytes, {p["accuracy_pct"]:.2f} %, {p["latency_ms"]:.2f} ms</title></circle>')
        parts.append(f'<text x="{px(x) + 8:.1f}" y="{py(p["accuracy_pct"]) + 4:.1f}">{escape(label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
