"""Convert an .onnx model to .tflite (onnx2tf, then the TFLite converter) and print a JSON verdict; a child process.

``python -m advisor.run.onnx_convert_child MODEL.onnx WORK OUT.tflite MODE FLOAT_OUT.tflite [REPRESENTATIVE.npy]``.

NOTE on layout: onnx2tf turns channels-first (NCW/NCHW/NCDHW) tensors into TensorFlow's channels-last
layout, and for a 3-D input it cannot tell channels-first sensor data ``[N, axes, steps]`` from
``[N, steps, features]`` (PINTO0309/onnx2tf:README.md, the -kat/-kt options). Every 3-D to 5-D input is
therefore kept in its ONNX layout (``keep_ncw_or_nchw_or_ncdhw_input_names``): onnx2tf adds the transpose
inside the model, the user's data and the firmware feed exactly what the PyTorch model took, and the float
parity check of the evaluate step shows whether the conversion is right.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def to_saved_model(onnx_path: str, work: str) -> str:
    """The onnx2tf conversion as a SavedModel folder (TensorFlow imported here)."""
    import logging

    import onnx
    import onnx2tf

    model = onnx.load(onnx_path, load_external_data=False)
    constants = {t.name for t in model.graph.initializer}
    keep = [i.name for i in model.graph.input if i.name not in constants
            and 3 <= len(i.type.tensor_type.shape.dim) <= 5]
    logging.getLogger("onnx2tf").setLevel(logging.ERROR)
    out = str(Path(work) / "saved_model")
    onnx2tf.convert(input_onnx_file_path=onnx_path, output_folder_path=out, non_verbose=True,
                    keep_ncw_or_nchw_or_ncdhw_input_names=keep or None, not_use_onnxsim=True)
    return out


def main(argv: list[str]) -> int:
    from advisor.run.child import die_with_parent
    from advisor.run.convert_child import convert
    from advisor.run.paths import write_artifact

    die_with_parent()
    onnx_path, work, out, mode, float_out = argv[:5]
    representative = argv[5] if len(argv) > 5 else None
    try:
        saved = to_saved_model(onnx_path, work)
    except Exception as exc:  # noqa: BLE001 - the verdict carries the converter's own message
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        print(json.dumps({"ok": False, "stage": "onnx2tf", "error": first}))
        return 0
    try:
        data = convert(saved, mode, representative)
        reference = data if mode == "float32" else convert(saved, "float32", None)
    except Exception as exc:  # noqa: BLE001
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        print(json.dumps({"ok": False, "stage": "tflite", "error": first}))
        return 0
    try:
        write_artifact(Path(out), data)
        write_artifact(Path(float_out), reference)
    except OSError as exc:
        print(json.dumps({"ok": False, "stage": "write", "error": f"cannot write: {exc.strerror or exc}"}))
        return 0
    print(json.dumps({"ok": True, "bytes": len(data)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
