"""The ranking terms' formulas: one penalty per term, lower is better.

The terms and their parameters are the catalog ``advisor.kb.ranking``; weights, parameters and the reason for
each are data (``knowledge/ranking/default.yaml``). A questionnaire's ``weights`` replace the data's weights.
"""

from __future__ import annotations

import math
import statistics

from advisor.kb.entities import Ranking

UNKNOWN = math.nan  # a price or energy the knowledge base does not have: filled in with the median later


def penalties(rk: Ranking, req, board: dict, fw: dict, recipe: dict, est: dict) -> dict[str, float]:
    """Each term's penalty for one candidate (``risk`` is 0 here: it is added for the best stacks later)."""
    p = {name: term.params for name, term in rk.terms.items()}
    energy = est["energy_mj"]
    x = est["latency_ms"] / (req.latency_budget_ms or p["latency"]["default_budget_ms"])
    margin = 1.0 + req.memory_margin_pct / 100.0
    shares = [min(1.0, est["ram_kb"] * margin / est["ram_avail_kb"]) if est["ram_avail_kb"] else 1.0,
              min(1.0, est["flash_kb"] / est["flash_avail_kb"]) if est["flash_avail_kb"] else 1.0]
    techniques = recipe["techniques"]
    effort = 0.0
    if recipe["retraining"]:
        effort = p["effort"]["distill"] if "knowledge-distillation" in techniques else p["effort"]["retrain"]
    status = {"active": 0.0, "maintenance": p["maturity"]["maintenance"], "archived": p["maturity"]["archived"],
              "removed": p["maturity"]["removed"]}[fw["status"]]
    community = {"large": 0.0, "medium": p["maturity"]["medium"], "small": p["maturity"]["small"]}[fw["community"]]
    if req.language not in fw["languages"]:
        effort += p["effort"]["shim"]  # feasible only through the C/C++ interop (framework-language)
    allowed = req.max_accuracy_drop_pp or 1.0
    return {
        "cost": board["price_usd"] / p["cost"]["scale_usd"] if board["price_known"] else UNKNOWN,
        "energy": math.log10(1.0 + energy / p["energy"]["scale_mj"]) if energy > 0 else UNKNOWN,
        "latency": x / (1.0 + x),
        "accuracy": p["accuracy"]["share"] * est["accuracy_drop_pp"] / allowed,
        "effort": effort,
        "headroom": sum(shares) / len(shares),
        "maturity": status + community,
        "reuse": _reuse(req, board, fw),
        "risk": 0.0,
    }


def fill_unknowns(candidates) -> dict[str, float]:
    """Give each unknown cost or energy the median of the known ones (0 when none is known); return the medians.

    NOTE: runs once every candidate is estimated, because the median depends on all of them.
    """
    medians = {}
    for term in ("cost", "energy"):
        known = [c.penalties[term] for c in candidates if not math.isnan(c.penalties[term])]
        medians[term] = statistics.median(known) if known else 0.0
        for c in candidates:
            if math.isnan(c.penalties[term]):
                c.penalties[term] = medians[term]
                c.unknown.add(term)
    return medians


def score(weights: dict[str, float], penalties_: dict[str, float]) -> float:
    return sum(weights[k] * v for k, v in penalties_.items())


def risk_penalty(rk: Ranking, severities: list[str]) -> float:
    p = rk.terms["risk"].params
    return p["high"] * severities.count("high") + p["critical"] * severities.count("critical")


def _reuse(req, board: dict, fw: dict) -> float:
    """1 for each of the team's board and framework the stack does not keep, averaged over those it has."""
    misses = [board["id"] != req.existing_board for have in (req.existing_board,) if have] + \
        [fw["id"] != req.framework for have in (req.framework,) if have]
    return sum(misses) / len(misses) if misses else 0.0


def first_on_existing_board(req) -> bool:
    """Stacks on the team's board rank before all others (hardware mode prefer, reuse weight above 0)."""
    return bool(req.existing_board) and req.weights.get("reuse", 0.0) > 0


def first_with_preferred_framework(req) -> bool:
    """Stacks with the team's framework rank before the others on the same board tier (framework mode prefer,
    reuse weight above 0)."""
    return bool(req.framework) and req.weights.get("reuse", 0.0) > 0
