"""The advice as plain data: built once from a solution, then printed as a table or written as JSON.

Its shape is a contract (schemas/advice.schema.json); tests pin it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict

from advisor.solve.context import contexts_for
from advisor.solve.explain import Relaxation, WhyNot, distance, pitfalls_of, relaxations, why_not
from advisor.kb.base import KnowledgeBase
from advisor.kb.ranking import TERMS, default_ranking
from advisor.solve import ranking as ranking_terms
from advisor.solve.solver import Candidate, Solution, pareto_front

SCHEMA_ID = "https://tinyml-advisor.dev/schemas/advice.schema.json"
EST_FIELDS = ("ram_kb", "ram_avail_kb", "arena_kb", "flash_kb", "flash_avail_kb", "model_flash_kb", "latency_ms",
              "kernel", "energy_mj", "avg_power_mw", "battery_days", "accuracy_drop_pp", "uses_ext_ram",
              "ram_avail_basis")


def build_advice(sol: Solution, kb: KnowledgeBase, top: int = 5, why: tuple[str, ...] = (),
                 pareto: bool = False) -> dict:
    """The whole answer as JSON-ready data.

    Raises:
        ProblemError: a ``why`` id that is no board, framework or recipe.
    """
    boards = contexts_for(kb).boards
    req = sol.req
    advice = {
        "$schema": SCHEMA_ID,
        "project": req.project,
        "requirements": {"file": req.file, **req.context(), "weights": dict(req.weights)},
        "model": {"source": sol.basis.source, "name": sol.basis.name, "macs": sol.basis.macs,
                  "int8_bytes": sol.basis.int8_bytes, "int8_arena_bytes": sol.basis.int8_arena_bytes,
                  "ops": list(sol.basis.ops), "note": sol.basis.note},
        "knowledge_base": {"digest": kb.digest, "counts": kb.counts()},
        "ranking": _ranking(kb, req),
        "summary": {**sol.counts, "rejections": dict(sorted(sol.rejections_by_constraint.items(),
                                                            key=lambda kv: (-kv[1], kv[0])))},
        "recommendations": [candidate_data(c, sol, kb, boards) for c in sol.candidates[:top]],
        "pareto": [candidate_data(c, sol, kb, boards, brief=True) for c in pareto_front(sol.candidates, boards)]
        if pareto else [],
        "relaxations": [relaxation_data(r) for r in relaxations(sol, kb)]
        if not sol.candidates and not sol.pins else [],
        "pins": dict(sol.pins),
        "preferred": preferred_data(sol, kb, boards),
        "why_not": [],
    }
    if sol.pins and not sol.candidates:  # a pinned part no stack can use: say why without being asked
        why = tuple(dict.fromkeys(why + tuple(sol.pins.values())))
    # NOTE: the same for the team's board or framework when no stack keeps it (prefer or force).
    unused = [i for i, kind in ((req.existing_board, "board"), (req.framework, "framework"))
              if i and not sol.ranked(**{kind: i})]
    why = tuple(dict.fromkeys(why + tuple(unused)))
    for ident in why:
        w = why_not(ident, sol, kb)
        data = why_not_data(w)
        if w.best is not None:
            data["best"] = candidate_data(w.best, sol, kb, boards, brief=True) | \
                {"penalties": {k: round(v, 6) for k, v in w.best.penalties.items()}}
            data["top"] = candidate_data(sol.candidates[0], sol, kb, boards, brief=True) | \
                {"penalties": {k: round(v, 6) for k, v in sol.candidates[0].penalties.items()}}
        advice["why_not"].append(data)
    return advice


def candidate_data(c: Candidate, sol: Solution, kb: KnowledgeBase, boards: dict, brief: bool = False) -> dict:
    data = {"rank": c.rank, "board": c.board, "framework": c.framework, "recipe": c.recipe,
            "price_usd": boards[c.board]["price_usd"] if boards[c.board]["price_known"] else None,
            "score": round(c.score, 6),
            "estimates": {k: _num(c.est[k]) for k in EST_FIELDS}}
    if brief:
        return data
    data["estimates"] |= estimate_parts(c.est)
    data["penalties"] = {k: round(v, 6) for k, v in c.penalties.items()}
    data["unknown_terms"] = sorted(c.unknown)
    data["basis"] = {"latency": c.latency_basis,
                     "operators": "checked against the framework's operator set" if c.ops_checked
                     else "not checked: the knowledge base has no operator set for this framework",
                     "model": sol.basis.note}
    data["pitfalls"] = [asdict(p) | {"sources": list(p.sources)}
                        for p in pitfalls_of(sol, kb, c.key)]
    return data


# Figures set beside each other when a preferred part is compared with the best stack without it.
COMPARED = (("price_usd", None), ("latency_ms", "latency_ms"), ("energy_mj", "energy_mj"),
            ("accuracy_drop_pp", "accuracy_drop_pp"), ("ram_kb", "ram_kb"), ("flash_kb", "flash_kb"))


def preferred_data(sol: Solution, kb: KnowledgeBase, boards: dict) -> list[dict]:
    """For the team's board and framework in prefer mode: its best stack beside the best stack without it.

    ``gain`` is how many score points (weighted penalties, the reuse term left out since it is the price of
    switching itself) the best stack without the preferred part is better by; ``terms`` the weighted
    difference per term (positive: the other stack is better there). Both stacks' risk terms are evaluated
    here, so the comparison does not depend on whether the solver's re-ranking reached them.
    """
    req, rk = sol.req, default_ranking(kb)
    out = []
    for kind, ident, forced in (("board", req.existing_board, req.force_board),
                                ("framework", req.framework, req.force_framework)):
        if not ident or forced:
            continue
        kept = next((c for c in sol.candidates if getattr(c, kind) == ident), None)
        others = [c for c in sol.candidates if getattr(c, kind) != ident]

        def merit(c: Candidate) -> dict[str, float]:
            pen = dict(c.penalties)
            if req.weights.get("risk", 0.0) > 0:
                pen["risk"] = ranking_terms.risk_penalty(rk, [p.severity for p in pitfalls_of(sol, kb, c.key)])
            return {t: req.weights[t] * v for t, v in pen.items() if t != "reuse"}

        # NOTE: the best other stack by its own merit; the solver's order puts it after every kept stack.
        pool = others[:int(rk.terms["risk"].params["rerank"])]
        scored = sorted(((sum(merit(c).values()), c.rank, c) for c in pool), key=lambda x: x[:2])
        other = scored[0][2] if scored else None
        entry = {"kind": kind, "id": ident, "kept": None, "best_other": None, "gain": None, "terms": {},
                 "figures": {}}
        if kept is not None:
            entry["kept"] = candidate_data(kept, sol, kb, boards, brief=True)
        if other is not None:
            entry["best_other"] = candidate_data(other, sol, kb, boards, brief=True)
        if kept is not None and other is not None:
            a, b = merit(kept), merit(other)
            diff = {t: round(a[t] - b[t], 6) for t in a if abs(a[t] - b[t]) > 1e-9}
            entry["gain"] = round(sum(a.values()) - sum(b.values()), 6)
            entry["terms"] = dict(sorted(diff.items(), key=lambda kv: (-kv[1], kv[0])))
            for name, est_key in COMPARED:
                mine = entry["kept"]["price_usd"] if est_key is None else _num(kept.est[est_key])
                theirs = entry["best_other"]["price_usd"] if est_key is None else _num(other.est[est_key])
                if name == "energy_mj":  # 0 = unknown (no power figure)
                    mine, theirs = mine or None, theirs or None
                entry["figures"][name] = {"kept": mine, "other": theirs}
        out.append(entry)
    return out


def relaxation_data(r: Relaxation) -> dict:
    return {"field": r.field, "change": r.change, "value": r.value, "fit": r.fit,
            "best": dict(zip(("board", "framework", "recipe"), r.best)) if r.best else None}


def why_not_data(w: WhyNot) -> dict:
    partners = {"board": ("framework", "recipe"), "framework": ("board", "recipe"),
                "recipe": ("board", "framework"), "reference-model": ("stack", "recipe")}[w.kind]
    by_constraint: Counter = Counter()
    for _a, _b, found in w.combos:
        by_constraint.update({v.constraint for v in found})
    # NOTE: closest = misses least (a 5 % RAM overrun before a missing sensor), then fewest rules, then ids.
    closest = sorted(w.combos, key=lambda x: (distance(x[2]), len(x[2]), x[0], x[1]))[:5]
    return {
        "id": w.id, "kind": w.kind,
        "ranked": w.best.rank if w.best else None,
        "own": [asdict(v) for v in w.own],
        "stacks_checked": len(w.combos),
        "by_constraint": dict(sorted(by_constraint.items(), key=lambda kv: (-kv[1], kv[0]))),
        "closest": [{partners[0]: a, partners[1]: b, "distance": distance(found),
                     "violations": [asdict(v) for v in found]} for a, b, found in closest],
    }


def _num(value):
    return round(value, 4) if isinstance(value, float) else value


def _ranking(kb: KnowledgeBase, req) -> dict:
    """The ranking as data: each term's weight (the questionnaire's, else the knowledge base's), what it
    measures, its parameters and why."""
    rk = default_ranking(kb)
    return {"weights": dict(req.weights), "tie_break": rk.tie_break,
            "penalties": {name: TERMS[name][1] for name in TERMS},
            "terms": {name: {"weight": req.weights[name], "default_weight": t.weight, "params": dict(t.params),
                             "measures": TERMS[name][1], "reason": " ".join(t.reason.split())}
                      for name, t in rk.terms.items()},
            "existing_board_first": bool(req.existing_board) and req.weights.get("reuse", 0.0) > 0}


def estimate_parts(est: dict) -> dict:
    """What the RAM and power estimates are made of, for the report and --json (null = unknown, not counted)."""
    unknown_ram = set(est.get("ram_unknown", ()))
    parts = {"arena": _num(est["arena_kb"]),
             "runtime": None if "runtime" in unknown_ram else _num(est.get("runtime_ram_kb", 0.0)),
             "buffers": _num(est.get("buffers_kb", 0.0)),
             "stack": None if "stack" in unknown_ram else _num(est.get("stack_ram_kb", 0.0)),
             "os": None if "os" in unknown_ram else _num(est.get("os_ram_kb", 0.0)),
             "radio": None if any(u.startswith("radio") for u in unknown_ram) and not est.get("radio_ram_kb")
             else _num(est.get("radio_ram_kb", 0.0))}
    energy_unknown = list(est.get("energy_unknown", ()))
    known = est.get("power_known", False)
    power = {"inference": _num(est.get("inference_mw", 0.0)) if known else None,
             "sensing": None if any(u.endswith(" draw") for u in energy_unknown) else _num(est.get("sensing_mw", 0.0)),
             "radio": None if any("radio" in u for u in energy_unknown) else 0.0,
             "sleep": None if "sleep power" in energy_unknown else _num(est.get("sleep_avg_mw", 0.0))}
    return {"ram_parts_kb": parts, "ram_unknown": sorted(unknown_ram),
            "ram_left_kb": _num(est["ram_avail_kb"] - est["ram_kb"]),
            "flash_left_kb": _num(est["flash_avail_kb"] - est["flash_kb"]),
            "power_parts_mw": power, "energy_unknown": energy_unknown,
            "duty_cycle": _num(est.get("duty_cycle", 0.0))}
