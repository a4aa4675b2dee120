"""The profiler against the truth: arena vs the real TFLM interpreter, latency vs published MLPerf Tiny
results, flash vs real files.

1. Arena: builds the four MLPerf Tiny reference architectures (advisor.zoo), the float baselines of
   the project's three runnable examples and a set of one-op models, converts them to int8, runs each in the installed tflite-micro interpreter (child process)
   and prints the profiler's planned arena against the RecordingMicroAllocator's, with the ratio.
   Goal: every ratio in 0.95-1.05.
2. Latency (bench/latency_fit.py): the per-operator-class rates fitted on the calibration rows of
   bench/data/mlperf_tiny_calibration.csv (MLPerf Tiny v0.5-v1.0, every row with its source address), each row's in-sample and
   leave-one-out error (the fit redone without that row), the knowledge base's own estimate
   (advisor.perf) per calibration row, the later rounds in bench/data/mlperf_tiny_validation.csv
   (never fitted on) row by row, and energy against every energy row of the calibration data.
   Goals (leave-one-out and validation): median ratio 0.9-1.1, >= 80 % within 0.8-1.25, worst <= 1.5x.
3. Flash: the knowledge base's published int8 size + runtime against the built file + runtime.

Run: python bench/profile_accuracy.py   (about a minute: TensorFlow builds and converts the models)
     python bench/profile_accuracy.py --latency-only   (seconds: no TensorFlow)
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
from advisor.perf import runtime_kb
from advisor.profile.model import load_model
from advisor.run.probe import run_measured

CALIBRATION = ROOT / "bench" / "data" / "mlperf_tiny_calibration.csv"
BENCH_MODEL = {"kws": "ds-cnn-kws", "vww": "mobilenet-v1-025-vww", "ic": "resnet-8-ic", "ad": "fc-autoencoder-ad"}

def one_op_models():
    """Small models that exercise one kernel each (their arenas are dominated by persistent data)."""
    import tf_keras as keras

    L = keras.layers

    def model(build, shape):
        inp = keras.Input(shape)
        return keras.Model(inp, build(inp))

    return {
        "one-op conv 3x3x16": model(lambda x: L.Conv2D(16, 3, padding="same")(x), (8, 8, 3)),
        "one-op depthwise 3x3": model(lambda x: L.DepthwiseConv2D(3, padding="same")(x), (8, 8, 16)),
        "one-op dense 32": model(lambda x: L.Dense(32)(x), (32,)),
        "conv + max pool": model(lambda x: L.MaxPooling2D(2)(L.Conv2D(16, 3, padding="same")(x)), (8, 8, 3)),
        "dense + softmax": model(lambda x: L.Softmax()(L.Dense(16)(x)), (32,)),
        "two dense + add": model(lambda x: L.Add()([L.Dense(16)(x), L.Dense(16)(x)]), (32,)),
        "two dense + concat": model(lambda x: L.Concatenate()([L.Dense(16)(x), L.Dense(16)(x)]), (32,)),
    }


def arena_table(folder: Path) -> dict:
    import tf_keras as keras

    from advisor.profile import zoo
    from advisor.run.datasets import DATA, EXAMPLES, baseline

    models = {name: zoo.build(name) for name in zoo.MODELS}
    models.update({f"example {name}": baseline(name, DATA[name](0)) for name in EXAMPLES})
    keras.utils.set_random_seed(zoo.SEED)
    models.update(one_op_models())
    print("\n== Arena: profiler vs the tflite-micro interpreter (bytes)")
    print(f"{'model':26} {'estimated':>10} {'measured':>10} {'ratio':>6} {'lower bnd':>10} {'head est/real':>15}")
    profiles, ratios = {}, []
    for name, model in models.items():
        path = folder / (name.replace(" ", "_").replace("/", "_") + ".tflite")
        path.write_bytes(zoo.to_int8(model))
        profile = load_model(path)
        ok, why, arena = run_measured(path)
        if not ok:
            print(f"{name:26} interpreter failed: {why}")
            continue
        ratio = profile.plan.arena_bytes / arena["total"]
        ratios.append(ratio)
        profiles[name] = profile
        print(f"{name:26} {profile.plan.arena_bytes:>10,} {arena['total']:>10,} {ratio:>6.3f} "
              f"{profile.plan.lower_bound_bytes:>10,} {profile.plan.head_bytes:>7,}/{arena['head']:<7,}")
    print(f"ratios: min {min(ratios):.3f}, max {max(ratios):.3f}; goal 0.95-1.05")
    return profiles


def latency_table(kb) -> None:
    """Per-class fit, in-sample and leave-one-out error on the calibration rows, validation and energy."""
    import latency_fit as lf

    rows = lf.calibration_rows(CALIBRATION, kb)
    print(f"\n== Latency: per-operator-class fit on {len(rows)} calibration rows (MLPerf Tiny v0.5-v1.0)")
    fits = lf.fit_all(rows)
    lf.print_rates(fits)
    lf.print_calibration(rows, fits, kb)
    lf.print_validation(lf.validation_rows(kb), kb)
    lf.print_energy(CALIBRATION, kb)


def flash_table(profiles: dict, kb) -> None:
    flash_rt, _ = runtime_kb(kb.frameworks["tflite-micro"], kb)
    print("\n== Flash: knowledge-base figure vs built model (KB = 1024 bytes; TFLM runtime "
          f"{flash_rt:g} KB core, per-op kernel code not included)")
    print(f"{'model':22} {'KB published':>12} {'built file':>11} {'estimate':>9} {'actual':>8} {'ratio':>6}")
    for name, profile in profiles.items():
        ref = kb.reference_models.get(name)
        if ref is None:
            continue
        est = ref.int8_tflite_bytes / 1024 + flash_rt
        actual = profile.file_bytes / 1024 + flash_rt
        print(f"{name:22} {ref.int8_tflite_bytes:>12,} {profile.file_bytes:>11,} {est:>9.1f} {actual:>8.1f} "
              f"{est / actual:>6.2f}")


def main() -> None:
    kb = load_kb()
    latency_table(kb)
    if "--latency-only" in sys.argv:
        return
    with tempfile.TemporaryDirectory() as tmp:
        profiles = arena_table(Path(tmp))
    flash_table(profiles, kb)


if __name__ == "__main__":
    main()
