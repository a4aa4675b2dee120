"""Keras files and SavedModels converted to int8 once, in a child process, and cached by content hash.

``advise`` and ``report`` never import TensorFlow: when the questionnaire names a Keras model, the
conversion runs in ``python -m advisor.profile.convert_main`` (which also survives a converter that crashes
natively) and its .tflite is kept under ``<cache_dir>/models/<sha256 of the model's bytes>.tflite``, so the
next ``advise`` on the same model reads the cached file.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from advisor.files import atomic_write, cache_dir, display_path
from advisor.problems import Problem, ProblemError

TIMEOUT_S = 900  # a large SavedModel converts in minutes on 2 cores; beyond this something is wrong


def model_digest(path: Path) -> str:
    """sha256 over a model file, or over a SavedModel folder's relative paths and contents (sorted)."""
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        if path.is_dir():
            h.update(str(f.relative_to(path)).encode() + b"\0")
        with f.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def cached_path(path: Path) -> Path:
    return cache_dir() / "models" / f"{model_digest(path)}.tflite"


def keras_int8(path: Path) -> tuple[bytes, str] | None:
    """The int8 .tflite of a Keras model file or SavedModel folder and its display name; None without TensorFlow.

    Raises:
        ProblemError: the model cannot be converted (the child's problems, or a crash named as such).
    """
    name = display_path(path)
    target = cached_path(path)
    if target.is_file():
        return target.read_bytes(), name
    if importlib.util.find_spec("tensorflow") is None:
        return None
    with tempfile.TemporaryDirectory(prefix="tinyml-advisor-convert-") as tmp:
        out = Path(tmp) / "model.tflite"
        env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"))
        try:
            proc = subprocess.run([sys.executable, "-m", "advisor.profile.convert_main", str(path), str(out)],
                                  capture_output=True, text=True, timeout=TIMEOUT_S, env=env)
        except subprocess.TimeoutExpired:
            raise ProblemError([Problem(name, 0, "", f"converting the model to int8 took over {TIMEOUT_S} s",
                                        "model")]) from None
        if proc.returncode == 2 and proc.stdout.strip():
            raise ProblemError([Problem(**p) for p in json.loads(proc.stdout.strip().splitlines()[-1])])
        if proc.returncode != 0 or not out.is_file():
            how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit {proc.returncode}"
            last = (proc.stderr.strip().splitlines() or [""])[-1][:300]
            raise ProblemError([Problem(name, 0, "", f"the TensorFlow converter failed ({how}): {last}", "model",
                                        "run `tinyml-advisor profile` on the model to see the converter's output")])
        data = out.read_bytes()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, data)
    except OSError:
        pass  # the cache is an optimisation: an unwritable cache folder only costs the next conversion
    return data, name
