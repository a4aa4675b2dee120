"""Data for the runnable examples, shipped or generated, never downloaded; and their float baselines.

- ``digits``: scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 classes).
- ``imu-gestures``: synthetic 3-axis accelerometer windows (64 samples at 50 Hz) of four gestures.
- ``vibration``: synthetic pump vibration spectra; the autoencoder trains on normal running only and
  is tested on normal and faulty (imbalance, misalignment, bearing defect) machines.

Everything is a function of the seed, so the same seed gives the same arrays and the same model.
"""

from __future__ import annotations

import numpy as np

EXAMPLES = ("digits", "imu-gestures", "vibration")


def _split(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, test_share: float = 0.3) -> dict:
    order = rng.permutation(len(x))
    x, y = x[order].astype(np.float32), y[order]
    cut = int(len(x) * (1 - test_share))
    return {"x_train": x[:cut], "y_train": y[:cut], "x_test": x[cut:], "y_test": y[cut:], "x_rep": x[:100]}


def digits(seed: int = 0) -> dict:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.data / 16.0).reshape(-1, 8, 8, 1)
    return _split(x, bunch.target.astype(np.int64), np.random.default_rng(seed))


GESTURES = ("idle", "shake", "circle", "tap")


def imu_gestures(seed: int = 0, per_class: int = 250) -> dict:
    """Windows of 64 accelerometer samples (x, y, z in g) at 50 Hz, with gravity on z and sensor noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(64) / 50.0
    xs, ys = [], []
    for label, gesture in enumerate(GESTURES):
        for _ in range(per_class):
            w = np.zeros((64, 3))
            w[:, 2] = 1.0
            phase, amp = rng.uniform(0, 2 * np.pi), rng.uniform(0.6, 1.5)
            if gesture == "shake":
                w[:, 0] += amp * np.sin(2 * np.pi * rng.uniform(4, 7) * t + phase)
            elif gesture == "circle":
                f = rng.uniform(1.0, 2.0)
                w[:, 0] += amp * np.cos(2 * np.pi * f * t + phase)
                w[:, 1] += amp * np.sin(2 * np.pi * f * t + phase)
            elif gesture == "tap":
                for centre in rng.choice(np.arange(6, 58), size=rng.integers(1, 4), replace=False):
                    w[:, 2] += rng.uniform(1.5, 3.0) * np.exp(-0.5 * ((np.arange(64) - centre) / 1.5) ** 2)
            w += rng.normal(0, 0.08, size=w.shape)
            xs.append(w[..., None])
            ys.append(label)
    return _split(np.stack(xs), np.array(ys, dtype=np.int64), rng)


def _vibration_spectrum(rng: np.random.Generator, fault: str) -> np.ndarray:
    fs, n = 2000.0, 1024
    t = np.arange(n) / fs
    f0 = rng.uniform(24.0, 26.0)
    amps = {1: 1.0, 2: 0.3, 3: 0.1, 6: 0.2}
    if fault == "imbalance":
        amps[1] *= rng.uniform(2.0, 3.0)
    elif fault == "misalignment":
        amps[2] *= rng.uniform(3.0, 5.0)
    signal = sum(a * np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 2 * np.pi)) for k, a in amps.items())
    if fault == "bearing":
        period = fs / rng.uniform(80.0, 95.0)
        for start in np.arange(rng.uniform(0, period), n, period).astype(int):
            ring = np.arange(n - start)
            signal[start:] += 0.6 * np.exp(-ring / 20.0) * np.sin(2 * np.pi * 400.0 * ring / fs)
    signal += rng.normal(0, 0.2, size=n)
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(n)))[:512]  # 0..1000 Hz in 512 bins
    return np.log1p(spectrum.reshape(64, 8).mean(axis=1))  # 64 bands of 15.6 Hz


def vibration(seed: int = 0) -> dict:
    """Train on 600 normal spectra; test on 200 normal and 200 faulty ones (y_test 1 = fault)."""
    rng = np.random.default_rng(seed)
    normal = np.stack([_vibration_spectrum(rng, "none") for _ in range(800)]).astype(np.float32)
    faults = np.stack([_vibration_spectrum(rng, ("imbalance", "misalignment", "bearing")[i % 3])
                       for i in range(200)]).astype(np.float32)
    x_test = np.concatenate([normal[600:], faults])
    y_test = np.concatenate([np.zeros(200, np.int64), np.ones(200, np.int64)])
    order = rng.permutation(len(x_test))
    return {"x_train": normal[:600], "x_test": x_test[order], "y_test": y_test[order], "x_rep": normal[:100]}


DATA = {"digits": digits, "imu-gestures": imu_gestures, "vibration": vibration}
# Each example's baseline: an architecture family at its defaults (advisor.run.families), and its epochs.
FAMILY = {"digits": "digits-cnn", "imu-gestures": "imu-cnn", "vibration": "dense-autoencoder"}


def baseline(name: str, data: dict, seed: int = 0):
    """Train the example's float Keras model: its family at the defaults, trained as the family's entry says."""
    from advisor.kb.cache import load_cached
    from advisor.run.families import build, train

    family = load_cached()[0].families[FAMILY[name]]
    classes = 0 if family.kind == "autoencoder" else int(data["y_train"].max()) + 1
    model = build(family.id, data["x_train"].shape[1:], classes, seed=seed)
    train(model, data, family.kind, family.train, seed)
    return model


def baseline_script(name: str, default_out) -> None:
    """Command line of examples/<name>/build_baseline.py: ``[OUT_DIR] [--seed N]``; prints the two paths."""
    import argparse
    import os
    from pathlib import Path

    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    parser = argparse.ArgumentParser(description=f"Build the {name} example's float baseline: data.npz and "
                                                 "model.keras.")
    parser.add_argument("out", nargs="?", type=Path, default=Path(default_out))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    model, data = build_example(name, args.out, args.seed)
    print(f"{model}\n{data}")


def build_example(name: str, out_dir, seed: int = 0) -> tuple:
    """Write ``data.npz`` and ``model.keras`` for an example into ``out_dir``; return their paths."""
    from pathlib import Path

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = DATA[name](seed)
    np.savez(out / "data.npz", **data)
    model = baseline(name, data, seed)
    model.save(out / "model.keras")
    return out / "model.keras", out / "data.npz"
