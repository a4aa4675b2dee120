"""How `advise` scales with the number of boards: synthetic knowledge bases of 100, 1,000 and 10,000 boards.

The boards are deterministic variants of the real ones (same cores, frameworks and OS lists; price,
clock, SRAM, flash and sensors varied with a fixed seed); frameworks, recipes, constraints and
pitfalls are the real ones. Prints, per size: the first call's time, the solve time, the time of the whole answer
(solve + top-5 explanations + Pareto front), candidates found, constraint evaluations, and the
ratio of each time to the previous size's. Growth no worse than linear means a ratio <= ~10 for
each 10x step.

Run: python bench/advise_scaling.py [--load]   (--load also writes the boards as YAML and times
loading and validating them, which dominates for 10,000 files, and loading them again from the
compiled knowledge-base cache, as every command after the first does.)
"""

from __future__ import annotations

import argparse
import copy
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from advisor.solve.advice import build_advice  # noqa: E402
from advisor.kb.base import KnowledgeBase  # noqa: E402
from advisor.kb.load import load_kb  # noqa: E402
from advisor.questionnaire.requirements import load_requirements  # noqa: E402
from advisor.profile.basis import basis_for  # noqa: E402
from advisor.solve.solver import solve  # noqa: E402

SIZES = (100, 1_000, 10_000)
SRAM_CHOICES = (64, 128, 192, 256, 320, 384, 512, 640, 1024, 2048)
FLASH_CHOICES = (256, 512, 1024, 2048, 4096)


def synthetic_boards(kb: KnowledgeBase, n: int, seed: int = 7) -> dict:
    """``n`` board variants of the real boards, deterministic for a seed."""
    rng = random.Random(seed)
    real = [kb.boards[i] for i in sorted(kb.boards)]
    sensors = sorted({s for b in real for s in b.sensors})
    out = {}
    for i in range(n):
        base = real[i % len(real)]
        data = base.model_dump(by_alias=True)
        data["id"] = f"{base.id}-s{i:05d}"
        factor = rng.uniform(0.5, 2.0)  # NOTE: drawn for every board, so the sequence does not depend on the data
        data["price_usd"] = round(base.price_usd * factor, 2) if base.price_usd is not None else None
        data["sram_kb"] = float(rng.choice(SRAM_CHOICES))
        if base.flash_kb:
            data["flash_kb"] = float(rng.choice(FLASH_CHOICES))
        scale = rng.choice((0.5, 0.75, 1.0, 1.5))
        data["mcu"]["cores"] = [dict(c, clock_mhz=round(c["clock_mhz"] * scale)) for c in data["mcu"]["cores"]]
        data["mcu"]["max_clock_mhz"] = max(c["clock_mhz"] for c in data["mcu"]["cores"])
        data["sensors"] = sorted(set(base.sensors) | set(rng.sample(sensors, rng.randint(0, 2))))
        out[data["id"]] = type(base).model_validate(data)
    return out


def with_boards(kb: KnowledgeBase, boards: dict) -> KnowledgeBase:
    new = copy.copy(kb)
    new.entities = dict(kb.entities)
    new.entities["board"] = boards
    for attr in ("_entity_contexts", "_throughput_table", "_pitfall_reads"):
        new.__dict__.pop(attr, None)
    return new


def time_advise(kb: KnowledgeBase, questionnaire: Path, repeat: int = 3) -> tuple[float, float, float, int, int]:
    req = load_requirements(questionnaire, kb)
    t0 = time.perf_counter()
    build_advice(solve(req, kb, basis_for(req, kb)), kb, top=5, pareto=True)  # first call also builds the per-KB contexts
    first = time.perf_counter() - t0
    best_solve = best_all = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        sol = solve(req, kb, basis_for(req, kb))
        t1 = time.perf_counter()
        build_advice(sol, kb, top=5, pareto=True)
        t2 = time.perf_counter()
        best_solve, best_all = min(best_solve, t1 - t0), min(best_all, t2 - t0)
    return first, best_solve, best_all, len(sol.candidates), sol.evaluations


def time_load(kb: KnowledgeBase, boards: dict) -> tuple[float, float]:
    """(load and validate from YAML, load from the compiled cache) seconds for the boards written as YAML."""
    import os

    import yaml

    from advisor.kb.cache import load_cached
    tmp = Path(tempfile.mkdtemp())
    os.environ["TINYML_ADVISOR_CACHE"] = str(tmp / "cache")
    try:
        shutil.copytree(ROOT / "advisor" / "knowledge", tmp / "knowledge")
        shutil.copytree(ROOT / "advisor" / "recipes", tmp / "recipes")
        for board in boards.values():
            data = board.model_dump(by_alias=True, exclude_none=True) | {"price_usd": board.price_usd}  # null is a fact
            (tmp / "knowledge" / "boards" / f"{board.id}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        t0 = time.perf_counter()
        load_kb(tmp / "knowledge")
        t1 = time.perf_counter()
        load_cached(tmp / "knowledge")  # a miss: loads again and writes the entry
        t2 = time.perf_counter()
        _kb, hit = load_cached(tmp / "knowledge")
        assert hit
        return t1 - t0, time.perf_counter() - t2
    finally:
        shutil.rmtree(tmp)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", action="store_true", help="also time loading the boards from YAML")
    parser.add_argument("--questionnaire", type=Path, default=ROOT / "examples" / "kws-battery.yaml")
    args = parser.parse_args()
    kb = load_kb()
    print(f"questionnaire: {args.questionnaire.relative_to(ROOT)}; real KB: {len(kb.boards)} boards, "
          f"{len(kb.frameworks)} frameworks, {len(kb.recipes)} recipes, {len(kb.constraints)} constraints")
    header = f"{'boards':>7} {'first s':>8} {'solve s':>8} {'advise s':>9} {'ratio':>6} {'stacks':>7} {'evals':>7}"
    print(header + ("  load s cached s" if args.load else ""))
    previous = None
    for n in SIZES:
        boards = synthetic_boards(kb, n)
        big = with_boards(kb, boards)
        first, solve_s, all_s, stacks, evals = time_advise(big, args.questionnaire)
        ratio = f"{all_s / previous:6.1f}" if previous else f"{'-':>6}"
        line = f"{n:>7} {first:>8.3f} {solve_s:>8.3f} {all_s:>9.3f} {ratio} {stacks:>7} {evals:>7}"
        if args.load:
            line += " {:7.1f} {:8.2f}".format(*time_load(kb, boards))
        print(line)
        previous = all_s
    print("first: the first advise on a freshly loaded KB (builds per-board contexts); solve: ranking only;\n"
          "advise: solve + top-5 explanations + Pareto front (best of 3); ratio: advise time over the\n"
          "previous size's (10x more boards), linear growth is ~10; evals: constraint evaluations after memoizing")


if __name__ == "__main__":
    main()
