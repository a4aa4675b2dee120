"""The constraint solver: from requirements to ranked (board, framework, recipe) candidates.

NOTE: the order matters for speed. Constraints are checked at the earliest stage the roots they
read allow (see rules.stage_of): single boards, frameworks and recipes first, then board x framework
and framework x recipe pairs, and only the survivors are enumerated as candidates, where the
estimates are computed. Each constraint's result is memoized on the values it reads, so boards that
look alike to a constraint cost one evaluation. The work grows with the feasible space, not with
the product of the domains.

Ranking: a weighted sum of penalties (lower is better; the terms are data, knowledge/ranking/); ties are broken by board
price, then latency, then board, framework and recipe id, so the order is total and deterministic.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field, replace

from advisor.solve.context import contexts_for
from advisor.perf import is_float, kernel_for, runtime_kb, throughput_for
from advisor.profile.basis import ModelBasis
from advisor.solve.estimate import RecipePart, estimate, recipe_part, unsupported_ops
from advisor.kb.base import CompiledConstraint, KnowledgeBase
from advisor.questionnaire.requirements import Requirements
from advisor.kb.ranking import default_ranking
from advisor.rules.core import EvaluationError, evaluation_problem, project
from advisor.solve import ranking



class Checker:
    """Evaluates one stage's constraints with results memoized on the values each constraint reads."""

    def __init__(self, constraints: list[CompiledConstraint]):
        self.items = [(c.constraint.id, c.holds, tuple(sorted(c.reads))) for c in constraints]
        self.memo: dict[tuple, bool] = {}
        self.evaluations = 0

    def violations(self, ctx: dict) -> list[str]:
        out = []
        for cid, holds, reads in self.items:
            key = (cid,) + tuple(_hashable(ctx[r][f]) for r, f in reads)
            ok = self.memo.get(key)
            if ok is None:
                try:
                    ok = holds(project(ctx, reads)) is True
                except EvaluationError as exc:
                    raise evaluation_problem("constraint", cid, "holds", exc) from None
                self.memo[key] = ok
                self.evaluations += 1
            if not ok:
                out.append(cid)
        return out


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


@dataclass
class Candidate:
    board: str
    framework: str
    recipe: str
    est: dict
    penalties: dict[str, float]
    score: float
    latency_basis: str
    ops_checked: bool
    rank: int = 0
    ctx: dict = field(default_factory=dict, repr=False)  # the full rule context the solver judged it on
    unknown: set = field(default_factory=set)  # terms whose figure is unknown (they took the median)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.board, self.framework, self.recipe


@dataclass
class Solution:
    req: Requirements
    basis: ModelBasis
    candidates: list[Candidate]
    rejected: dict[str, dict] = field(default_factory=dict)  # stage -> {entity key: [constraint ids]}
    rejections_by_constraint: Counter = field(default_factory=Counter)
    counts: dict[str, int] = field(default_factory=dict)
    evaluations: int = 0
    seconds: float = 0.0
    # NOTE: filled lazily by explain.pitfalls_of: the pitfalls that fire for a ranked stack, by its key.
    fired: dict = field(default_factory=dict, repr=False)
    pins: dict = field(default_factory=dict)  # board / framework / recipe the user pinned (advise --board ...)

    def candidate(self, key: tuple[str, str, str]) -> Candidate | None:
        """The ranked record for (board, framework, recipe), or None when that stack is not ranked."""
        index = getattr(self, "_by_key", None)
        if index is None:
            index = self._by_key = {c.key: c for c in self.candidates}
        return index.get(key)

    def ranked(self, board: str = "", framework: str = "", recipe: str = "") -> list[Candidate]:
        return [c for c in self.candidates if (not board or c.board == board)
                and (not framework or c.framework == framework) and (not recipe or c.recipe == recipe)]


def context_for(req_ctx: dict, model_ctx: dict, board: dict | None = None, fw: dict | None = None,
                recipe: dict | None = None, est: dict | None = None) -> dict:
    return {"req": req_ctx, "model": model_ctx, "board": board, "fw": fw, "recipe": recipe, "est": est}


def solve(req: Requirements, kb: KnowledgeBase, basis: ModelBasis) -> Solution:
    """Rank every feasible (board, framework, recipe) for ``req``; record why the others were rejected."""
    started = time.perf_counter()
    ents = contexts_for(kb)
    rk = default_ranking(kb)
    req_ctx, model_ctx = req.context(), basis.context()
    by_stage: dict[str, list[CompiledConstraint]] = {}
    for c in sorted(kb.constraints.values(), key=lambda c: c.constraint.id):
        by_stage.setdefault(c.stage, []).append(c)
    checkers = {stage: Checker(cs) for stage, cs in by_stage.items()}
    empty = Checker([])
    rejected: dict[str, dict] = {s: {} for s in ("board", "fw", "recipe", "board-fw", "fw-recipe", "board-recipe",
                                                 "candidate")}

    def unary(stage: str, items: dict) -> list[str]:
        check = checkers.get(stage, empty)
        alive = []
        for ident in sorted(items):
            ctx = context_for(req_ctx, model_ctx, **{stage: items[ident]})
            bad = check.violations(ctx)
            if bad:
                rejected[stage][ident] = bad
            else:
                alive.append(ident)
        return alive

    boards = unary("board", ents.boards)
    fws = unary("fw", ents.frameworks)
    recipes = unary("recipe", ents.recipes)

    fw_recipes: dict[str, list[str]] = {}
    check = checkers.get("fw-recipe", empty)
    for f in fws:
        fw_recipes[f] = []
        for r in recipes:
            bad = check.violations(context_for(req_ctx, model_ctx, fw=ents.frameworks[f], recipe=ents.recipes[r]))
            if bad:
                rejected["fw-recipe"][(f, r)] = bad
            else:
                fw_recipes[f].append(r)
    fws = [f for f in fws if fw_recipes[f]]

    parts: dict[str, RecipePart] = {r: recipe_part(kb.recipes[r], basis, kb) for r in recipes}
    unsupported = {(f, r): unsupported_ops(kb.frameworks[f], kb.recipes[r], basis, kb)
                   for f in fws for r in fw_recipes[f]}
    runtimes = {f: runtime_kb(kb.frameworks[f], kb) for f in fws}
    rates: dict[tuple, tuple] = {}
    pair_check = checkers.get("board-fw", empty)
    br_check = checkers.get("board-recipe", empty)
    cand_check = checkers.get("candidate", empty)
    candidates: list[Candidate] = []
    for b in boards:
        bctx, board = ents.boards[b], kb.boards[b]
        for f in fws:
            fctx = ents.frameworks[f]
            bad = pair_check.violations(context_for(req_ctx, model_ctx, board=bctx, fw=fctx))
            if bad:
                rejected["board-fw"][(b, f)] = bad
                continue
            int8_kernel = kernel_for(board, kb.frameworks[f])
            for r in fw_recipes[f]:
                rctx = ents.recipes[r]
                kernel = "reference" if is_float(kb.recipes[r]) else int8_kernel
                rate_key = (bctx["core"], kernel, bctx["npu"] or None)
                if rate_key not in rates:
                    rates[rate_key] = throughput_for(*rate_key, kb)
                rate = rates[rate_key]
                if br_check.items:
                    bad = br_check.violations(context_for(req_ctx, model_ctx, board=bctx, recipe=rctx))
                    if bad:
                        rejected["board-recipe"][(b, r)] = bad
                        continue
                ops, checked = unsupported[(f, r)]
                est = estimate(board, basis, kb.frameworks[f], kb.recipes[r], parts[r], ops, rate, kernel, req, kb, runtimes[f])
                ctx = context_for(req_ctx, model_ctx, bctx, fctx, rctx, est)
                bad = cand_check.violations(ctx)
                if bad:
                    rejected["candidate"][(b, f, r)] = bad
                    continue
                penalties = ranking.penalties(rk, req, bctx, fctx, rctx, est)
                candidates.append(Candidate(b, f, r, est, penalties, 0.0, est["latency_basis"], checked, ctx=ctx))
    ranking.fill_unknowns(candidates)
    for c in candidates:
        c.score = ranking.score(req.weights, c.penalties)
    fired = _rank(candidates, ents.boards, req, rk, kb)
    for i, c in enumerate(candidates, 1):
        c.rank = i
    by_constraint: Counter = Counter()
    for stage, items in rejected.items():
        for bad in items.values():
            by_constraint.update(bad)
    solution = Solution(req, basis, candidates, rejected, by_constraint)
    solution.fired.update(fired)
    solution.counts = {"boards": len(ents.boards), "frameworks": len(ents.frameworks), "recipes": len(ents.recipes),
                       "boards_feasible_alone": len(boards), "frameworks_feasible_alone": len(fws),
                       "recipes_feasible_alone": len(recipes), "candidates": len(candidates)}
    solution.evaluations = sum(c.evaluations for c in checkers.values())
    solution.seconds = time.perf_counter() - started
    return solution


def pinned(sol: Solution, board: str = "", framework: str = "", recipe: str = "") -> Solution:
    """``sol`` with only the stacks made of the pinned board, framework and recipe, ranked again from 1.

    The rejections stay those of the whole problem, so "why not" still explains a pinned part that no stack
    could use. Ids must exist (the caller checks them).
    """
    if not (board or framework or recipe):
        return sol
    kept = sol.ranked(board=board, framework=framework, recipe=recipe)
    out = Solution(sol.req, sol.basis, [replace(c, rank=i) for i, c in enumerate(kept, 1)], sol.rejected,
                   sol.rejections_by_constraint, dict(sol.counts, candidates=len(kept)), sol.evaluations,
                   sol.seconds)
    out.fired.update(sol.fired)
    out.pins = {k: v for k, v in (("board", board), ("framework", framework), ("recipe", recipe)) if v}
    return out


def _price(board: dict) -> float:
    """The board's price for ordering; an unknown price sorts after every known one."""
    return board["price_usd"] if board["price_known"] else math.inf


def _order(c: Candidate, boards: dict, req: Requirements) -> tuple:
    # NOTE: the team's board first, then (within each tier) the team's framework, then the score.
    first = 0 if not ranking.first_on_existing_board(req) or c.board == req.existing_board else 1
    own_fw = 0 if not ranking.first_with_preferred_framework(req) or c.framework == req.framework else 1
    return (first, own_fw, round(c.score, 9), _price(boards[c.board]), c.est["latency_ms"], c.board, c.framework,
            c.recipe)


def _rank(candidates: list[Candidate], boards: dict, req: Requirements, rk, kb: KnowledgeBase) -> dict:
    """Sort the candidates; then add the risk term to the best ``rerank`` of them and sort again.

    NOTE: the pitfalls of every candidate would cost a rule pass each; the risk term can only move a stack down,
    so evaluating it for the best ones by the other terms is enough to order the top of the list right.
    Returns:
        The fired pitfalls of the stacks evaluated, by key (the solution keeps them for its explanations).
    """
    from advisor.solve.risks import pitfalls_for

    candidates.sort(key=lambda c: _order(c, boards, req))
    fired: dict = {}
    if req.weights.get("risk", 0.0) > 0:
        top = int(rk.terms["risk"].params["rerank"])
        while True:  # until the best ``top`` all carry their risk term (each pass evaluates at least one more)
            fresh = [c for c in candidates[:top] if c.key not in fired]
            if not fresh:
                break
            for c in fresh:
                found = pitfalls_for(c.ctx, kb)
                fired[c.key] = found
                c.penalties["risk"] = ranking.risk_penalty(rk, [p.severity for p in found])
                c.score = ranking.score(req.weights, c.penalties)
            candidates.sort(key=lambda c: _order(c, boards, req))
    return fired


def pareto_front(candidates: list[Candidate], boards: dict) -> list[Candidate]:
    """Candidates no other candidate beats on cost, energy and latency at once.

    An unknown price or energy is unknown, neither best nor worst: two stacks are compared only on the
    measures both of them have, so a stack without an energy figure is beaten by one that is cheaper and
    faster, and beats one that is dearer and slower, whatever either's energy.
    """
    def point(c: Candidate) -> tuple:
        price = _price(boards[c.board])
        return (None if math.isinf(price) else price, c.est["energy_mj"] or None, c.est["latency_ms"])

    def beats(q: tuple, p: tuple) -> bool:
        shared = [i for i in range(3) if q[i] is not None and p[i] is not None]
        return bool(shared) and all(q[i] <= p[i] for i in shared) and any(q[i] < p[i] for i in shared)

    best: dict[tuple, Candidate] = {}  # NOTE: one candidate per point, the best-ranked one
    for c in sorted(candidates, key=lambda c: c.rank):
        best.setdefault(point(c), c)
    points = list(best)
    # NOTE: comparing on shared measures is not transitive (a beats b on price and latency, b beats c, yet a
    # does not beat c, which uses less energy), so a point leaves the front only when a point on the front
    # beats it: first the points nothing beats, then, best-ranked first, those none of the front beats.
    front = [p for p in points if not any(beats(q, p) for q in points if q is not p)]
    for p in points:
        if p not in front and not any(beats(q, p) for q in front):
            front.append(p)
    return sorted((best[p] for p in front), key=lambda c: c.rank)
