"""Run one .tflite model in the tflite-micro interpreter and print a JSON verdict.

Run as a child process -- ``python -m advisor.run.tflm_child MODEL`` runs once on random inputs,
``python -m advisor.run.tflm_child MODEL --eval INPUTS.npy OUTPUTS.npy`` runs a batch: the interpreter
can abort the whole process (SIGABRT) on some models instead of raising, and that must not take the
caller down.
"""

from __future__ import annotations

import json
import sys

import numpy as np

ARENA_BYTES = 64 * 1024 * 1024


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
    except (RuntimeError, ValueError) as exc:
        print(json.dumps({"ok": False, "error": str(exc).strip()}))
        return 0
    np.save(outputs, np.stack(results))
    print(json.dumps({"ok": True, "samples": len(results)}))
    sys.stdout.flush()
    interp.print_allocations()
    return 0


def _input_count(data: bytes) -> int:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    return schema.Model.GetRootAs(data, 0).Subgraphs(0).InputsLength()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
