"""Explanations from the solver's record: fired pitfalls, "why not X", and the smallest relaxations.

Everything here re-reads the same constraints and contexts the solver used, so an explanation
cannot disagree with the ranking.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from advisor.solve.context import contexts_for
from advisor.perf import is_float, kernel_for, runtime_kb, throughput_for
from advisor.solve.estimate import (estimate, recipe_part,
                       unsupported_ops)
from advisor.kb.base import KnowledgeBase
from advisor.kb.entities import SEVERITIES
from advisor.problems import Problem, ProblemError, did_you_mean
from advisor.profile.basis import basis_for
from advisor.rules.core import EvaluationError, evaluation_problem, fields_read, format_value, project, vocabulary
from advisor.solve.risks import FiredPitfall, pitfalls_for  # noqa: F401 - re-exported
from advisor.solve.solver import Candidate, Solution, context_for, solve

STAGE_ORDER = ("board", "fw", "recipe", "board-fw", "fw-recipe", "board-recipe", "candidate")


@dataclass(frozen=True)
class Violation:
    constraint: str
    name: str
    message: str
    # NOTE: how far the stack is from meeting it: the relative change a numeric budget needs (0.25 = 25 %),
    # 1.0 for a categorical rule (a whole change of board, framework, recipe or requirement).
    miss: float = 1.0


# The limit a numeric constraint's need is compared with, when it is not the requirement field itself
# (a RAM or flash budget left out means the board's memory).
LIMIT_FROM = {"ram_budget_kb": "ram_avail_kb", "flash_budget_kb": "flash_avail_kb"}


def candidate_context(sol: Solution, kb: KnowledgeBase, board: str, fw: str, recipe: str) -> dict:
    """The full rule context of one (board, framework, recipe), feasible or not.

    A ranked stack's context is the solver's own record; any other is estimated the way the solver would.
    """
    ranked = sol.candidate((board, fw, recipe))
    if ranked is not None and ranked.ctx:
        return ranked.ctx
    return estimated_context(sol, kb, board, fw, recipe)


def estimated_context(sol: Solution, kb: KnowledgeBase, board: str, fw: str, recipe: str) -> dict:
    """The rule context of one stack estimated from scratch, as the solver estimates it."""
    return stack_context(sol.req, sol.basis, kb, board, fw, recipe)


def stack_context(req, basis, kb: KnowledgeBase, board: str, fw: str, recipe: str) -> dict:
    """The rule context of (board, framework, recipe) for ``req`` and the model ``basis``, feasible or not."""
    ents = contexts_for(kb)
    b, f, r = kb.boards[board], kb.frameworks[fw], kb.recipes[recipe]
    kernel = "reference" if is_float(r) else kernel_for(b, f)
    rate = throughput_for(b.mcu.main_core.core, kernel, b.npu.kind if b.npu else None, kb)
    ops, _checked = unsupported_ops(f, r, basis, kb)
    est = estimate(b, basis, f, r, recipe_part(r, basis, kb), ops, rate, kernel, req, kb, runtime_kb(f, kb))
    return context_for(req.context(), basis.context(), ents.boards[board], ents.frameworks[fw],
                       ents.recipes[recipe], est)


def violations(ctx: dict, kb: KnowledgeBase, stages: tuple[str, ...] = STAGE_ORDER) -> list[Violation]:
    """Every constraint of ``stages`` that ``ctx`` violates, with its explanation rendered."""
    out = []
    for c in sorted(kb.constraints.values(), key=lambda c: (STAGE_ORDER.index(c.stage), c.constraint.id)):
        if c.stage not in stages:
            continue
        try:
            if c.holds(project(ctx, c.reads)) is not True:
                out.append(Violation(c.constraint.id, c.constraint.name, c.explain.render(ctx), _miss(c, ctx, kb)))
        except EvaluationError as exc:
            raise evaluation_problem("constraint", c.constraint.id, "holds", exc, kb.where.get(c.constraint.id)) from None
    return out


def _miss(c, ctx: dict, kb: KnowledgeBase) -> float:
    """How far ``ctx`` is from meeting the violated constraint ``c`` (see Violation.miss)."""
    if not (c.constraint.relax and c.need is not None):
        return 1.0
    name = c.constraint.relax.field.partition(".")[2]
    if name not in NUMERIC:
        return 1.0
    limit = ctx["req"].get(name, 0.0)
    if limit == NUMERIC[name][0] and name in LIMIT_FROM and ctx.get("est"):
        limit = ctx["est"][LIMIT_FROM[name]]
    try:
        need = float(c.need(ctx))
    except (EvaluationError, TypeError, ValueError):
        return 1.0
    if not limit or limit <= 0 or need < 0:
        return 1.0
    return round(abs(need / limit - 1.0), 6)


def pitfalls_of(sol: Solution, kb: KnowledgeBase, key: tuple[str, str, str]) -> list[FiredPitfall]:
    """The pitfalls that fire for a stack, computed once per solution from its record."""
    if key not in sol.fired:
        sol.fired[key] = pitfalls_for(candidate_context(sol, kb, *key), kb)
    return sol.fired[key]


@dataclass
class WhyNot:
    """Why one board, framework or recipe is not (or not higher) in the ranking."""

    id: str
    kind: str  # board | framework | recipe | reference-model
    best: Candidate | None  # its best-ranked candidate, when it has one
    own: list[Violation] = field(default_factory=list)  # violated on its own (no partner needed)
    combos: list[tuple[str, str, list[Violation]]] = field(default_factory=list)  # (partner a, partner b, why)


def why_not(entity_id: str, sol: Solution, kb: KnowledgeBase) -> WhyNot:
    """Every violated rule, with the numbers, for every stack the entity could be part of.

    Partners rejected at any stage count (a board without the sensor, a recipe the data does not allow), so the
    closest stacks are those that miss the least, wherever they fail.

    Raises:
        ProblemError: the id is no board, framework, recipe or reference model.
    """
    kind = kb.kind_of(entity_id)
    if kind == "reference-model":
        return _why_not_model(entity_id, sol, kb)
    if kind not in ("board", "framework", "recipe"):
        known = list(kb.boards) + list(kb.frameworks) + list(kb.recipes) + list(kb.reference_models)
        raise ProblemError([Problem("--why-not", 0, "", f"unknown board, framework, recipe or reference model "
                                    f"'{entity_id}'{did_you_mean(entity_id, known)}", "usage")])
    ranked = sol.ranked(**{kind: entity_id})
    result = WhyNot(entity_id, kind, ranked[0] if ranked else None)
    ents = contexts_for(kb)
    req_ctx, model_ctx = sol.req.context(), sol.basis.context()
    root = {"board": "board", "framework": "fw", "recipe": "recipe"}[kind]
    table = {"board": ents.boards, "framework": ents.frameworks, "recipe": ents.recipes}[kind]
    own_ctx = context_for(req_ctx, model_ctx, **{root: table[entity_id]})
    result.own = violations(own_ctx, kb, (root,))
    if result.own:
        return result
    boards = [entity_id] if kind == "board" else sorted(kb.boards)
    fws = [entity_id] if kind == "framework" else sorted(kb.frameworks)
    recipes = [entity_id] if kind == "recipe" else sorted(kb.recipes)
    ranked_keys = {c.key for c in ranked}
    for b in boards:
        for f in fws:
            for r in recipes:
                if (b, f, r) in ranked_keys:
                    continue
                found = violations(candidate_context(sol, kb, b, f, r), kb)
                partners = tuple(x for x, k in ((b, "board"), (f, "framework"), (r, "recipe")) if k != kind)
                result.combos.append((partners[0], partners[1], found))
    return result


def distance(found: list[Violation]) -> float:
    """How little a rejected stack misses: the sum of its violations' misses (see Violation.miss)."""
    return round(sum(v.miss for v in found), 6)


def _why_not_model(model_id: str, sol: Solution, kb: KnowledgeBase) -> WhyNot:
    """Why not estimate (and deploy) this reference model instead: the same questionnaire solved with it."""

    ref = kb.reference_models[model_id]
    result = WhyNot(model_id, "reference-model", None)
    if sol.req.task not in ref.tasks:
        result.own.append(Violation("model-task", "The model is made for the project's task",
                                    f"{model_id} is for {', '.join(ref.tasks)}, not {sol.req.task}"))
        return result
    req = replace(sol.req, reference_model=model_id, model_source="reference", model_file=None)
    trial = solve(req, kb, basis_for(req, kb))
    result.best = trial.candidates[0] if trial.candidates else None
    found = []
    # NOTE: only the stacks that fail fewest rules are re-estimated; the closest are among them.
    rejected = sorted(trial.rejected["candidate"].items(), key=lambda kv: (len(kv[1]), kv[0]))[:50]
    for key, _ids in rejected:
        ctx = stack_context(req, trial.basis, kb, *key)
        found.append((distance(v := violations(ctx, kb, ("candidate",))), key, v))
    found.sort(key=lambda x: (x[0], x[1]))
    result.combos = [(f"{b} + {f}", r, v) for _d, (b, f, r), v in found]
    return result


@dataclass(frozen=True)
class Relaxation:
    field: str
    change: str  # what to change, in words
    value: object  # the new value
    fit: int  # how many stacks then fit
    best: tuple[str, str, str] | None


# Numeric requirement fields: (the value that means "no limit", whether loosening means raising it).
NUMERIC = {"ram_budget_kb": (0.0, True), "flash_budget_kb": (0.0, True), "unit_cost_usd": (0.0, True),
           "latency_budget_ms": (0.0, True), "power_budget_mw": (0.0, True),
           "max_accuracy_drop_pp": (100.0, True), "lifetime_days": (0.0, False)}
LABELS = {"ram_budget_kb": ("RAM budget", "KB"), "flash_budget_kb": ("flash budget", "KB"),
          "unit_cost_usd": ("unit cost ceiling", "USD"), "latency_budget_ms": ("latency budget", "ms"),
          "power_budget_mw": ("power budget", "mW"), "max_accuracy_drop_pp": ("acceptable accuracy drop", "points"),
          "lifetime_days": ("required battery lifetime", "days")}


# The sensor each input kind cannot do without: a relaxation never drops it (keyword spotting without a
# microphone is no keyword spotting); it offers to add it off the board instead (external_sensors). The
# board-has-sensors sources: micro_speech captures audio from a microphone, person_detection images from a camera.
NEEDED_SENSOR = {"audio": "microphone", "image": "camera"}


def relaxations(sol: Solution, kb: KnowledgeBase) -> list[Relaxation]:
    """Single requirement changes (or, when none suffices, pairs of numeric budgets, then a categorical change
    together with one budget) that make at least one stack feasible, each with the least change needed; most
    stacks admitted first. A sensor the task's input needs is never dropped."""
    fields = sorted({c.constraint.relax.field.partition(".")[2] for c in kb.constraints.values()
                     if c.constraint.relax})
    found: list[Relaxation] = []
    req = sol.req
    categorical = _categorical(fields, req)
    for name in fields:
        if name in NUMERIC:
            found += _numeric((name,), sol, kb)
    for name, value, what in categorical:
        trial = solve(req.with_context(_changes(req, name, value)), kb, sol.basis)
        if trial.candidates:
            found.append(Relaxation(name, what, value, len(trial.candidates), trial.candidates[0].key))
    if not found:
        tight = [n for n in fields if n in NUMERIC and getattr(req, n) != NUMERIC[n][0]]
        for i, a in enumerate(tight):
            for b in tight[i + 1:]:
                found += _numeric((a, b), sol, kb)
    if not found:
        found += _combined(categorical, [n for n in fields if n in NUMERIC], sol, kb)
    found.sort(key=lambda r: (-r.fit, r.field, str(r.value)))
    return found


def _categorical(fields: list[str], req) -> list[tuple[str, object, str]]:
    """Every single non-numeric change that loosens a requirement: (field, new value, what to do in words)."""
    out: list[tuple[str, object, str]] = []
    for name in fields:
        current = getattr(req, name)
        if name in NUMERIC:
            continue
        if isinstance(current, tuple):
            for item in current:
                rest = [v for v in current if v != item]
                if name == "sensors" and NEEDED_SENSOR.get(req.input_kind) == item:
                    # the task cannot do without it, but it need not sit on the board
                    what = (f"add the {item} off the board (external_sensors: [{item}]) instead of requiring it "
                            "on the board")
                    out.append((name, rest, what))
                    continue
                out.append((name, rest, f"drop '{item}' from {name}"))
        elif isinstance(current, bool):
            if current:
                what = {"force_board": f"do not force the board {req.existing_board}",
                        "force_framework": f"do not force the framework {req.framework}",
                        "post_training_only": "allow retraining (retraining: true)"}.get(name, f"set {name} to false")
                out.append((name, False, what))
        else:
            out += [(name, value, f"use {name} '{value}' instead of '{current}'")
                    for value in _alternatives(name) if value != current]
    return out


def _changes(req, name: str, value) -> dict:
    """The requirement fields one categorical change sets: a sensor taken off the board's list stays on the
    device when the task needs it (it moves to external_sensors)."""
    changes = {name: value}
    if name == "sensors":
        moved = [s for s in req.sensors if s not in value and NEEDED_SENSOR.get(req.input_kind) == s]
        if moved:
            changes["external_sensors"] = list(req.external_sensors) + moved
    return changes


def _combined(categorical: list, numeric: list[str], sol: Solution, kb: KnowledgeBase) -> list[Relaxation]:
    """A categorical change together with the least change of one budget, when neither alone is enough."""
    out = []
    for name, value, what in categorical:
        changed = replace(sol, req=sol.req.with_context(_changes(sol.req, name, value)))
        for n in numeric:
            for r in _numeric((n,), changed, kb):
                shown = value if not isinstance(value, list) else [v for v in getattr(sol.req, name) if v not in value]
                out.append(Relaxation(f"{name}+{n}", f"{what} and {r.change}", {name: shown, n: r.value}, r.fit,
                                      r.best))
    return out


def _alternatives(name: str) -> list[str]:
    enum = vocabulary()["req"][name].enum
    return sorted(enum) if enum else []


def _numeric(names: tuple[str, ...], sol: Solution, kb: KnowledgeBase) -> list[Relaxation]:
    """Loosen numeric fields together: the least change (relative to today's values) that admits a stack."""
    req = sol.req
    if any(getattr(req, n) == NUMERIC[n][0] for n in names):
        return []
    trial = solve(req.with_context({n: NUMERIC[n][0] for n in names}), kb, sol.basis)
    if not trial.candidates:
        return []
    options = []
    for cand in trial.candidates:
        ctx = candidate_context(sol, kb, *cand.key)
        needs = {}
        for n in names:
            raise_ = NUMERIC[n][1]
            values = []
            for c in kb.constraints.values():
                if c.constraint.relax and c.need is not None and c.constraint.relax.field == f"req.{n}":
                    try:
                        values.append(float(c.need(ctx)))
                    except EvaluationError as exc:
                        raise evaluation_problem("constraint", c.constraint.id, "relax.need", exc,
                                                 kb.where.get(c.constraint.id)) from None
            value = (max(values) if raise_ else min(values)) if values else getattr(req, n)
            # NOTE: a stack that already meets today's value needs no change in that field.
            value = max(value, getattr(req, n)) if raise_ else min(value, getattr(req, n))
            needs[n] = _round(value, raise_)
        change = sum(abs(needs[n] / getattr(req, n) - 1.0) for n in names)
        options.append((change, cand.rank, needs, cand))
    options.sort(key=lambda o: (o[0], o[1]))
    _, _, chosen, cand = options[0]
    fit = sum(1 for _, _, needs, _ in options
              if all((needs[n] <= chosen[n]) if NUMERIC[n][1] else (needs[n] >= chosen[n]) for n in names))
    words = []
    for n in names:
        label, unit = LABELS[n]
        if chosen[n] != getattr(req, n):
            words.append(f"{'raise' if NUMERIC[n][1] else 'lower'} the {label} from "
                         f"{format_value(getattr(req, n))} {unit} to {format_value(chosen[n])} {unit}")
    if len(words) < len(names):
        return []  # one of the fields did not need to change: the smaller relaxation is reported on its own
    return [Relaxation("+".join(names), " and ".join(words), chosen if len(names) > 1 else chosen[names[0]],
                       fit, cand.key)]


def _round(value: float, up: bool) -> float:
    """A value people can type that still admits the stack: 2 significant digits, rounded the safe way."""
    if value <= 0:
        return value
    step = 10.0 ** (math.floor(math.log10(value)) - 1)
    return round((math.ceil(value / step - 1e-9) if up else math.floor(value / step + 1e-9)) * step, 10)
