"""Every bundled questionnaire gets an answer whose properties are checked independently of the solver."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from advisor.solve.advice import build_advice
from advisor.cli import app
from advisor.solve.explain import candidate_context, estimated_context, relaxations, violations, why_not
from advisor.kb.load import load_kb
from advisor.questionnaire.requirements import load_requirements
from advisor.kb.schemas import validator
from advisor.profile.basis import basis_for
from advisor.solve.solver import solve

from conftest import FIXTURES, ROOT

EXAMPLES = ROOT / "examples"
EXPECT = yaml.safe_load((FIXTURES / "example_expectations.yaml").read_text())


@pytest.fixture(scope="module")
def kb():
    return load_kb()


def test_every_example_has_expectations():
    assert sorted(p.name for p in EXAMPLES.glob("*.yaml")) == sorted(EXPECT)
    assert len(EXPECT) >= 5


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_example_answer(name: str, kb):
    expect = EXPECT[name]
    req = load_requirements(EXAMPLES / name, kb)
    sol = solve(req, kb, basis_for(req, kb))
    assert bool(sol.candidates) == (expect["exit"] == 0)
    boards = kb.boards
    for cand in sol.candidates:
        # Re-check every constraint from scratch, and the plain-language requirements directly.
        ctx = candidate_context(sol, kb, *cand.key)
        assert ctx is cand.ctx and ctx == estimated_context(sol, kb, *cand.key), cand.key  # the record is the truth
        assert violations(ctx, kb) == [], cand.key
        board, est = boards[cand.board], ctx["est"]
        assert set(req.sensors) <= set(board.sensors) and set(req.connectivity) <= set(board.connectivity)
        assert not req.unit_cost_usd or board.price_usd is None or board.price_usd <= req.unit_cost_usd
        assert est["ram_kb"] * (1 + req.memory_margin_pct / 100) <= est["ram_avail_kb"]
        assert not req.latency_budget_ms or est["latency_ms"] <= req.latency_budget_ms
        assert not req.force_board or cand.board == req.existing_board
    scores = [round(c.score, 9) for c in sol.candidates]
    assert scores == sorted(scores) and [c.rank for c in sol.candidates] == list(range(1, len(scores) + 1))
    for field, allowed in expect.get("top", {}).items():
        assert getattr(sol.candidates[0], field) in allowed, (field, sol.candidates[0].key)
    for ident, why in expect.get("why_not", {}).items():
        w = why_not(ident, sol, kb)
        assert w.best is None, f"{ident} is ranked #{w.best.rank}"
        if why["where"] == "own":
            assert why["rule"] in {v.constraint for v in w.own}, (ident, w.own)
        else:
            assert not w.own and any(why["rule"] in {v.constraint for v in found} for *_, found in w.combos)
    if expect.get("relaxations"):
        found = relaxations(sol, kb)
        assert found
        for r in found:  # each relaxation really admits the stacks it claims
            fields = r.field.split("+")
            values = r.value if isinstance(r.value, dict) else {fields[0]: r.value}
            if isinstance(getattr(req, fields[0]), tuple):
                values = {fields[0]: [v for v in getattr(req, fields[0]) if v != r.value]}
            trial = solve(req.with_context(values), kb, basis_for(req, kb))
            assert len(trial.candidates) >= r.fit >= 1, r
            assert r.best in {c.key for c in trial.candidates}


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_example_json_matches_schema_and_is_deterministic(name: str, kb):
    req = load_requirements(EXAMPLES / name, kb)
    first = build_advice(solve(req, kb, basis_for(req, kb)), kb, why=tuple(EXPECT[name].get("why_not", {}))[:2], pareto=True)
    second = build_advice(solve(req, kb, basis_for(req, kb)), kb, why=tuple(EXPECT[name].get("why_not", {}))[:2], pareto=True)
    assert first == second
    errors = sorted(validator("advice").iter_errors(json.loads(json.dumps(first))), key=str)
    assert not errors, errors[0]


def test_advise_cli_exit_codes_and_json():
    runner = CliRunner()
    ok = runner.invoke(app, ["advise", str(EXAMPLES / "kws-battery.yaml"), "--json", "--top", "3"])
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.output)
    assert len(data["recommendations"]) == 3 and data["recommendations"][0]["rank"] == 1
    none = runner.invoke(app, ["advise", str(EXAMPLES / "infeasible-tight-budget.yaml")])
    assert none.exit_code == 1
    assert "raise the RAM budget from 8 KB" in none.output


def test_pareto_front_is_not_dominated(kb):
    req = load_requirements(EXAMPLES / "kws-battery.yaml", kb)
    advice = build_advice(solve(req, kb, basis_for(req, kb)), kb, pareto=True)
    front = advice["pareto"]
    assert front
    def point(c):  # an unknown price or energy is unknown: compared only where both stacks have the figure
        return (c["price_usd"], c["estimates"]["energy_mj"] or None, c["estimates"]["latency_ms"])

    def beats(q, p):
        shared = [(a, b) for a, b in zip(q, p) if a is not None and b is not None]
        return bool(shared) and all(a <= b for a, b in shared) and any(a < b for a, b in shared)
    everyone = build_advice(solve(req, kb, basis_for(req, kb)), kb, top=10_000)["recommendations"]
    on_front = {point(f) for f in front}
    for o in everyone:  # nothing beats a front member that no one beats; every other stack a front member beats
        beaten = any(beats(point(x), point(o)) for x in everyone)
        assert point(o) in on_front if not beaten else (point(o) in on_front
                                                        or any(beats(point(f), point(o)) for f in front))


def test_weights_change_the_ranking(kb):
    req = load_requirements(EXAMPLES / "kws-battery.yaml", kb)
    from dataclasses import replace
    cheap = solve(replace(req, weights={**req.weights, "cost": 10.0}), kb, basis_for(req, kb)).candidates[0]
    fast = solve(replace(req, weights={**req.weights, "latency": 10.0, "cost": 0.0}), kb, basis_for(req, kb)).candidates[0]
    def price(board: str) -> float:
        known = kb.boards[board].price_usd
        return known if known is not None else float("inf")
    assert price(cheap.board) <= price(fast.board)
    assert fast.est["latency_ms"] <= cheap.est["latency_ms"]
