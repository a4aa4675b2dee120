"""The advice as plain data: built once from a solution, then printed as a table or written as JSON.

Its shape is a contract (schemas/advice.schema.json); tests pin it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict

from advisor.solve.context import contexts_for
from advisor.solve.explain import Relaxation, WhyNot, pitfalls_of, relaxations, why_not
from advisor.kb.base import KnowledgeBase
from advisor.kb.ranking import TERMS, default_ranking
from advisor.solve.solver import Candidate, Solution, pareto_front

SCHEMA_ID = "https://tinyml-advisor.dev/schemas/advice.schema.json"
EST_FIELDS = ("ram_kb", "ram_avail_kb", "arena_kb", "flash_kb", "flash_avail_kb", "model_flash_kb", "latency_ms",
              "kernel", "energy_mj", "avg_power_mw", "battery_days", "accuracy_drop_pp", "uses_ext_ram")


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
        "why_not": [],
    }
    if sol.pins and not sol.candidates:  # a pinned part no stack can use: say why without being asked
        why = tuple(dict.fromkeys(why + tuple(sol.pins.values())))
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
    data["penalties"] = {k: round(v, 6) for k, v in c.penalties.items()}
    data["unknown_terms"] = sorted(c.unknown)
    data["basis"] = {"latency": c.latency_basis,
                     "operators": "checked against the framework's operator set" if c.ops_checked
                     else "not checked: the knowledge base has no operator set for this framework",
                     "model": sol.basis.note}
    data["pitfalls"] = [asdict(p) | {"sources": list(p.sources)}
                        for p in pitfalls_of(sol, kb, c.key)]
    return data


def relaxation_data(r: Relaxation) -> dict:
    return {"field": r.field, "change": r.change, "value": r.value, "fit": r.fit,
            "best": dict(zip(("board", "framework", "recipe"), r.best)) if r.best else None}


def why_not_data(w: WhyNot) -> dict:
    partners = {"board": ("framework", "recipe"), "framework": ("board", "recipe"),
                "recipe": ("board", "framework")}[w.kind]
    by_constraint: Counter = Counter()
    for _a, _b, found in w.combos:
        by_constraint.update({v.constraint for v in found})
    closest = sorted(w.combos, key=lambda x: (len(x[2]), x[0], x[1]))[:5]
    return {
        "id": w.id, "kind": w.kind,
        "ranked": w.best.rank if w.best else None,
        "own": [asdict(v) for v in w.own],
        "stacks_checked": len(w.combos),
        "by_constraint": dict(sorted(by_constraint.items(), key=lambda kv: (-kv[1], kv[0]))),
        "closest": [{partners[0]: a, partners[1]: b, "violations": [asdict(v) for v in found]}
                    for a, b, found in closest],
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
