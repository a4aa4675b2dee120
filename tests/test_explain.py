"""Explanations a user can act on: closest rejected stacks, relaxations, why-not for every kind of id."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from advisor.kb.load import load_kb
from advisor.problems import ProblemError
from advisor.profile.basis import basis_for
from advisor.questionnaire.requirements import load_requirements
from advisor.solve.advice import build_advice
from advisor.solve.explain import distance, relaxations, why_not
from advisor.solve.solver import solve

KB = load_kb()


def _solve(tmp_path: Path, **fields):
    path = tmp_path / "req.yaml"
    path.write_text(yaml.safe_dump({"project": "explain", "task": "keyword-spotting", **fields}))
    req = load_requirements(path, KB)
    return solve(req, KB, basis_for(req, KB))


def test_closest_counts_stacks_rejected_at_any_stage_least_miss_first(tmp_path: Path):
    sol = _solve(tmp_path, sensors=["microphone"], memory={"ram_kb": 13})  # micro_speech: ~14 KB with the margin
    w = why_not("arduino-nano-33-ble-sense", sol, KB)
    rules = {v.constraint for _a, _b, found in w.combos for v in found}
    assert "framework-not-removed" in rules  # a framework rejected on its own still counts as a partner
    data = build_advice(sol, KB, why=("arduino-nano-33-ble-sense",))["why_not"][0]
    gaps = [c["distance"] for c in data["closest"]]
    assert gaps == sorted(gaps) and gaps[0] == min(distance(f) for _a, _b, f in w.combos)
    # a numeric miss is measured: a RAM overrun of a few per cent is closer than a missing sensor
    ram = [v for _a, _b, f in w.combos for v in f if v.constraint == "ram-fits"]
    assert ram and all(0.0 <= v.miss for v in ram) and any(v.miss < 1.0 for v in ram)


def test_relaxations_never_drop_the_sensor_the_task_needs(tmp_path: Path):
    # no board carries microphone, gas and gyroscope together; dropping the microphone alone would fit
    assert _solve(tmp_path, sensors=["gas", "gyroscope"]).candidates, "precondition: such a board exists"
    sol = _solve(tmp_path, sensors=["microphone", "gas", "gyroscope"])
    assert not sol.candidates
    changes = [r.change for r in relaxations(sol, KB)]
    assert changes and not any("drop 'microphone'" in c for c in changes), changes
    assert any("drop 'gas'" in c for c in changes), changes
    # what it offers instead keeps the microphone on the device: an external part
    moved = [r for r in relaxations(sol, KB) if "off the board" in r.change]
    assert moved and "external_sensors: [microphone]" in moved[0].change


def test_a_categorical_change_combines_with_a_budget_when_neither_alone_fits(tmp_path: Path):
    sol = _solve(tmp_path, sensors=["microphone", "gas", "gyroscope"], memory={"ram_kb": 4})
    found = relaxations(sol, KB)
    combined = [r for r in found if r.field.startswith("sensors+")]
    assert combined, [r.change for r in found]
    r = combined[0]
    assert "raise the RAM budget from 4 KB" in r.change and r.fit >= 1 and r.value["ram_budget_kb"] > 4
    assert not any("drop 'microphone'" in x.change for x in found)


def test_why_not_takes_a_reference_model(tmp_path: Path):
    sol = _solve(tmp_path, sensors=["microphone"])
    wrong = why_not("mobilenet-v1-025-vww", sol, KB)
    assert wrong.kind == "reference-model" and "not keyword-spotting" in wrong.own[0].message
    kws = sorted(m.id for m in KB.reference_models.values() if "keyword-spotting" in m.tasks)
    w = why_not(kws[-1], sol, KB)
    assert w.kind == "reference-model" and not w.own
    assert w.best is not None or w.combos
    data = build_advice(sol, KB, why=(kws[-1],))["why_not"][0]
    assert data["kind"] == "reference-model"
    with pytest.raises(ProblemError) as err:
        why_not("ds-cnn-kw", sol, KB)
    assert "reference model" in str(err.value.problems[0].message) and "ds-cnn-kws" in err.value.problems[0].message


def test_forced_framework_and_no_retraining_are_explained_and_relaxed(tmp_path: Path):
    sol = _solve(tmp_path, sensors=["microphone"], framework={"id": "tflite-micro", "mode": "force"}, retraining=False)
    assert sol.candidates and {c.framework for c in sol.candidates} == {"tflite-micro"}
    assert not any(KB.recipes[c.recipe] and c.ctx["recipe"]["retraining"] for c in sol.candidates)
    w = why_not("edge-impulse-eon", sol, KB)
    assert [v.constraint for v in w.own] == ["forced-framework"]
    w = why_not("qat-int8", sol, KB)
    assert [v.constraint for v in w.own] == ["recipe-retraining-allowed"]
    # nothing fits: Espressif's framework on a Nordic board; the relaxation names the framework
    none = _solve(tmp_path, sensors=["microphone"], framework={"id": "esp-dl", "mode": "force"},
                  hardware={"board": "arduino-nano-33-ble-sense", "mode": "force"})
    assert not none.candidates
    assert "do not force the framework esp-dl" in [r.change for r in relaxations(none, KB)]


def test_preferred_framework_ranks_first_when_feasible_and_board_gain_is_reported(tmp_path: Path):
    free = _solve(tmp_path, sensors=["microphone"], hardware={"board": "arduino-nano-33-ble-sense"})
    pref = _solve(tmp_path, sensors=["microphone"], hardware={"board": "arduino-nano-33-ble-sense"},
                  framework={"id": "edge-impulse-eon"})
    assert free.candidates[0].framework != "edge-impulse-eon", "precondition: not first on its own"
    assert pref.candidates[0].key[:2] == ("arduino-nano-33-ble-sense", "edge-impulse-eon")
    advice = build_advice(free, KB)
    board = next(p for p in advice["preferred"] if p["kind"] == "board")
    assert board["kept"]["board"] == "arduino-nano-33-ble-sense" and board["best_other"]["board"] != board["id"]
    total = sum(board["terms"].values())
    assert board["gain"] == pytest.approx(total, abs=1e-4) and "reuse" not in board["terms"]
    assert set(board["figures"]) >= {"latency_ms", "energy_mj", "price_usd"}


def test_a_preferred_framework_no_stack_can_use_is_explained_unasked(tmp_path: Path):
    sol = _solve(tmp_path, sensors=["microphone"], framework={"id": "microtvm"})  # removed upstream
    assert sol.candidates and not sol.ranked(framework="microtvm")
    advice = build_advice(sol, KB)
    why = {w["id"]: w for w in advice["why_not"]}
    assert [v["constraint"] for v in why["microtvm"]["own"]] == ["framework-not-removed"]
    pref = advice["preferred"][0]
    assert pref["kind"] == "framework" and pref["kept"] is None and pref["best_other"]["rank"] == 1


def test_pareto_front_treats_unknown_energy_as_unknown():
    from advisor.solve.solver import Candidate, pareto_front

    def cand(rank, board, energy, latency):
        return Candidate(board, "fw", "r", {"energy_mj": energy, "latency_ms": latency}, {}, 0.0, "", True, rank)
    boards = {b: {"price_usd": p, "price_known": True} for b, p in (("a", 10.0), ("b", 20.0), ("c", 30.0))}
    # b has no energy figure: cheaper and faster a beats it; as "worst" energy c (dearer, slower) would not beat it,
    # and as "unknown" it must not beat c either, since c is better on energy than nothing known
    front = pareto_front([cand(1, "a", 1.0, 10.0), cand(2, "b", 0.0, 20.0), cand(3, "c", 0.5, 30.0)], boards)
    assert [c.board for c in front] == ["a", "c"]
    # an unknown energy is not the worst: b, cheaper and faster than c, beats c whatever c's energy
    front = pareto_front([cand(1, "b", 0.0, 20.0), cand(2, "c", 0.5, 30.0)], boards)
    assert [c.board for c in front] == ["b"]
