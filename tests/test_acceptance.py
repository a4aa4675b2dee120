"""Scores today's advice on real, publicly documented deployments (tests/acceptance/*.yaml).

Each file holds the questionnaire as its authors would have filled it in (only constraints the sources
state), what they deployed and the problems they hit, with the sources. The test prints the score table
and fails when a score falls below its floor: the floors are the scores measured when the suite landed
(issue 11 raises them to its goal of 80 / 80 / 80 / 70 %), so advice can only get better.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from advisor.kb.load import load_kb
from advisor.profile.basis import basis_for
from advisor.questionnaire.requirements import load_requirements
from advisor.solve.explain import pitfalls_of
from advisor.solve.solver import solve

CASES = sorted((Path(__file__).parent / "acceptance").glob("*.yaml"))
# Hits per measure as last measured on main (landed at 17 / 10 / 1 / 0; the ranking terms of
# knowledge/ranking/ raised compression to 20 and boards to 19; interop-aware constraints boards to 21 and
# frameworks to 11; the questionnaire's framework / retraining / external_sensors fields, filled in where the
# sources state them, and the pitfalls that foresee the problems hit raised them to 23 / 20 / 20 / 3).
# NOTE: most framework hits now come from a framework the case's sources name (framework: prefer); the table
# also prints the hits among cases that name none, which is what the ranking alone decides.
FLOORS = {"board in top 3": 24, "framework top-1": 21, "compression top-1": 21, "problems flagged": 3}
GOALS = {"board in top 3": 0.80, "framework top-1": 0.80, "compression top-1": 0.80, "problems flagged": 0.70}
KB = load_kb()


def _score(case: dict, tmp: Path) -> dict:
    path = tmp / f"{case['id']}.yaml"
    path.write_text(yaml.safe_dump(case["requirements"], sort_keys=False))
    req = load_requirements(path, KB)
    sol = solve(req, KB, basis_for(req, KB))
    boards = list(dict.fromkeys(c.board for c in sol.candidates))[:3]
    top = sol.candidates[0] if sol.candidates else None
    deployed = case["deployed"]
    fired = {p.id for p in pitfalls_of(sol, KB, top.key)} if top else set()
    known = [p["pitfall"] for p in case.get("problems_hit") or [] if p.get("pitfall")]
    return {
        "board in top 3": None if not deployed["board"] else deployed["board"] in boards,
        "framework top-1": None if not deployed["framework"] else bool(top) and top.framework == deployed["framework"],
        "compression top-1": None if not deployed["compression"] else bool(top) and top.recipe == deployed["compression"],
        "problems flagged": None if not known else all(p in fired for p in known),
        "advice": f"{top.board} + {top.framework} + {top.recipe}" if top else "nothing fits",
        "framework stated": bool(case["requirements"].get("framework")),
    }


def test_every_case_names_its_sources_and_known_ids():
    assert len(CASES) >= 20
    for path in CASES:
        case = yaml.safe_load(path.read_text())
        assert case["id"] == path.stem and case["sources"], path.name
        assert all(s["ref"].startswith(("https://", "github:")) for s in case["sources"]), path.name
        d = case["deployed"]
        assert d["board"] is None or d["board"] in KB.boards, path.name
        assert d["framework"] is None or d["framework"] in KB.frameworks, path.name
        assert d["compression"] is None or d["compression"] in KB.recipes, path.name
        for p in case.get("problems_hit") or []:
            assert p["pitfall"] is None or p["pitfall"] in KB.pitfalls, path.name
        # a field only some sources state says in the notes where it is stated
        for stated in ("framework", "retraining", "external_sensors"):
            if stated in case["requirements"]:
                assert f"{stated} " in case.get("notes", "") or f"{stated}:" in case.get("notes", ""), \
                    (path.name, stated)


def test_advice_on_real_deployments_scores_at_least_its_floor(tmp_path: Path, capsys):
    rows = []
    for path in CASES:
        case = yaml.safe_load(path.read_text())
        rows.append((case["id"], _score(case, tmp_path)))
    marks = {True: "yes", False: "no", None: "-"}
    with capsys.disabled():
        print(f"\n{'deployment':<58} board fw   comp prob  advice")
        for ident, s in rows:
            print(f"{ident:<58} {marks[s['board in top 3']]:<5} {marks[s['framework top-1']]:<4} "
                  f"{marks[s['compression top-1']]:<4} {marks[s['problems flagged']]:<5} {s['advice']}")
        for measure in FLOORS:
            scored = [s[measure] for _i, s in rows if s[measure] is not None]
            print(f"{measure}: {sum(scored)}/{len(scored)} = {sum(scored) / max(len(scored), 1):.0%} "
                  f"(floor {FLOORS[measure]}, goal {GOALS[measure]:.0%})")
        unstated = [s["framework top-1"] for _i, s in rows
                    if s["framework top-1"] is not None and not s["framework stated"]]
        print(f"  framework top-1 where the questionnaire names no framework: {sum(unstated)}/{len(unstated)}")
    low = {m: sum(bool(s[m]) for _i, s in rows) for m in FLOORS}
    assert all(low[m] >= FLOORS[m] for m in FLOORS), low
