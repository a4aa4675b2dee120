"""How fast the command line starts: cold (empty knowledge-base cache) and warm, against the targets.

Each figure is the best wall-clock time of ``--repeat`` real ``python -m advisor`` processes, so it
includes the interpreter, imports, loading the knowledge base and the command's own work. Cold runs
start from an empty cache folder every time; warm runs reuse the entry the first run wrote.

| command | target (warm) |
|---|---|
| kb validate | 0.5 s |
| advise examples/kws-battery.yaml | 0.5 s |
| report examples/kws-battery.yaml (no run) | 1 s |
| advise on 10,000 synthetic boards (load + advise) | 5 s |

Run: python bench/start_times.py [--repeat 3] [--boards 10000] [--imports]
(--boards 0 skips the synthetic knowledge base; --imports lists the slowest imports of a warm advise.)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = str(ROOT / "examples" / "kws-battery.yaml")


def run_once(args: list[str], cache: Path, cwd: Path) -> float:
    """Wall-clock seconds of one ``python -m advisor ARGS`` (exit 0 or 1 expected)."""
    env = dict(os.environ, TINYML_ADVISOR_CACHE=str(cache), TF_CPP_MIN_LOG_LEVEL="2", TF_USE_LEGACY_KERAS="1")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "advisor", *args], cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"advisor {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}")
    return seconds


def cold_and_warm(args: list[str], work: Path, repeat: int) -> tuple[float, float]:
    """(best cold, best warm) seconds; every cold run starts from an empty cache."""
    cache = work / "cache"
    cold = []
    for _ in range(repeat):
        shutil.rmtree(cache, ignore_errors=True)
        cold.append(run_once(args, cache, work))
    warm = [run_once(args, cache, work) for _ in range(repeat)]
    return min(cold), min(warm)


def synthetic_kb(folder: Path, boards: int) -> Path:
    """A copy of the shipped knowledge base plus ``boards`` synthetic boards (bench/advise_scaling.py)."""
    import yaml

    sys.path.insert(0, str(ROOT / "bench"))
    from advise_scaling import synthetic_boards

    from advisor.kb.load import load_kb

    shutil.copytree(ROOT / "advisor" / "knowledge", folder / "knowledge")
    shutil.copytree(ROOT / "advisor" / "recipes", folder / "recipes")
    for board in synthetic_boards(load_kb(), boards).values():
        data = board.model_dump(by_alias=True, exclude_none=True) | {"price_usd": board.price_usd}  # null is a fact
        (folder / "knowledge" / "boards" / f"{board.id}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return folder / "knowledge"


def slowest_imports(work: Path, count: int = 12) -> list[str]:
    """The ``count`` imports with the largest cumulative time in a warm ``advise`` (python -X importtime)."""
    cache = work / "cache"
    run_once(["advise", EXAMPLE], cache, work)
    env = dict(os.environ, TINYML_ADVISOR_CACHE=str(cache))
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "advisor", "advise", EXAMPLE], cwd=work,
                          env=env, capture_output=True, text=True)
    rows = []
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            _self, cumulative, name = line[len("import time:"):].split("|")
            rows.append((int(cumulative), name.rstrip()))
    rows.sort(reverse=True)
    return [f"{us / 1000:8.1f} ms  {name}" for us, name in rows[:count]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="processes per figure (the best is shown)")
    parser.add_argument("--boards", type=int, default=10_000, help="synthetic boards for the big case (0: skip)")
    parser.add_argument("--imports", action="store_true", help="also list the slowest imports of a warm advise")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tinyml-start-"))
    try:
        cases = [("kb validate", ["kb", "validate"], 0.5),
                 ("advise kws-battery", ["advise", EXAMPLE], 0.5),
                 ("report kws-battery (no run)", ["report", EXAMPLE, "-o", str(work / "report"), "--force"], 1.0)]
        if args.boards:
            knowledge = synthetic_kb(work / "big", args.boards)
            cases.append((f"advise on {args.boards:,} boards", ["advise", EXAMPLE, "-k", str(knowledge)], 5.0))
        print(f"{'command':<30} {'cold s':>7} {'warm s':>7} {'target s':>8} {'warm/target':>11}")
        for label, argv, target in cases:
            cold, warm = cold_and_warm(argv, work, args.repeat)
            mark = "ok" if warm <= target else "SLOW"
            print(f"{label:<30} {cold:7.2f} {warm:7.2f} {target:8.2f} {warm / target:10.2f}x {mark}")
        print(f"best of {args.repeat} processes each; cold: empty knowledge-base cache, warm: its entry reused")
        if args.imports:
            print("\nslowest imports of a warm advise (cumulative):")
            print("\n".join(slowest_imports(work)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
