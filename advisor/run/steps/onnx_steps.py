"""Recipe steps for an .onnx model: load (checked, shapes fixed from the data), convert (onnx2tf in a child
process), evaluate (onnxruntime as the float reference, the float and the recipe's .tflite against it).

The catalog step ``load-model`` dispatches here for an .onnx file, and the load registers ``convert`` and
``evaluate`` in ``RunContext.format_steps``, so every post-training recipe runs unchanged; retraining recipes are refused before any work
(``advisor.run.runner``; the solver's ``recipe-runs-on-onnx`` constraint).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from advisor.problems import ProblemError
from advisor.run.data import model_problems
from advisor.run.steps.runctx import RunContext, StepFailed

CHILD_TIMEOUT = 1800.0  # seconds
# NOTE: onnx2tf's own ONNX-vs-TensorFlow output check defaults to atol 1e-4, rtol 0
# (PINTO0309/onnx2tf:onnx2tf/onnx2tf.py, check_onnx_tf_outputs_elementwise_close_atol/_rtol); the relative part
# here allows for float32 rounding, which grows with the size of the outputs (logits, reconstructions).
PARITY_ATOL, PARITY_RTOL = 1e-4, 1e-4
PARITY_SAMPLES = 256


def _tflm_ops() -> set[str]:
    import yaml

    from advisor.resources import KNOWLEDGE

    data = yaml.safe_load((KNOWLEDGE / "operators" / "tflite-micro-ops.yaml").read_text(encoding="utf-8"))
    return {op["name"] for op in data["ops"]}


def _probe(ctx: RunContext):
    return ctx.data.get("x_test", ctx.data.get("x_train", ctx.data.get("x_rep")))


def load(ctx: RunContext, params: dict) -> dict:
    """Read the ONNX model as data, fix its shapes from the data, refuse nodes TFLite Micro cannot run.

    Raises:
        ProblemError: (exit 2) not ONNX, unsafe, dynamic shapes the data cannot fix, a node that would become
            a Flex op or has no TFLM kernel (named), data that does not fit the model.
    """
    from advisor.profile.onnx_ops import build_graph
    from advisor.profile.onnx_profile import node_problems
    from advisor.profile.onnx_read import graph_inputs, read_onnx

    probe = _probe(ctx)
    om = read_onnx(ctx.model_path, tuple(probe.shape[1:]) if probe is not None else ())
    name = om.name
    inputs, outputs = graph_inputs(om.model), list(om.model.graph.output)
    if len(inputs) != 1 or len(outputs) != 1:
        raise ProblemError([_problem(name, f"{len(inputs)} inputs and {len(outputs)} outputs: runs convert models "
                                           "with one input and one output")])
    graph, mapped = build_graph(om)
    problems = node_problems(mapped, name, _tflm_ops())
    if problems:
        raise ProblemError(problems)
    in_shape = om.input_shapes[inputs[0].name][1:]
    out_shape = graph.tensors[graph.outputs[0]].shape[1:]
    ctx.source_format, ctx.onnx_model = "onnx", om
    ctx.format_steps = {"convert": convert, "evaluate": evaluate}
    ctx.kind = "autoencoder" if tuple(in_shape) == tuple(out_shape) else "classification"
    classes = int(out_shape[-1]) if ctx.kind == "classification" and out_shape else None
    problems = model_problems(ctx.data, ctx.data_name, tuple(in_shape), classes)
    if problems:
        raise ProblemError(problems)
    if ctx.kind == "classification" and probe is not None:
        sums = onnx_outputs(ctx, probe[:4]).sum(axis=-1)
        ctx.from_logits = not np.allclose(sums, 1.0, atol=1e-3)
    weights = sum(t.data_bytes // max(t.itemsize, 1) for t in graph.tensors if t.has_data)
    return {"format": "onnx", "opset": om.opset, "parameters": int(weights), "kind": ctx.kind,
            "input_shape": list(in_shape), "output_shape": list(out_shape)}


def _problem(name: str, message: str):
    from advisor.problems import Problem

    return Problem(name, 0, "", message, "model")


def onnx_outputs(ctx: RunContext, x: np.ndarray) -> np.ndarray:
    """The float ONNX model's outputs (onnxruntime, one sample at a time: the batch axis is fixed to 1)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(ctx.onnx_model.model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return np.concatenate([session.run(None, {name: s[None, ...].astype(np.float32)})[0] for s in x])


def convert(ctx: RunContext, params: dict) -> dict:
    """onnx2tf then the TFLite converter, in a child process; also writes the float32 reference .tflite.

    Raises:
        StepFailed: a converter refused the model (its stage and message), died (the signal) or timed out.
    """
    import onnx

    from advisor.run.steps.tflite_steps import converted, run_converter

    mode = params["mode"]
    path, reference = ctx.run_dir / "model.tflite", ctx.run_dir / "model-float32-reference.tflite"

    def inputs(work):
        onnx.save(ctx.onnx_model.model, str(work / "model.onnx"))
        return [str(work / "model.onnx"), str(work), str(path), mode, str(reference)]

    proc = run_converter(ctx, params, "advisor.run.onnx_convert_child", "the ONNX converter", inputs)
    size = converted(ctx, proc, "ONNX converter", mode, path)
    ctx.float_reference = reference
    ctx.artifacts[reference.name] = reference
    return size


def _tflite_outputs(path: Path, x: np.ndarray) -> np.ndarray:
    from advisor.run.steps.tflite_steps import _dequantize, _interpreter, _quantize

    interpreter = _interpreter(path)
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.resize_tensor_input(inp["index"], (1,) + x.shape[1:])
    interpreter.allocate_tensors()
    outputs = []
    for sample in x:
        interpreter.set_tensor(inp["index"], _quantize(sample[None, ...], inp))
        interpreter.invoke()
        outputs.append(_dequantize(interpreter.get_tensor(out["index"]), out)[0])
    return np.stack(outputs)


def evaluate(ctx: RunContext, params: dict) -> dict:
    """Float parity (ONNX vs the converted float32 .tflite), then the scores of ONNX, float and recipe models.

    Raises:
        StepFailed: the float conversion differs from the ONNX model beyond the tolerance (a wrong layout or
            operator lowering); the figures are in metrics.json.
    """
    from advisor.run.steps.tflite_steps import score

    x, y = ctx.data.get("x_test"), ctx.data.get("y_test")
    probe = x if x is not None else _probe(ctx)
    if probe is None:
        probe = np.random.default_rng(ctx.seed).standard_normal((16,) + tuple(
            ctx.onnx_model.input_shapes[next(iter(ctx.onnx_model.input_shapes))][1:])).astype(np.float32)
    sample = probe[:PARITY_SAMPLES].astype(np.float32)
    ref = onnx_outputs(ctx, sample)
    got = _tflite_outputs(ctx.float_reference, sample)
    diff = float(np.abs(ref - got).max()) if ref.shape == got.shape else float("inf")
    tolerance = PARITY_ATOL + PARITY_RTOL * float(np.abs(ref).max())
    parity = {"reference": "onnxruntime", "converted": ctx.float_reference.name, "samples": len(sample),
              "max_abs_diff": diff if np.isfinite(diff) else None, "tolerance": round(tolerance, 8),
              "within": bool(np.isfinite(diff) and diff <= tolerance)}
    result: dict = {"parity": parity}
    if x is not None and y is not None:
        float_ref = ref if len(sample) == len(x) else onnx_outputs(ctx, x)
        result["float"] = score(ctx, float_ref, x, y)
        converted = got if len(sample) == len(x) else _tflite_outputs(ctx.float_reference, x)
        parity["float_tflite"] = score(ctx, converted, x, y)
        result["tflite"] = score(ctx, _tflite_outputs(ctx.tflite_path, x), x, y)
    ctx.metrics.update(result)
    if not parity["within"]:
        shapes = "" if ref.shape == got.shape else f" (output shapes {ref.shape[1:]} vs {got.shape[1:]})"
        raise StepFailed(f"the converted float model differs from the ONNX model by {diff:.3g} (tolerance "
                         f"{tolerance:.3g}){shapes}: a layout transpose or an operator was converted wrongly")
    return result
