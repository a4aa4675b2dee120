"""Every shipped recipe on every runnable example: accuracy, size, arena and time, in one table.

Builds each example's float baseline (examples/*/build_baseline.py does the same), runs every recipe
through the recipe engine into a temporary runs/ folder, and prints per run: float, TFLite and TFLM
accuracy (AUC for the autoencoder), .tflite bytes and their ratio to the float32 file, gzip bytes
and ratio, the measured TFLM arena and the wall time. Then checks the goals: int8 PTQ <= 0.30x
float bytes within 1 point; the best pruned/clustered recipe <= 0.15x float gzip bytes within 2
points; TFLM accuracy equal to TFLite within 0.5 points wherever TFLM ran.

Run: python bench/recipes_table.py [--examples digits,imu-gestures,vibration] [--recipes ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from advisor.run.datasets import EXAMPLES, build_example  # noqa: E402
from advisor.kb.load import load_kb  # noqa: E402
from advisor.run.runner import run_recipe  # noqa: E402


def metric(block: dict | None) -> float | None:
    if not block:
        return None
    return block.get("accuracy", block.get("auc"))


def main() -> None:
    kb = load_kb()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", default=",".join(EXAMPLES))
    parser.add_argument("--recipes", default=",".join(sorted(kb.recipes)))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for example in args.examples.split(","):
            model, data = build_example(example, Path(tmp) / example)
            for recipe in args.recipes.split(","):
                started = time.perf_counter()
                outcome = run_recipe(kb, kb.recipes[recipe], model, data, Path(tmp) / "runs", seed=0)
                import json
                metrics = json.loads((outcome.run_dir / "metrics.json").read_text())
                rows.append((example, recipe, outcome.status, metrics, time.perf_counter() - started))
    unit = {"vibration": "AUC"}
    print(f"{'example':13} {'recipe':23} {'float':>6} {'tflite':>7} {'tflm':>6} {'bytes':>7} {'x32':>5} "
          f"{'gzip':>7} {'x32':>5} {'arena B':>8} {'secs':>5}")
    base = {(e): m.get("size", {}) for e, r, s, m, _ in rows if r == "float32"}
    for example, recipe, status, m, secs in rows:
        size = m.get("size", {})
        ref = base.get(example, {})
        def ratio(key):
            return f"{size[key] / ref[key]:5.2f}" if size.get(key) and ref.get(key) else f"{'-':>5}"
        fmt = (lambda v: f"{v:6.3f}") if example in unit else (lambda v: f"{v:6.2f}")
        cells = [fmt(v) if v is not None else f"{'-':>6}" for v in (metric(m.get("float")), metric(m.get("tflite")),
                                                                     metric(m.get("tflm")))]
        arena = m.get("tflm", {}).get("arena_bytes", "-")
        print(f"{example:13} {recipe:23} {cells[0]} {cells[1]:>7} {cells[2]} {size.get('tflite_bytes', '-'):>7} "
              f"{ratio('tflite_bytes')} {size.get('gzip_bytes', '-'):>7} {ratio('gzip_bytes')} {arena:>8} "
              f"{secs:5.1f}" + ("" if status == "ok" else f"  {status}"))
    goals(rows, base)


def goals(rows, base) -> None:
    print("\nGoals (accuracy points; AUC x100 for the autoencoder):")
    for example in sorted({r[0] for r in rows}):
        scale = 100.0 if example == "vibration" else 1.0
        by = {r[1]: r[3] for r in rows if r[0] == example}
        ref_bytes, ref_gzip = base[example].get("tflite_bytes"), base[example].get("gzip_bytes")
        float_acc = metric(by["float32"].get("float")) * scale
        ptq = by.get("int8-ptq", {})
        if ptq.get("size"):
            drop = float_acc - metric(ptq.get("tflite")) * scale
            ok = ptq["size"]["tflite_bytes"] / ref_bytes <= 0.30 and drop <= 1.0
            print(f"  {example}: int8-ptq {ptq['size']['tflite_bytes'] / ref_bytes:.2f}x float bytes, drop "
                  f"{drop:.2f} -> {'met' if ok else 'NOT met'}")
        best = None
        for recipe in ("prune-int8", "cluster-int8", "prune-cluster-qat-int8"):
            m = by.get(recipe, {})
            if m.get("size") and m.get("tflite"):
                drop = float_acc - metric(m["tflite"]) * scale
                factor = m["size"]["gzip_bytes"] / ref_gzip
                if drop <= 2.0 and (best is None or factor < best[1]):
                    best = (recipe, factor, drop)
        if best:
            print(f"  {example}: best pruned/clustered within 2 points: {best[0]} {best[1]:.2f}x float gzip bytes "
                  f"(drop {best[2]:.2f}) -> {'met' if best[1] <= 0.15 else 'NOT met'}")
        gaps = [abs(metric(m["tflm"]) - metric(m["tflite"])) * scale for m in by.values()
                if m.get("tflm") and metric(m.get("tflm")) is not None and m.get("tflite")]
        if gaps:
            print(f"  {example}: largest |TFLM - TFLite| {max(gaps):.2f} points over {len(gaps)} runs -> "
                  f"{'met' if max(gaps) <= 0.5 else 'NOT met'}")


if __name__ == "__main__":
    main()
