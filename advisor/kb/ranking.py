"""The catalog of ranking terms: which penalties the solver can weigh and the parameters each takes.

The weights, parameters and reasons are data (``knowledge/ranking/default.yaml``), checked against this
catalog when the knowledge base loads; the formulas are ``advisor.solve.ranking``.
"""

from __future__ import annotations

# term -> (parameters it takes, what it measures)
TERMS: dict[str, tuple[tuple[str, ...], str]] = {
    "cost": (("scale_usd",), "board price / scale_usd; an unknown price takes the median of the known ones"),
    "energy": (("scale_mj",), "log10(1 + energy per inference / scale_mj); unknown energy takes the median of "
                              "the known ones"),
    "latency": (("default_budget_ms",), "x / (1 + x) with x = latency / budget (default_budget_ms without one)"),
    "accuracy": (("share",), "share x expected accuracy loss / the acceptable drop"),
    "effort": (("retrain", "distill", "shim"), "0 for a recipe without retraining, retrain for one that "
                                               "fine-tunes the model, distill for one that trains a new student; "
                                               "plus shim when the framework has no binding in the application "
                                               "language and is called through a C/C++ wrapper"),
    "headroom": ((), "mean share of the available RAM (with the margin) and flash the stack uses"),
    "maturity": (("maintenance", "archived", "removed", "medium", "small"),
                 "framework status penalty + community-size penalty"),
    "reuse": ((), "share of the team's board (hardware prefer) and framework (framework prefer) the stack does not "
                  "keep; stacks on the existing board rank first, then those with the team's framework"),
    "risk": (("high", "critical", "rerank"), "high x HIGH risks + critical x CRITICAL risks that fire, for the "
                                             "best `rerank` stacks, which are then re-sorted"),
}


def check_ranking(ranking) -> list[tuple[tuple, str]]:
    """Problems of a ranking entry: unknown or missing terms, unknown or missing parameters."""
    problems: list[tuple[tuple, str]] = []
    for name, term in ranking.terms.items():
        if name not in TERMS:
            problems.append((("terms", name), f"unknown ranking term '{name}' (known: {', '.join(TERMS)})"))
            continue
        wanted = set(TERMS[name][0])
        for p in sorted(set(term.params) - wanted):
            problems.append((("terms", name, "params", p), f"term '{name}' takes no parameter '{p}' "
                             f"(takes: {', '.join(TERMS[name][0]) or 'none'})"))
        for p in sorted(wanted - set(term.params)):
            problems.append((("terms", name, "params"), f"term '{name}' needs parameter '{p}'"))
    for name in TERMS:
        if name not in ranking.terms:
            problems.append((("terms",), f"missing ranking term '{name}'"))
    return problems


def default_ranking(kb):
    """The knowledge base's ``default`` ranking, else the packaged one (a test knowledge base may have none)."""
    ranking = kb.rankings.get("default")
    if ranking is not None:
        return ranking
    global _PACKAGED
    if _PACKAGED is None:
        from advisor.kb.entities import Ranking
        from advisor.kb.yamlio import load_yaml_text
        from advisor.resources import KNOWLEDGE

        text = (KNOWLEDGE / "ranking" / "default.yaml").read_text(encoding="utf-8")
        _PACKAGED = Ranking.model_validate(load_yaml_text(text, "ranking/default.yaml")[0])
    return _PACKAGED


_PACKAGED = None
