"""Self-contained SVG charts (no plotting library): memory per layer, RAM and flash per stack, the memory budget,
power by part, the compression path and a search's Pareto front."""

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


PART_COLOURS = ("#4a7ab5", "#7fa7d6", "#e08a00", "#c77dba", "#8c6d46", "#2a9d8f", "#999999")


def _stacked(parts: list[tuple[str, float | None]], total: float | None, y: int, label: str, width: int,
             x0: int = 150) -> list[str]:
    """One horizontal stacked bar: known parts in colour, the rest of ``total`` hatched as left."""
    known = [(n, v) for n, v in parts if v is not None and v > 0]
    scale_to = max(total or 0.0, sum(v for _n, v in known)) or 1.0
    out = [f'<text x="4" y="{y + 14}" font-weight="bold">{escape(label)}</text>',
           f'<rect x="{x0}" y="{y}" width="{width}" height="20" fill="#f4f4f4" stroke="#bbb"/>']
    x = float(x0)
    for i, (name, v) in enumerate(known):
        w = width * v / scale_to
        out.append(f'<rect x="{x:.1f}" y="{y}" width="{max(w, 0.5):.1f}" height="20" '
                   f'fill="{PART_COLOURS[i % len(PART_COLOURS)]}"><title>{escape(name)}: {v:,.1f} KB</title></rect>')
        x += w
    return out


def budget_svg(budget: dict) -> str:
    """RAM and flash of the recommended stack as stacked bars against what the board (or budget) offers."""
    width, bar = 760, 560
    rows = (("RAM", budget["ram"]), ("flash", budget["flash"]))
    height = 40 + len(rows) * 70 + 20
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11" role="img" '
             f'aria-label="Memory budget">', '<title>Memory budget: what is used and what is left</title>',
             f'<text x="4" y="16" font-size="13" font-weight="bold">Memory budget on {escape(budget["board"])}'
             f'</text>']
    for i, (name, r) in enumerate(rows):
        y = 34 + i * 70
        total = r["total_kb"]
        parts += _stacked([(p["label"], p["kb"]) for p in r["parts"]], total, y,
                          f"{name}" + (f" {total:,.0f} KB" if total else " (no fixed limit)"), bar)
        legend = [f'{p["label"]} {p["kb"]:,.1f}' for p in r["parts"] if p["kb"] is not None]
        left = (f'left {r["left_kb"]:,.1f} KB' if r["left_kb"] is not None else "left unknown") + \
            (f'; unknown, not counted: {", ".join(r["unknown"])}' if r["unknown"] else "")
        parts.append(f'<text x="150" y="{y + 36}">{escape("; ".join(legend))}</text>')
        parts.append(f'<text x="150" y="{y + 50}" fill="#2e8b57">{escape(left)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def energy_svg(energy: dict) -> str:
    """Average power by part (inference, sensing, radio, sleep) as a stacked bar, with the battery life;
    empty when no part is known."""
    parts_mw = [(k, v) for k, v in energy["parts_mw"].items()]
    if not any(v for _k, v in parts_mw):
        return ""
    known = sum(v for _k, v in parts_mw if v)
    width = 760
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="110" viewBox="0 0 {width} 110" '
           f'font-family="sans-serif" font-size="11" role="img" aria-label="Average power by part">',
           '<title>Average power by part</title>',
           '<text x="4" y="16" font-size="13" font-weight="bold">Average power by part (mW)</text>']
    x, bar = 150.0, 560
    out.append(f'<rect x="150" y="30" width="{bar}" height="20" fill="#f4f4f4" stroke="#bbb"/>')
    for i, (name, v) in enumerate((k, v) for k, v in parts_mw if v):
        w = bar * v / known
        out.append(f'<rect x="{x:.1f}" y="30" width="{max(w, 0.5):.1f}" height="20" '
                   f'fill="{PART_COLOURS[i % len(PART_COLOURS)]}"><title>{escape(name)}: {v:.4g} mW</title></rect>')
        x += w
    legend = "; ".join(f"{k} {v:.4g} mW" if v is not None else f"{k} unknown" for k, v in parts_mw)
    out.append(f'<text x="4" y="44">known {known:.4g} mW</text>')
    out.append(f'<text x="150" y="68">{escape(legend)}</text>')
    life = f"battery life {energy['battery_days']:,.0f} days on {energy['battery']}" if energy["battery_days"] \
        else "battery life unknown"
    out.append(f'<text x="150" y="86" fill="#2e8b57">{escape(life)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def path_svg(points: list[dict]) -> str:
    """The compression path: accuracy against model size for each step the recipe took, numbered in order and
    joined by a line; labels go in a numbered legend (no overlap), the y axis stops at 100 %."""
    import math

    drawn = [(i + 1, p) for i, p in enumerate(points) if p["bytes"] and p["accuracy"] is not None]
    if not drawn:
        return ""
    width, height, left, right, top, bottom = 760, 300, 60, 290, 30, 50
    pw, ph = width - left - right, height - top - bottom
    xs = [math.log10(p["bytes"]) for _n, p in drawn]
    x_lo, x_hi = min(xs) - 0.15, max(xs) + 0.15
    accs = [p["accuracy"] for _n, p in drawn]
    y_hi = min(100.0, max(accs) + 1.0)
    y_lo = max(0.0, min(accs) - 1.0)
    if y_hi - y_lo < 2.0:
        y_lo = max(0.0, y_hi - 2.0)

    def px(v: float) -> float:
        return left + pw * (v - x_lo) / (x_hi - x_lo)

    def py(v: float) -> float:
        return top + ph * (1 - (v - y_lo) / (y_hi - y_lo))

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'font-family="sans-serif" font-size="11" role="img" aria-label="Compression path: accuracy against size">',
           '<title>Compression path: accuracy against model size, step by step</title>',
           f'<text x="{left}" y="18" font-size="13" font-weight="bold">Compression path: accuracy against size</text>',
           f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#888"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="#888"/>',
           f'<text x="{left + pw / 2}" y="{height - 10}" text-anchor="middle">model bytes (log scale)</text>',
           f'<text x="14" y="{top + ph / 2}" transform="rotate(-90 14 {top + ph / 2})" text-anchor="middle">'
           'accuracy (%, AUC x100)</text>']
    # NOTE: ticks at 1, 2 and 5 per decade, so a path spanning less than a decade still gets several ticks.
    for e in range(math.floor(x_lo), math.ceil(x_hi) + 1):
        for m in (1, 2, 5):
            v = math.log10(m) + e
            if x_lo <= v <= x_hi:
                out.append(f'<line x1="{px(v):.1f}" x2="{px(v):.1f}" y1="{top + ph}" y2="{top + ph + 4}" stroke="#888"/>')
                out.append(f'<text x="{px(v):.1f}" y="{top + ph + 16}" text-anchor="middle">{m * 10 ** e:,.0f}</text>')
    for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
        v = y_lo + frac * (y_hi - y_lo)
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{py(v):.1f}" y2="{py(v):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{left - 4}" y="{py(v) + 4:.1f}" text-anchor="end">{v:.1f}</text>')
    line = " ".join(f"{px(math.log10(p['bytes'])):.1f},{py(p['accuracy']):.1f}" for _n, p in drawn)
    out.append(f'<polyline points="{line}" fill="none" stroke="#4a7ab5" stroke-width="1.5"/>')
    # NOTE: steps that leave size and accuracy unchanged (convert, then the TFLM check) share one marker "3,5".
    markers: dict[tuple[int, int], list[tuple[int, dict]]] = {}
    for n, p in drawn:
        cx, cy = px(math.log10(p["bytes"])), py(p["accuracy"])
        markers.setdefault((round(cx / 6), round(cy / 6)), []).append((n, p))
    for group in markers.values():
        n, p = group[0]
        cx, cy = px(math.log10(p["bytes"])), py(p["accuracy"])
        text = ",".join(str(m) for m, _p in group)
        tip = "; ".join(f'{escape(q["label"])}: {q["bytes"]:,.0f} bytes, {q["accuracy"]:.2f}' for _m, q in group)
        out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{9 + 3 * (len(group) - 1)}" fill="#fff" stroke="#4a7ab5" '
                   f'stroke-width="1.5"><title>{tip}</title></circle>')
        out.append(f'<text x="{cx:.1f}" y="{cy + 4:.1f}" text-anchor="middle" font-size="10">{text}</text>')
    for i, (n, p) in enumerate(drawn):
        out.append(f'<text x="{width - right + 14}" y="{top + 10 + i * 16}">{n}. {escape(p["label"])}: '
                   f'{p["bytes"] / 1024:,.1f} KiB, {p["accuracy"]:.2f}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
