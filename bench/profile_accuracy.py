"""The profiler against the truth: arena vs the real TFLM interpreter, latency vs published MLPerf Tiny
results, flash vs real files.

1. Arena: builds the four MLPerf Tiny reference architectures (advisor.zoo), the float baselines of
   the project's three runnable examples and a set of one-op models, converts them to int8, runs each in the installed tflite-micro interpreter (child process)
   and prints the profiler's planned arena against the RecordingMicroAllocator's, with the ratio.
   Goal: every ratio in 0.95-1.05.
2. Latency: for every row of shared/data/mlperf_tiny_results_calibration.csv whose core and kernel
   family the knowledge base has a throughput figure for, the profiled reference model's MACs at
   that clock against the published latency. Printed twice: in-sample (the figure is the median of
   these very rows) and leave-one-out (the figure recomputed without the row being predicted),
   with the median and worst ratio. Goal: median in 0.8-1.25.
3. Flash: the knowledge base's published int8 size + runtime against the built file + runtime.

Run: python bench/profile_accuracy.py   (about a minute: TensorFlow builds and converts the models)
"""

from __future__ import annotations

import csv
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from advisor.perf import runtime_kb  # noqa: E402
from advisor.kb.load import load_kb  # noqa: E402
from advisor.run.probe import run_measured  # noqa: E402
from advisor.profile.model import load_model  # noqa: E402

CALIBRATION = ROOT.parent / "shared" / "data" / "mlperf_tiny_results_calibration.csv"
BENCH_MODEL = {"kws": "ds-cnn-kws", "vww": "mobilenet-v1-025-vww", "ic": "resnet-8-ic", "ad": "fc-autoencoder-ad"}
CORES = {"Cortex-M4": "cortex-m4", "Cortex-M33": "cortex-m33", "Cortex-M7": "cortex-m7"}
KERNELS = {"TFLM": "reference", "TFLM + CMSIS-NN": "cmsis-nn", "microTVM + CMSIS-NN": "cmsis-nn",
           "X-CUBE-AI": "vendor"}


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

    from advisor.run.datasets import EXAMPLES, baseline, DATA

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


def latency_table(profiles: dict, kb) -> None:
    rows = list(csv.DictReader(CALIBRATION.open()))
    usable = []
    for row in rows:
        core, kernel = CORES.get(row["core_family"]), KERNELS.get(row["framework_family"])
        model = BENCH_MODEL.get(row["benchmark"])
        if core and kernel and model in profiles and row["latency_ms"]:
            usable.append((row, core, kernel, profiles[model]))
    print("\n== Latency: estimate vs published MLPerf Tiny latency")
    print(f"{len(usable)} of {len(rows)} rows have a core and kernel family in the knowledge base "
          "(GAP9, Syntiant, FPGA, RISC-V, Plumerai and Qualcomm rows have none)")
    print(f"{'board':22} {'core':10} {'kernel':9} {'bench':5} {'MHz':>5} {'published':>10} {'est in':>8} "
          f"{'ratio':>6} {'est LOO':>8} {'ratio':>6}")
    by_key: dict[tuple, list] = {}
    for i, (row, core, kernel, profile) in enumerate(usable):
        work = profile.macs + profile.other_ops
        rate = work / (float(row["latency_ms"]) * 1e-3 * float(row["clock_mhz"]) * 1e6)
        by_key.setdefault((core, kernel), []).append((i, rate))
    in_ratios, loo_ratios = [], []
    for i, (row, core, kernel, profile) in enumerate(usable):
        work = profile.macs + profile.other_ops
        clock = float(row["clock_mhz"]) * 1e6
        published = float(row["latency_ms"])
        rates = [r for _, r in by_key[(core, kernel)]]
        others = [r for j, r in by_key[(core, kernel)] if j != i]
        est_in = work / (statistics.median(rates) * clock) * 1e3
        est_loo = work / (statistics.median(others) * clock) * 1e3 if others else float("nan")
        in_ratios.append(est_in / published)
        loo_ratios.append(est_loo / published)
        print(f"{row['board'][:22]:22} {core:10} {kernel:9} {row['benchmark']:5} {row['clock_mhz']:>5} "
              f"{published:>10.2f} {est_in:>8.2f} {est_in / published:>6.2f} {est_loo:>8.2f} "
              f"{est_loo / published:>6.2f}")
    for label, ratios in (("in-sample", in_ratios), ("leave-one-out", loo_ratios)):
        worst = max(ratios, key=lambda r: abs(r - 1.0) if r == r else 0)
        print(f"{label}: median ratio {statistics.median(ratios):.2f}, worst {worst:.2f} (goal: median 0.8-1.25)")
    kb_rates = {(c, t.kernel): t.macs_per_cycle for t in kb.throughput.values() for c in t.cores}
    drift = [f"{c}/{k}: KB {kb_rates[(c, k)]:.3f} vs profile {statistics.median(v):.3f}"
             for (c, k), v in sorted(by_key.items()) if (c, k) in kb_rates for v in [[r for _, r in v]]]
    print("MACs per cycle, knowledge base (MLTK MAC counts) vs these profiles: " + "; ".join(drift))


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
    with tempfile.TemporaryDirectory() as tmp:
        profiles = arena_table(Path(tmp))
    latency_table(profiles, kb)
    flash_table(profiles, kb)


if __name__ == "__main__":
    main()
