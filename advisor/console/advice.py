"""Print the advice data (advice.build_advice) for people: rich tables and short explanations."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from advisor.rules.core import format_value

SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


def _kb(value: float) -> str:
    return "n/a" if value >= 1e8 else format_value(round(value, 1))


def print_advice(advice: dict, console: Console, details: int = 3) -> None:
    """The ranking table, the top candidates' numbers and risks, then whatever else was asked for."""
    req, summary = advice["requirements"], advice["summary"]
    console.print(f"[bold]{advice['project']}[/bold] — {req['task']}, model basis: {advice['model']['note']}")
    pins = advice.get("pins") or {}
    pinned = f" with {', '.join(f'{k} {v}' for k, v in pins.items())} pinned" if pins else ""
    console.print(f"{summary['candidates']} feasible stacks{pinned} from {summary['boards']} boards, "
                  f"{summary['frameworks']} frameworks, {summary['recipes']} recipes")
    if advice["recommendations"]:
        console.print(_ranking_table(advice["recommendations"], "Recommendations"))
        if any(c["price_usd"] is None for c in advice["recommendations"]):
            ceiling = req.get("unit_cost_usd") or 0.0
            console.print("USD ? = price unknown: no vendor or distributor page was read for it"
                          + (f"; check it against your {ceiling:g} USD ceiling yourself" if ceiling else ""))
        for cand in advice["recommendations"][:details]:
            _print_details(cand, console)
    else:
        console.print("[bold red]No stack satisfies every requirement.[/bold red]")
        _print_relaxations(advice["relaxations"], console)
    for pref in advice.get("preferred") or []:
        _print_preferred(pref, console)
    _print_rejections(summary["rejections"], console)
    if advice["pareto"]:
        console.print(_ranking_table(advice["pareto"], "Pareto front: cost / energy / latency (none is better on all)"))
    for why in advice["why_not"]:
        _print_why_not(why, console)


def _ranking_table(rows: list[dict], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for name, justify in (("#", "right"), ("board", "left"), ("framework", "left"), ("recipe", "left"),
                          ("RAM KB", "right"), ("flash KB", "right"), ("latency ms", "right"),
                          ("energy mJ", "right"), ("drop pp", "right"), ("USD", "right"), ("score", "right")):
        table.add_column(name, justify=justify)
    for c in rows:
        e = c["estimates"]
        table.add_row(str(c["rank"]), c["board"], c["framework"], c["recipe"],
                      f"{_kb(e['ram_kb'])}/{_kb(e['ram_avail_kb'])}", f"{_kb(e['flash_kb'])}/{_kb(e['flash_avail_kb'])}",
                      format_value(round(e["latency_ms"], 2)),
                      format_value(round(e["energy_mj"], 3)) if e["energy_mj"] else "unknown",
                      format_value(round(e["accuracy_drop_pp"], 2)), format_value(c["price_usd"]) if c["price_usd"] is not None else "?",
                      f"{c['score']:.3f}")
    return table


def _print_details(c: dict, console: Console) -> None:
    e = c["estimates"]
    console.print(f"\n[bold]#{c['rank']} {c['board']} + {c['framework']} + {c['recipe']}[/bold]")
    console.print(f"  RAM {_kb(e['ram_kb'])} KB (arena {_kb(e['arena_kb'])}) of {_kb(e['ram_avail_kb'])}; "
                  f"flash {_kb(e['flash_kb'])} KB (model {_kb(e['model_flash_kb'])}) of {_kb(e['flash_avail_kb'])}; "
                  f"{format_value(round(e['latency_ms'], 2))} ms with {e['kernel']} kernels "
                  f"({c['basis']['latency']})")
    scored = ", ".join(f"{k} {v:.2f}" for k, v in c["penalties"].items())
    console.print(f"  penalties: {scored}; operators {c['basis']['operators']}")
    for p in c["pitfalls"]:
        style = SEVERITY_STYLE[p["severity"]]
        console.print(f"  [{style}]{p['severity']:>8}[/{style}] {p['name']}: {p['evidence']}")


FIGURES = (("price_usd", "USD", 2), ("latency_ms", "ms", 2), ("energy_mj", "mJ", 3), ("accuracy_drop_pp", "pp", 2),
           ("ram_kb", "KB RAM", 1), ("flash_kb", "KB flash", 1))


def _print_preferred(p: dict, console: Console) -> None:
    """The team's board or framework beside the best stack without it: what switching would gain."""
    what = "board" if p["kind"] == "board" else "framework"
    kept, other = p["kept"], p["best_other"]
    if other is None:
        return
    name = f"{other['board']} + {other['framework']} + {other['recipe']}"
    if kept is None:
        console.print(f"\nNo feasible stack keeps your {what} {p['id']}; the best without it: {name} (see why below).")
        return
    if p["gain"] <= 1e-9:
        console.print(f"\nYour {what} {p['id']} is also the better choice: the best stack without it ({name}) "
                      f"scores {-p['gain']:.2f} worse.")
        return
    console.print(f"\nBest stack without your {what} {p['id']}: {name}, {p['gain']:.2f} score points better "
                  f"(reuse left out):")
    gains = [f"{t} {v:.2f}" for t, v in p["terms"].items() if v > 0]
    losses = [f"{t} {-v:.2f}" for t, v in p["terms"].items() if v < 0]
    worse = f"; worse on {', '.join(losses)}" if losses else ""
    console.print(f"  better on {', '.join(gains) or 'nothing'}{worse}")
    figures = []
    for key, unit, digits in FIGURES:
        f = p["figures"].get(key) or {}
        a, b = f.get("kept"), f.get("other")
        if a != b:
            show = [("unknown" if v is None else format_value(round(v, digits))) for v in (a, b)]
            figures.append(f"{show[0]} → {show[1]} {unit}")
    if figures:
        console.print(f"  {', '.join(figures)}")


def _print_relaxations(relaxations: list[dict], console: Console) -> None:
    if not relaxations:
        console.print("No single change to one requirement (or two numeric budgets) makes a stack feasible; "
                      "see the rejections below.")
        return
    console.print("Smallest changes that make stacks feasible:")
    for r in relaxations:
        best = r["best"]
        console.print(f"  • {r['change']}: {r['fit']} stack{'s' if r['fit'] != 1 else ''} fit "
                      f"(best: {best['board']} + {best['framework']} + {best['recipe']})")


def _print_rejections(rejections: dict, console: Console) -> None:
    if not rejections:
        return
    parts = [f"{cid} {n}" for cid, n in list(rejections.items())[:8]]
    console.print(f"\nRejections by rule (boards, frameworks, recipes, pairs or stacks): {', '.join(parts)}")


def _print_why_not(w: dict, console: Console) -> None:
    console.print(f"\n[bold]Why not {w['id']}[/bold] ({w['kind']})")
    if w["ranked"] is not None:
        best, top = w["best"], w["top"]
        where = "with it as the model basis, the best stack is" if w["kind"] == "reference-model" else \
            f"best rank #{w['ranked']}"
        console.print(f"  It is feasible: {where} ({best['board']} + {best['framework']} + "
                      f"{best['recipe']}), score {best['score']:.3f} against {top['score']:.3f} for #1.")
        worse = [(k, best["penalties"][k] - top["penalties"][k]) for k in best["penalties"]]
        worse = [f"{k} +{d:.2f}" for k, d in sorted(worse, key=lambda kv: -kv[1]) if d > 1e-9]
        if worse:
            console.print(f"  Penalties higher than #1 (before weights): {', '.join(worse)}")
    for v in w["own"]:
        console.print(f"  ✗ {v['name']}: {v['message']}")
    if w["own"]:
        return
    if w["by_constraint"]:
        counts = ", ".join(f"{k} {n}" for k, n in w["by_constraint"].items())
        console.print(f"  {w['stacks_checked']} stacks with it were rejected; by rule: {counts}")
        console.print("  Closest:")
        for c in w["closest"]:
            names = " + ".join(v for k, v in c.items() if k not in ("violations", "distance"))
            console.print(f"    {names}:")
            for v in c["violations"]:
                console.print(f"      ✗ {v['message']}")
