"""Relative cost per MAC of the TFLM reference kernels, by operator class, measured on this host.

The TFLM reference kernels are portable C++ loops; the tflite-micro PyPI package runs exactly those kernels on the
host (it has no CMSIS-NN). This builds one int8 model per operator class (3x3 convolution, 1x1 convolution,
depthwise 3x3, fully connected, element-wise ADD, timed with the ReLU that feeds it) at two or three sizes each, times ``invoke()`` in the real
interpreter (a child process per model: the interpreter can abort the process), and prints nanoseconds per MAC
(per element for ADD) and each class's cost relative to a 3x3-convolution MAC.

bench/latency_fit.py uses these ratios for the ``tflm-reference`` group: MLPerf Tiny v0.5-v1.0 holds one
reference-kernel stack (4 rows), too few to fit class ratios, and the ratios of the optimized libraries (SIMD
kernels, where a fully connected MAC costs more than a convolution MAC) are wrong for plain C loops, where the
fully connected loop is the tightest and depthwise the loosest. Only the scale is then fitted on the board's
rows. The ratios come from an x86-64 host, not a Cortex-M: the same loops, compiled for another core; the
leave-one-out rows of bench/profile_accuracy.py show how well they carry over.

Run: python bench/reference_kernel_ratios.py   (about a minute; TensorFlow builds and converts the models)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# class -> [(label, builder arguments)]; sizes span the layer shapes of the MLPerf Tiny models
CASES = {
    "conv": [("3x3 16->16 at 32x32", ("conv", 3, 16, 16, 32, 32)), ("3x3 32->32 at 16x16", ("conv", 3, 32, 32, 16, 16)),
             ("3x3 64->64 at 8x8", ("conv", 3, 64, 64, 8, 8))],
    "pointwise": [("1x1 64->64 at 25x5", ("conv", 1, 64, 64, 25, 5)), ("1x1 32->64 at 24x24", ("conv", 1, 32, 64, 24, 24)),
                  ("1x1 128->128 at 6x6", ("conv", 1, 128, 128, 6, 6))],
    "depthwise": [("dw3x3 64 at 25x5", ("dw", 64, 25, 5)), ("dw3x3 64 at 24x24", ("dw", 64, 24, 24)),
                  ("dw3x3 128 at 6x6", ("dw", 128, 6, 6))],
    "fully_connected": [("fc 640->128", ("fc", 640, 128)), ("fc 128->128", ("fc", 128, 128)),
                        ("fc 128->640", ("fc", 128, 640))],
    "elementwise": [("add 32x32x16", ("add", 32, 16)), ("add 16x16x32", ("add", 16, 32))],
}
REPEATS = 15


def _build(spec: tuple):
    """(keras model, MACs or elements) for one case."""
    import tf_keras as keras

    layers = keras.layers
    kind = spec[0]
    if kind == "conv":
        _, k, cin, cout, h, w = spec
        x = keras.Input((h, w, cin))
        return keras.Model(x, layers.Conv2D(cout, k, padding="same")(x)), h * w * cin * cout * k * k
    if kind == "dw":
        _, c, h, w = spec
        x = keras.Input((h, w, c))
        return keras.Model(x, layers.DepthwiseConv2D(3, padding="same")(x)), h * w * c * 9
    if kind == "fc":
        _, n, m = spec
        x = keras.Input((n,))
        return keras.Model(x, layers.Dense(m)(x)), n * m
    _, hw, c = spec
    x = keras.Input((hw, hw, c))  # one input: the int8 converter takes single-input models
    return keras.Model(x, layers.Add()([x, layers.ReLU()(x)])), hw * hw * c


def _time_child(path: str) -> None:
    """Child process: best-of-REPEATS invoke() time of one model, in seconds, as JSON on stdout."""
    import time

    import numpy as np
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_file(path, arena_size=4 * 1024 * 1024)
    d = interp.get_input_details(0)
    interp.set_input(np.ones(d["shape"], d["dtype"]), 0)
    interp.invoke()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        interp.invoke()
        times.append(time.perf_counter() - start)
    print(json.dumps({"seconds": min(times)}))


def main() -> None:
    from advisor.profile.convert import to_int8

    per_class: dict[str, list[float]] = {}
    print(f"{'class':16} {'case':24} {'MACs':>9} {'ns/MAC':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for cls, cases in CASES.items():
            for label, spec in cases:
                model, work = _build(spec)
                path = Path(tmp) / f"{cls}-{len(per_class.get(cls, []))}.tflite"
                path.write_bytes(to_int8(model))
                proc = subprocess.run([sys.executable, __file__, "--time", str(path)], capture_output=True,
                                      text=True, timeout=300, check=False)
                if proc.returncode != 0:
                    print(f"{cls:16} {label:24} failed: {proc.stderr.strip()[-200:]}")
                    continue
                ns = json.loads(proc.stdout.strip().splitlines()[-1])["seconds"] * 1e9 / work
                per_class.setdefault(cls, []).append(ns)
                print(f"{cls:16} {label:24} {work:>9} {ns:>8.3f}")
    conv = statistics.median(per_class["conv"])
    print("\ncost per MAC relative to a 3x3 convolution MAC (median over the cases):")
    for cls, values in per_class.items():
        print(f"  {cls:16} {statistics.median(values) / conv:.2f}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--time":
        _time_child(sys.argv[2])
    else:
        main()
