"""Steps on the converted model: convert, evaluate in TFLite, validate in TFLite Micro (child process)."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import warnings

import numpy as np

from advisor.run.child import death, run_child
from advisor.run.steps.runctx import RunContext, StepFailed, keras

CHILD_TIMEOUT = 1800.0  # seconds

QUANTIZATION = {"int8": "int8", "dynamic-range": "dynamic-range", "float16": "float16", "float32": "float32"}


def convert(ctx: RunContext, params: dict) -> dict:
    """Convert the current Keras model in a child process (``advisor.run.convert_child``).

    NOTE: the model goes to the child as a SavedModel, saved exactly as ``from_keras_model`` saves it
    before converting; the child writes model.tflite under a temporary name and renames it.
    Raises:
        StepFailed: the converter refused the model, died (the signal is named) or timed out.
    """
    if "convert" in ctx.format_steps:
        return ctx.format_steps["convert"](ctx, params)
    import tensorflow as tf
    from tensorflow.python.saved_model import save_options

    keras()
    mode = params["mode"]
    path = ctx.run_dir / "model.tflite"

    def inputs(work):
        tf.saved_model.save(ctx.model, str(work / "saved_model"),
                            options=save_options.SaveOptions(save_debug_info=True))
        return [str(work / "saved_model"), str(path), mode]

    proc = run_converter(ctx, params, "advisor.run.convert_child", "the converter", inputs)
    return converted(ctx, proc, "converter", mode, path)


def run_converter(ctx: RunContext, params: dict, module: str, what: str, inputs):
    """Run a converter child on inputs written to a scratch folder in the run (removed afterwards).

    ``inputs(work)`` writes the model into ``work`` and returns the child's arguments; for int8 the
    representative samples are written there too and appended.
    Raises:
        StepFailed: the child timed out.
    """
    work = ctx.run_dir / ".convert"
    work.mkdir(exist_ok=True)
    try:
        args = inputs(work)
        if params["mode"] == "int8":
            np.save(work / "representative.npy", ctx.representative(params["samples"]).astype(np.float32))
            args.append(str(work / "representative.npy"))
        return run_child(module, args, CHILD_TIMEOUT, what)
    except TimeoutError as exc:
        raise StepFailed(str(exc)) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def converted(ctx: RunContext, proc, what: str, mode: str, path) -> dict:
    """Check a converter child's verdict and record the .tflite it wrote (size, gzip size, sha256).

    Raises:
        StepFailed: the child died (the signal is named) or reported a failure (with its stage, when given).
    """
    verdict = _verdict(proc)
    if verdict is None:
        raise StepFailed(f"{what} died with {death(proc.returncode)}: {_last_line(proc.stderr)}")
    if not verdict["ok"]:
        where = f" in {verdict['stage']}" if verdict.get("stage") else ""
        raise StepFailed(f"conversion to {mode} failed{where}: {verdict['error']}")
    data = path.read_bytes()
    ctx.tflite_path, ctx.quantization = path, QUANTIZATION[mode]
    ctx.artifacts["model.tflite"] = path
    size = {"tflite_bytes": len(data), "gzip_bytes": len(gzip.compress(data, compresslevel=9, mtime=0)),
            "sha256": hashlib.sha256(data).hexdigest()}
    ctx.metrics["size"] = size
    return size


def _verdict(proc) -> dict | None:
    """The child's JSON verdict, or None when it died without one."""
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return None
    return json.loads(lines[-1])


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith(("W0000", "I0000"))]
    return lines[-1][:300] if lines else "no output"


def _quantize(x: np.ndarray, detail: dict) -> np.ndarray:
    dtype = np.dtype(detail["dtype"])
    if np.issubdtype(dtype, np.integer):
        scale, zero = detail["quantization"]
        info = np.iinfo(dtype)
        return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)
    return x.astype(dtype)


def _dequantize(y: np.ndarray, detail: dict) -> np.ndarray:
    if np.issubdtype(np.dtype(detail["dtype"]), np.integer):
        scale, zero = detail["quantization"]
        return (y.astype(np.float32) - zero) * scale
    return y.astype(np.float32)


def score(ctx: RunContext, outputs: np.ndarray, x: np.ndarray, y: np.ndarray) -> dict:
    """Accuracy (%) for classifiers; for autoencoders the ROC AUC of the reconstruction error."""
    if ctx.kind == "autoencoder":
        from sklearn.metrics import roc_auc_score

        error = ((outputs.reshape(len(x), -1) - x.reshape(len(x), -1)) ** 2).mean(axis=1)
        return {"auc": round(float(roc_auc_score(y, error)), 4), "mean_error": round(float(error.mean()), 6)}
    return {"accuracy": round(float((outputs.argmax(axis=-1) == y).mean() * 100), 2)}


def _test_set(ctx: RunContext):
    x, y = ctx.data.get("x_test"), ctx.data.get("y_test")
    return (x, y) if x is not None and y is not None else (None, None)


def _interpreter(path):
    """TFLite's own interpreter with its built-in kernels (its deprecation notice in favour of ai-edge-litert is
    silenced).

    NOTE: without the default XNNPACK delegate: it refuses some small int8 graphs at prepare time ("failed to
    create XNNPACK runtime"), which failed search trials on distilled autoencoders, and the built-in kernels are
    the reference the TFLM kernels are checked against.
    """
    import tensorflow as tf

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated.*")
        return tf.lite.Interpreter(model_path=str(path), num_threads=1, experimental_op_resolver_type=
                                   tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)


def evaluate(ctx: RunContext, params: dict) -> dict:
    if "evaluate" in ctx.format_steps:
        return ctx.format_steps["evaluate"](ctx, params)
    x, y = _test_set(ctx)
    if x is None:
        return {"skipped": "no x_test/y_test in the data"}
    result = {"float": score(ctx, ctx.teacher.predict(x, verbose=0, batch_size=256), x, y),
              "keras": score(ctx, ctx.model.predict(x, verbose=0, batch_size=256), x, y)}
    interpreter = _interpreter(ctx.tflite_path)
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.resize_tensor_input(inp["index"], (1,) + x.shape[1:])
    interpreter.allocate_tensors()
    outputs = []
    for sample in x:
        interpreter.set_tensor(inp["index"], _quantize(sample[None, ...], inp))
        interpreter.invoke()
        outputs.append(_dequantize(interpreter.get_tensor(out["index"]), out)[0])
    result["tflite"] = score(ctx, np.stack(outputs), x, y)
    ctx.metrics.update(result)
    return result


def tflm_validate(ctx: RunContext, params: dict) -> dict:
    """Run the model in tflite-micro in a child process: a native crash becomes a failed step with its reason."""
    from advisor.run.probe import parse_allocations, verdict_of
    from advisor.profile.tflite import read_tflite

    graph = read_tflite(ctx.tflite_path)
    x, y = _test_set(ctx)
    inputs = ctx.run_dir / "tflm-inputs.npy"
    outputs = ctx.run_dir / "tflm-outputs.npy"
    tensor = graph.tensors[graph.inputs[0]]
    detail, out_detail = _io_details(ctx)
    batch = x[:params["samples"]] if x is not None else \
        np.zeros((1,) + tuple(tensor.shape[1:]), dtype=np.float32)
    np.save(inputs, _quantize(batch, detail))
    try:
        proc = run_child("advisor.run.tflm_child", [str(ctx.tflite_path), "--eval", str(inputs), str(outputs)],
                         CHILD_TIMEOUT, "the TFLM interpreter")
    except TimeoutError as exc:
        raise StepFailed(str(exc)) from None
    finally:
        inputs.unlink(missing_ok=True)
    ok, reason = verdict_of(proc)
    if not ok:
        raise StepFailed(f"TFLM validation failed: {reason}")
    arena = parse_allocations(proc.stdout + "\n" + proc.stderr)
    try:
        raw = np.load(outputs, allow_pickle=False)
    finally:
        outputs.unlink(missing_ok=True)
    result = {"arena_bytes": arena.get("total", 0), "arena_head_bytes": arena.get("head", 0),
              "arena_tail_bytes": arena.get("tail", 0), "ops": sorted({o.op for o in graph.operators})}
    result |= _fixed_input_result(proc.stdout)
    if x is not None:
        result |= score(ctx, _dequantize(raw, out_detail), batch, y[:len(batch)])
        result["samples"] = int(len(batch))
    ctx.metrics["tflm"] = result
    return result


def _fixed_input_result(stdout: str) -> dict:
    """The checksum and first outputs of the device harness's fixed input, from the child's verdict line."""
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    verdict = json.loads(lines[-1]) if lines else {}
    return {k: verdict[k] for k in ("checksum", "fixed_output") if k in verdict}


def _io_details(ctx: RunContext) -> tuple[dict, dict]:
    """The first input's and output's dtype and quantization, as TFLite reports them."""
    interpreter = _interpreter(ctx.tflite_path)
    return interpreter.get_input_details()[0], interpreter.get_output_details()[0]
