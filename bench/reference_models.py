"""The derived figures of the reference models: build each zoo architecture, convert it to int8, profile it,
and run it in the real tflite-micro interpreter.

For every builder in ``advisor.profile.zoo.REFERENCE_BUILDERS`` this prints the parameter count, the int8
.tflite size, the MACs, the profiler's planned arena, the arena the TFLM RecordingMicroAllocator measured
(child process, ``advisor.run.probe.run_measured``), the operators, and the per-operator-class work in the
layout of a reference model's ``work:`` block. The knowledge-base entries whose notes say "int8 size and arena
derived by profiling the zoo builder ..." carry these figures (the measured arena where the interpreter ran),
so anyone can re-derive them; the last columns compare each with the knowledge base.

Weights are the initializer's (seeded), which does not change sizes, MACs or the arena. The converter's
output varies by up to about 100 bytes between runs (observed on the models here); MACs, the arena and the
work split do not.

Run: python bench/reference_models.py [ID ...]   (a few minutes for all: TensorFlow builds and converts them)
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from advisor.kb.load import load_kb
from advisor.perf import CLASSES, mix_from_profile
from advisor.profile.model import load_model
from advisor.run.probe import run_measured


def derive(name: str, folder: Path) -> dict:
    """Build, convert, profile and run one zoo builder; the figures as a dict."""
    from advisor.profile import zoo

    model = zoo.build(name)
    path = folder / f"{name}.tflite"
    path.write_bytes(zoo.to_int8(model))
    profile = load_model(path)
    ok, why, arena = run_measured(path)
    trainable = sum(int(w.shape.num_elements()) for w in model.trainable_weights)
    return {"name": name, "params_total": int(model.count_params()), "params_trainable": trainable,
            "file_bytes": profile.file_bytes, "weight_bytes": profile.weight_bytes, "macs": profile.macs,
            "planned_arena": profile.plan.arena_bytes, "measured_arena": arena.get("total") if ok else None,
            "tflm": "ok" if ok else why, "ops": list(profile.ops), "mix": mix_from_profile(profile)}


def main(argv: list[str]) -> None:
    from advisor.profile import zoo

    kb = load_kb()
    names = argv or list(zoo.REFERENCE_BUILDERS)
    print(f"{'reference model':30} {'params':>9} {'int8 B':>9} {'MACs':>11} {'planned':>9} {'TFLM':>9} "
          f"{'KB int8 B':>10} {'KB arena':>9}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            row = derive(name, Path(tmp))
            rows.append(row)
            ref = kb.reference_models.get(name)
            measured = row["measured_arena"]
            print(f"{name:30} {row['params_total']:>9,} {row['file_bytes']:>9,} {row['macs']:>11,} "
                  f"{row['planned_arena']:>9,} {measured if measured is not None else '-':>9} "
                  f"{ref.int8_tflite_bytes if ref else '-':>10} {ref.int8_arena_bytes if ref else '-':>9}")
            if row["tflm"] != "ok":
                print(f"    interpreter: {row['tflm']}")
    print("\n== ops and work: blocks (per-operator-class MACs; element-wise = element operations)")
    for row in rows:
        mix = row["mix"]
        print(f"{row['name']}: params {row['params_total']:,} (trainable {row['params_trainable']:,}), "
              f"weights {row['weight_bytes']:,} B")
        print(f"  ops: [{', '.join(row['ops'])}]")
        print("  work: {" + ", ".join(f"{c}: {int(getattr(mix, c))}" for c in CLASSES)
              + f", operators: {mix.operators}" + "}")


if __name__ == "__main__":
    main(sys.argv[1:])
