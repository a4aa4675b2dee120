"""Run one .tflite model in the tflite-micro interpreter and print a JSON verdict.

Run as a child process -- ``python -m advisor.run.tflm_child MODEL`` runs once on random inputs,
``python -m advisor.run.tflm_child MODEL --eval INPUTS.npy OUTPUTS.npy`` runs a batch, then the fixed input
of the device harness (its output checksum goes into the verdict): the interpreter
can abort the whole process (SIGABRT) on some models instead of raising, and that must not take the
caller down.
"""

from __future__ import annotations

import json
import sys

import numpy as np

ARENA_BYTES = 64 * 1024 * 1024
# How many of the fixed input's output values the verdict carries (the device harness prints as many).
FIXED_OUTPUT_VALUES = 16


def fixed_pattern(count: int) -> np.ndarray:
    """The fixed input both the host and the device harness (advisor/templates/fw-main.cc.j2) feed the model:
    element i is ((31 i + 7) mod 256) - 128, an integer in [-128, 127] that C computes exactly the same way."""
    return ((np.arange(count, dtype=np.int64) * 31 + 7) % 256 - 128).astype(np.int64)


def fixed_input(shape: tuple, dtype: np.dtype) -> np.ndarray:
    """The fixed pattern in the input's dtype: int8/int16 as is, uint8 shifted by 128, floats divided by 128."""
    v = fixed_pattern(int(np.prod(shape)))
    if dtype == np.uint8:
        v = v + 128
    if np.issubdtype(dtype, np.floating):
        return (v.astype(np.float64) / 128.0).astype(dtype).reshape(shape)
    return v.astype(dtype).reshape(shape)


def checksum(values: np.ndarray) -> str:
    """32-bit FNV-1a over the tensor's bytes in little-endian order, as the harness computes it on the device."""
    h = 0x811C9DC5
    for byte in np.ascontiguousarray(values).astype(values.dtype.newbyteorder("<")).tobytes():
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return f"0x{h:08x}"


def main(argv: list[str]) -> int:
    from advisor.run.child import die_with_parent

    die_with_parent()
    path = argv[0]
    if len(argv) > 1 and argv[1] == "--eval":
        return evaluate(path, argv[2], argv[3])
    seed = int(argv[1]) if len(argv) > 1 else 0
    from tflite_micro import runtime

    data = open(path, "rb").read()
    try:
        # NOTE: the package's default arena is 10x the model size, too small for small models with
        # large activations; give it room, and let the recording allocator report what was used.
        interp = runtime.Interpreter.from_bytes(data, arena_size=ARENA_BYTES)
        rng = np.random.default_rng(seed)
        for i in range(_input_count(data)):
            detail = interp.get_input_details(i)
            shape, dtype = tuple(detail["shape"]), np.dtype(detail["dtype"])
            if np.issubdtype(dtype, np.integer):
                info = np.iinfo(dtype)
                x = rng.integers(max(info.min, -128), min(info.max, 127) + 1, size=shape).astype(dtype)
            else:
                x = rng.standard_normal(shape).astype(dtype)
            interp.set_input(x, i)
        interp.invoke()
        out = interp.get_output(0)
    except (RuntimeError, ValueError) as exc:
        print(json.dumps({"ok": False, "error": str(exc).strip()}))
        return 0
    print(json.dumps({"ok": True, "output_shape": list(np.shape(out)), "output_dtype": str(out.dtype)}))
    sys.stdout.flush()
    # NOTE: the interpreter prints its RecordingMicroAllocator report with C stdio, straight to fd 1;
    # the parent picks those lines out by their prefix, so their order relative to the JSON is irrelevant.
    interp.print_allocations()
    return 0


def evaluate(path: str, inputs: str, outputs: str) -> int:
    """Run every sample of the .npy ``inputs`` (already in the model's input dtype); save the outputs."""
    from tflite_micro import runtime

    data = open(path, "rb").read()
    samples = np.load(inputs)
    results = []
    try:
        interp = runtime.Interpreter.from_bytes(data, arena_size=ARENA_BYTES)
        for x in samples:
            interp.set_input(x[None, ...], 0)
            interp.invoke()
            results.append(np.array(interp.get_output(0))[0])
        # NOTE: the fixed input runs last, so the allocation report below is the same as without it.
        detail = interp.get_input_details(0)
        interp.set_input(fixed_input(tuple(detail["shape"]), np.dtype(detail["dtype"])), 0)
        interp.invoke()
        fixed = np.array(interp.get_output(0))
    except (RuntimeError, ValueError) as exc:
        print(json.dumps({"ok": False, "error": str(exc).strip()}))
        return 0
    np.save(outputs, np.stack(results))
    print(json.dumps({"ok": True, "samples": len(results), "checksum": checksum(fixed),
                      "fixed_output": [v.item() for v in fixed.reshape(-1)[:FIXED_OUTPUT_VALUES]]}))
    sys.stdout.flush()
    interp.print_allocations()
    return 0


def _input_count(data: bytes) -> int:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    return schema.Model.GetRootAs(data, 0).Subgraphs(0).InputsLength()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
