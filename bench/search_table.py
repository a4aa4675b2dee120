"""The search against the best fixed recipe on every runnable example, and what 2 workers buy over 1.

For each example: build its float baseline, run `tinyml-advisor search` with a fixed budget of trials on one
worker, then the same budget as a new study on two workers (both on a journal file, in one temporary runs/
folder), and print next to the best recipe as shipped (the study's queued first trials, real runs on the
user's model) the search's chosen point: TFLM accuracy, flash, arena, latency on the board; trials per hour;
the share of trials measured untrained and never trained; and the wall-time ratio of 1 worker over 2.

Run: python bench/search_table.py [--examples digits,imu-gestures,vibration] [--trials 8]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from advisor.run.datasets import EXAMPLES, build_example  # noqa: E402

REQUIREMENTS = {"digits": "examples/digits/requirements.yaml", "imu-gestures": "examples/imu-gestures/requirements.yaml",
                "vibration": "examples/vibration/requirements.yaml"}


def search(example: str, model: Path, data: Path, runs: Path, trials: int, workers: int) -> tuple[dict, float, int]:
    study = f"{example}-w{workers}"
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "advisor", "search", str(ROOT / REQUIREMENTS[example]),
                           "--model", str(model), "--data", str(data), "--runs", str(runs), "--trials", str(trials),
                           "--workers", str(workers), "--study", study, "--seed", "0"],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    path = runs / study / "pareto.json"
    if not path.exists():
        sys.exit(f"{example}: search exited {proc.returncode} without pareto.json:\n{proc.stderr[-2000:]}")
    return json.loads(path.read_text()), seconds, proc.returncode


def row(label: str, p: dict | None) -> str:
    if p is None:
        return f"  {label:<22} none feasible"
    return (f"  {label:<22} trial {p['trial']:>3} {p['recipe']:<24} acc {p['accuracy_pct']:7.2f}  "
            f"flash {p['flash_bytes'] / 1024:7.1f} KiB  arena {(p['arena_bytes'] or 0) / 1024:6.1f} KiB  "
            f"latency {p['latency_ms']:8.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", default=",".join(EXAMPLES))
    parser.add_argument("--trials", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for example in args.examples.split(","):
            model, data = build_example(example, Path(tmp) / example)
            one, t1, code1 = search(example, model, data, Path(tmp) / "runs", args.trials, 1)
            two, t2, code2 = search(example, model, data, Path(tmp) / "runs", args.trials, 2)
            chosen = next((p for p in one["front"] if p["trial"] == one["chosen"]), None)
            fixed = one["best_fixed_recipe"]
            c = one["counts"]
            print(f"{example}: {one['board']} + {one['framework']}, family {one['family'] or 'none'}, "
                  f"{c['complete']} trials ({c['feasible']} feasible, {c['untrained']} never trained, "
                  f"{c['failed']} failed), exit {code1}")
            print(row("best shipped recipe", fixed))
            print(row("search (chosen)", chosen))
            if chosen and fixed:
                ok = chosen["accuracy_pct"] >= fixed["accuracy_pct"] and any(
                    p["accuracy_pct"] >= fixed["accuracy_pct"] and p["flash_bytes"] <= fixed["flash_bytes"]
                    for p in one["front"])
                smaller = min((p for p in one["front"] if p["accuracy_pct"] >= fixed["accuracy_pct"]),
                              key=lambda p: p["flash_bytes"])
                print(f"  at least as accurate at no more flash: {'yes' if ok else 'no'}; smallest front point as "
                      f"accurate: {smaller['flash_bytes'] / fixed['flash_bytes']:.2f}x the shipped recipe's flash")
            untrained = c["untrained"] / c["complete"] if c["complete"] else 0.0
            print(f"  trials/hour: {c['complete'] / t1 * 3600:.0f} on 1 worker, "
                  f"{two['counts']['complete'] / t2 * 3600:.0f} on 2; measured untrained and never trained: "
                  f"{untrained:.0%}; speed-up of 2 workers over 1: {t1 / t2:.2f}x ({t1:.0f} s vs {t2:.0f} s, "
                  f"exit {code2})")


if __name__ == "__main__":
    main()
