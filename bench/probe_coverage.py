"""How much of the knowledge base's TFLM operator claims ``kb probe-ops`` checks, and how.

Probes every (op, dtype) claim of the bundled tflite-micro operator set against the installed
``tflite-micro`` interpreter (the same code as ``tinyml-advisor kb probe-ops``), then prints per
dtype and per way of making the model how many claims agree, disagree or could not be probed,
the overall share probed (the goal is >= 95 % with no disagreement), every claim that is not
"agrees", and the wall time. Exit 1 when the goal is missed.

Run: python bench/probe_coverage.py [--ops CONV_2D,SVDF] [--jobs 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from advisor.kb.cache import load_cached  # noqa: E402
from advisor.run.probe import probe_claims  # noqa: E402

GOAL_PERCENT = 95.0


def _method_kind(method: str) -> str:
    return method.split(" (")[0] if method else "no model"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", default="", help="comma-separated op names (default: every claimed op)")
    parser.add_argument("--jobs", type=int, default=2, help="interpreter runs in parallel")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    args = parser.parse_args()
    kb, _cached = load_cached()
    wanted = [o.strip().upper() for o in args.ops.split(",") if o.strip()] or None
    start = time.perf_counter()
    report = probe_claims(kb, "tflite-micro", wanted, jobs=args.jobs, progress=False)
    seconds = time.perf_counter() - start
    if args.json:
        print(json.dumps({**report.as_dict(), "seconds": round(seconds, 1)}, indent=2))
        return 0 if _goal_met(report) else 1
    print(f"{report.runtime}: {len(report.results)} claims in {seconds:.0f} s")
    for title, key in (("per dtype", lambda r: r.dtype), ("per model", lambda r: _method_kind(r.method))):
        table = Counter((key(r), r.status) for r in report.results)
        print(f"\n{title:<40} agrees  disagrees  not-probed")
        for value in sorted({k for k, _s in table}):
            print(f"{value:<40} {table[value, 'agrees']:>6}  {table[value, 'disagrees']:>9}  "
                  f"{table[value, 'not-probed']:>10}")
    summary = report.summary()
    print(f"\nprobed: {summary['probed_percent']} % of {summary['claims']} claims "
          f"({summary['agrees']} agree, {summary['disagrees']} disagree, {summary['not-probed']} not probed)")
    for r in report.results:
        if r.status != "agrees":
            print(f"  {r.status:<10} {r.op} {r.dtype}: {r.detail}")
    return 0 if _goal_met(report) else 1


def _goal_met(report) -> bool:
    summary = report.summary()
    return summary["disagrees"] == 0 and summary["probed_percent"] >= GOAL_PERCENT


if __name__ == "__main__":
    sys.exit(main())
