"""The checklist report as plain data: built once, then rendered as Markdown, HTML or JSON.

For each of the five guideline steps: its inputs filled from this project, what the tool produced,
its methods as a checklist (done by the tool / to do by the team), and the risks -- every pitfall
that fires for the recommended stack, with the numbers, the mitigation and the sources.
"""

from __future__ import annotations

import re
from pathlib import Path

from advisor.solve.advice import build_advice
from advisor.report import nextsteps, numbers
from advisor.report.scores import _metric_text, _percent  # noqa: F401 - _percent used by callers
from advisor.report.charts import budget_svg, energy_svg, front_svg, bars_svg, memory_svg, path_svg
from advisor.report.status import evidence_context, method_items
from advisor.report.runfiles import load_run  # noqa: F401 - the report command's entry point
from advisor.solve.explain import pitfalls_of
from advisor.kb.base import KnowledgeBase
from advisor.kb.entities import SEVERITIES
from advisor.questionnaire.requirements import Requirements
from advisor.profile.basis import basis_for, from_profile
from advisor.solve.solver import solve

def usd(value: float | None, unit: bool = True) -> str:
    """A board price as the report shows it: ``27 USD``, or ``price unknown`` when no store page gave one."""
    if value is None:
        return "price unknown" if unit else "unknown"
    return f"{value:g} USD" if unit else f"{value:g}"


def build_report(req: Requirements, kb: KnowledgeBase, run: dict | None = None, top: int = 3,
                 search: dict | None = None) -> dict:
    """The report model (pure data plus the charts as SVG text); ``search`` is a study's pareto.json, whose
    chosen point's run is ``run`` when that run is on this machine."""
    from advisor.profile.model import load_model

    profile = load_model(Path(run["tflite"])) if run and run.get("tflite") else None
    if profile is None and req.model_source == "tflite" and req.model_file is not None:
        profile = load_model(req.model_file)
    sol = solve(req, kb, from_profile(profile) if profile else basis_for(req, kb))
    why = _obvious_alternatives(sol, kb)
    advice = build_advice(sol, kb, top=top, why=why)
    best = sol.candidates[0] if sol.candidates else None
    rec = advice["recommendations"][0] if advice["recommendations"] else None
    board = kb.boards.get(rec["board"]) if rec else None
    risks = pitfalls_of(sol, kb, best.key) if best else []
    arena = numbers.arena(profile, run, rec)
    energy = numbers.energy(rec, req, board) if rec else None
    facts = evidence_context(req, advice, kb, run, profile, arena, energy)
    steps = [_step(step, req, advice, run, profile, risks, facts)
             for step in sorted(kb.guideline.values(), key=lambda s: s.step)]
    budget = numbers.memory_budget(rec, board) if rec else None
    path = numbers.compression_path(run) if run else []
    charts = {"memory": bars_svg(advice["recommendations"]) if advice["recommendations"] else "",
              "layers": memory_svg(profile, best.est["ram_avail_kb"] if best else None,
                                   f"{best.board} RAM" if best else "") if profile else "",
              "budget": budget_svg(budget) if budget else "",
              "energy": energy_svg(energy) if energy else "",
              "accuracy": path_svg(path) if path else "",
              "search": front_svg(search) if search else ""}
    worst = max((SEVERITIES.index(r.severity) for r in risks), default=-1)
    n = advice["summary"]["candidates"]
    return {
        "project": req.project, "task": req.task,
        "requirements": advice["requirements"], "model": advice["model"],
        "knowledge_base": advice["knowledge_base"]["digest"],
        "recommendation": rec,
        "runners_up": advice["recommendations"][1:],
        "feasible_text": f"{n} feasible stack" + ("" if n == 1 else "s"),
        "rejected": advice["why_not"], "relaxations": advice["relaxations"],
        "summary": advice["summary"],
        "ranking": numbers.ranking(advice) if rec else None,
        "layers": numbers.layers(profile, rec["estimates"]["latency_ms"] if rec else None) if profile else [],
        "layers_basis": (f"estimated time: the {rec['estimates']['latency_ms']:.2f} ms latency estimate on "
                         f"{rec['board']} shared out by each operator's MACs and element operations"
                         if rec and profile else ""),
        "arena": arena, "memory_budget": budget, "energy": energy,
        "compression_path": path,
        "next_steps": nextsteps.plan(board, run, rec, arena) if board else None,
        "projects": sorted(nextsteps.projects(board, run, req.project)) if board else [],
        "run": _run_summary(run) if run else None,
        "search": _search_summary(search, run) if search else None,
        "steps": steps,
        "risk_counts": {s: sum(1 for r in risks if r.severity == s) for s in reversed(SEVERITIES)},
        "worst_severity": SEVERITIES[worst] if worst >= 0 else None,
        "charts": charts,
        "files": nextsteps.projects(board, run, req.project) if board else {},
    }


def _obvious_alternatives(sol, kb: KnowledgeBase) -> tuple[str, ...]:
    """The most popular things a reader would ask about: the biggest framework and cheapest boards not chosen."""
    chosen = sol.candidates[0] if sol.candidates else None
    picks = []
    for fw in ("tflite-micro", "tensorflow-lite", "edge-impulse-eon", "st-edge-ai"):
        if fw in kb.frameworks and (chosen is None or fw != chosen.framework):
            picks.append(fw)
    if chosen is not None:
        picks.append("float32" if chosen.recipe != "float32" else "int8-ptq")
    ranked = {c.board for c in sol.candidates}
    cheap = sorted((b for b in kb.boards.values() if b.id not in ranked), key=lambda b: (b.price_usd is None, b.price_usd or 0.0, b.id))
    picks += [b.id for b in cheap[:2]]
    kinds = {"board": "board", "framework": "framework", "recipe": "recipe"}
    unranked = [p for p in picks if not sol.ranked(**{kinds[kb.kind_of(p)]: p})]
    return tuple(dict.fromkeys(unranked))[:5]


def _step(step, req: Requirements, advice: dict, run, profile, risks, facts: dict) -> dict:
    methods = [item for text in step.methods for item in method_items(step.id, text, facts)]
    return {"id": step.id, "number": step.step, "title": step.title, "summary": step.summary,
            "inputs": _inputs(step.id, req, advice), "outputs": _outputs(step.id, advice, run, profile),
            "guideline_outputs": list(step.outputs), "methods": methods,
            "risks": [{"id": r.id, "name": r.name, "severity": r.severity, "evidence": r.evidence,
                       "mitigation": r.mitigation, "sources": list(r.sources)} for r in risks if r.step == step.id]}


def _inputs(step: str, req: Requirements, advice: dict) -> list[dict]:
    budget = lambda v, unit: f"{v:g} {unit}" if v else "not limited"  # noqa: E731
    rows = {
        "framework-selection": [("task", req.task), ("language", req.language), ("operating system", req.os),
                                ("model", advice["model"]["note"]), ("team ML experience", req.team_ml_experience)],
        "hardware-selection": [("sensors", ", ".join(req.sensors) or "none"),
                               ("connectivity", ", ".join(req.connectivity) or "none"),
                               ("RAM budget", budget(req.ram_budget_kb, "KB")),
                               ("flash budget", budget(req.flash_budget_kb, "KB")),
                               ("latency budget", budget(req.latency_budget_ms, "ms")),
                               ("unit cost ceiling", budget(req.unit_cost_usd, "USD")),
                               ("power", _power_text(req)),
                               ("existing board", req.existing_board or "none")],
        "model-compression": [("model", advice["model"]["name"]), ("MACs", f"{advice['model']['macs']:,.0f}"),
                              ("data available", req.data),
                              ("acceptable accuracy drop", f"{req.max_accuracy_drop_pp:g} points")],
        "conversion-deployment": [("target", "see the recommendation"), ("input shape",
                                  "x".join(map(str, req.input_shape)) or "the model's")],
        "mlops": [("devices", str(req.deployment_units)), ("model updates in the field", "yes" if req.ota_updates
                  else "no"), ("personal data", "yes" if req.privacy_sensitive else "no")],
    }
    return [{"name": k, "value": v} for k, v in rows.get(step, [])]


def _power_text(req: Requirements) -> str:
    """What the questionnaire said about power, and nothing more."""
    if req.battery_mah:
        life = f" for {req.lifetime_days:g} days" if req.lifetime_days else ""
        return f"battery {req.battery_mah:g} mAh{life}"
    if req.power_budget_mw:
        return f"average power budget {req.power_budget_mw:g} mW (no battery given)"
    return "not stated in the questionnaire"


def _outputs(step: str, advice: dict, run: dict | None, profile) -> list[str]:
    rec = advice["recommendations"][0] if advice["recommendations"] else None
    if rec is None:
        return ["no stack satisfies the requirements: see the relaxations"]
    e = rec["estimates"]
    metrics = run["metrics"] if run else {}
    out = {
        "framework-selection": [f"framework: {rec['framework']} (ranked #1 of {advice['summary']['candidates']} "
                                f"feasible stack{'' if advice['summary']['candidates'] == 1 else 's'})"],
        "hardware-selection": [f"board: {rec['board']} ({usd(rec['price_usd'])}): RAM {e['ram_kb']:.1f} of "
                               f"{e['ram_avail_kb']:g} KB, flash {e['flash_kb']:.1f} of {e['flash_avail_kb']:g} KB, "
                               f"{e['latency_ms']:.1f} ms per inference ({e['kernel']} kernels)"],
        "model-compression": [f"recipe: {rec['recipe']} (expected accuracy loss {e['accuracy_drop_pp']:.2f} points)"],
        "conversion-deployment": [],
        "mlops": [],
    }[step]
    if step == "model-compression" and profile is not None:
        heavy = ", ".join(f"#{r.index} {r.op}" for r in profile.heaviest())
        out.append(f"compute-heavy layers: {heavy}")
    if step == "model-compression" and metrics.get("size"):
        q = run["manifest"]["recipe"]["quantization"]
        what = "compressed model (int8)" if q == "int8" else f"converted model ({q}, weights not quantized to int8)"
        out.append(f"{what}: {metrics['size']['tflite_bytes']:,} bytes ({metrics['size']['gzip_bytes']:,} "
                   f"gzipped), accuracy {_metric_text(metrics.get('tflite'))}")
    if step == "conversion-deployment" and run:
        tflm = metrics.get("tflm")
        out.append(f"model.tflite in {run['dir']}")
        if tflm:
            out.append(f"validated in the tflite-micro host interpreter (not on the target): {_metric_text(tflm)}, "
                       f"arena {tflm['arena_bytes']:,} bytes measured, operators {', '.join(tflm['ops'])}")
        export = next((s for s in run["manifest"]["steps"] if s["uses"] == "export-c" and s["status"] == "ok"), None)
        if export is not None:
            harness = (export["outputs"] or {}).get("harness") == "benchmark"
            out.append("firmware/model_data.cc, model_data.h and main.cc" + (
                " (a benchmark harness for the board)" if harness else
                " (a minimal sketch from before the benchmark harness: re-run the recipe to get it)"))
    if step == "mlops" and run:
        out.append(f"run manifest {run['manifest']['run_id']}: inputs hashed, recipe {run['manifest']['recipe']['id']}, "
                   f"seed {run['manifest']['seed']}, status {run['manifest']['status']}")
    return out or ["not run yet: `tinyml-advisor run` produces it"]


def _search_summary(doc: dict, run: dict | None) -> dict:
    """What the report shows of a search: counts, the front, the chosen point against the best shipped recipe."""
    chosen = next((p for p in doc["front"] if p["trial"] == doc["chosen"]), None)
    fixed = doc["best_fixed_recipe"]
    gain = None
    if chosen and fixed:
        gain = {"accuracy_pp": round(chosen["accuracy_pct"] - fixed["accuracy_pct"], 2),
                "flash_pct": round(100.0 * (chosen["flash_bytes"] - fixed["flash_bytes"]) / fixed["flash_bytes"], 1)
                if fixed["flash_bytes"] else None}
    front = [{"trial": p["trial"], "recipe": p["recipe"], "shipped": p["fixed_recipe"],
              "params": ", ".join(f"{k}={v}" for k, v in p["params"].items()),
              "accuracy_pct": p["accuracy_pct"], "flash_kib": round(p["flash_bytes"] / 1024, 1),
              "arena_kib": round((p["arena_bytes"] or 0) / 1024, 1), "latency_ms": round(p["latency_ms"], 2),
              "run_id": p["run_id"], "chosen": p["trial"] == doc["chosen"]} for p in doc["front"]]
    return {"study": doc["study"], "board": doc["board"], "framework": doc["framework"], "family": doc["family"],
            "counts": doc["counts"], "front": front, "chosen": doc["chosen"], "gain": gain,
            "best_fixed": {"trial": fixed["trial"], "recipe": fixed["recipe"], "accuracy_pct": fixed["accuracy_pct"],
                           "flash_kib": round(fixed["flash_bytes"] / 1024, 1)} if fixed else None,
            "chosen_run_here": run is not None,
            "infeasible": [{"trial": p["trial"], "broken": "; ".join(p["broken"])} for p in doc["infeasible"]][:20],
            "failed": doc["failed"][:20]}


def _run_summary(run: dict) -> dict:
    m = run["manifest"]
    return {"id": m["run_id"], "dir": run["dir"], "status": m["status"], "complete": run["complete"],
            "state": run["state"], "state_reason": run["state_reason"], "recipe": m["recipe"]["id"],
            "failure": m["failure"], "steps": [{"id": s["id"], "status": s["status"], "seconds": s["seconds"]}
                                               for s in m["steps"]],
            "metrics": run["metrics"]}
