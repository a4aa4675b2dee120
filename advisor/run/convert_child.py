"""Convert a SavedModel to .tflite and print a JSON verdict; run as a child process of the convert step.

``python -m advisor.run.convert_child SAVED_MODEL OUT.tflite MODE [REPRESENTATIVE.npy]``. The TFLite
converter and its calibrator are native code that can crash the whole process (a SIGSEGV on
non-finite activation ranges); in a child, that is a failed step with the signal, not a dead run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from advisor.profile.convert import quantize_int8, run_converter


def convert(saved_model: str, mode: str, representative: str | None) -> bytes:
    """The converted model's bytes (TensorFlow imported here).

    Raises:
        Exception: whatever the converter raises (``ConverterError`` and others).
    """
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model)
    if mode != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if mode == "int8":
        samples = np.load(representative, allow_pickle=False).astype(np.float32)
        quantize_int8(converter, (x[None, ...] for x in samples))
    return run_converter(converter)


def main(argv: list[str]) -> int:
    from advisor.run.paths import write_artifact

    from advisor.run.child import die_with_parent

    die_with_parent()
    saved_model, out, mode = argv[:3]
    representative = argv[3] if len(argv) > 3 else None
    try:
        data = convert(saved_model, mode, representative)
    except Exception as exc:  # noqa: BLE001 - the verdict carries the converter's own message
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        print(json.dumps({"ok": False, "error": first}))
        return 0
    try:
        write_artifact(Path(out), data)
    except OSError as exc:
        print(json.dumps({"ok": False, "error": f"cannot write {Path(out).name}: {exc.strerror or exc}"}))
        return 0
    print(json.dumps({"ok": True, "bytes": len(data)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
