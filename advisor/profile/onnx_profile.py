"""Profile an .onnx model without TensorFlow: the same ``ModelProfile`` as a .tflite, and the nodes TFLM cannot run.

The graph is read by ``advisor.profile.onnx_read`` (data only, never code) and mapped to the TFLite operators
it becomes by ``advisor.profile.onnx_ops``; ``advisor.profile.model.load_model`` plans it like a .tflite.
"""

from __future__ import annotations

from pathlib import Path

from advisor.problems import Problem
from advisor.profile.onnx_ops import NodeOp, build_graph
from advisor.profile.onnx_read import read_onnx
from advisor.profile.tflite import Graph


def onnx_graph(path: Path | str, shape: tuple[int, ...] = ()) -> tuple[Graph, list[str]]:
    """The .onnx file as a TFLite-like graph to profile, and notes on how it was read.

    Args:
        path: the model.
        shape: the input shape without the batch axis, to fix dynamic dimensions (``()``: none given).
    Raises:
        ProblemError: see ``advisor.profile.onnx_read.read_onnx``.
    """
    om = read_onnx(path, shape)
    graph, mapped = build_graph(om)
    notes = [f"ONNX opset {om.opset}: operators are the TFLite builtins onnx2tf and the TFLite converter are "
             "expected to produce (`tinyml-advisor run` converts and checks); activation shapes keep the ONNX "
             "(channels-first) layout"]
    odd = [m for m in mapped if m.op.startswith(("CUSTOM:", "ONNX:"))]
    for m in odd[:5]:
        notes.append(f"node '{m.node}' ({m.onnx_op}) becomes {m.op}: " + (
            "a TensorFlow (Flex) op, which needs SELECT_TF_OPS" if m.op.startswith("CUSTOM:") else
            "no known TFLite builtin"))
    return graph, notes


def node_problems(mapped: list[NodeOp], name: str, supported: set[str]) -> list[Problem]:
    """One problem per ONNX node whose operator TFLite Micro cannot run (Flex, unmapped, or no TFLM kernel)."""
    out = []
    for m in mapped:
        if m.op.startswith("CUSTOM:"):
            why = (f"becomes the TensorFlow op {m.op[7:]} (a Flex/SELECT_TF op): TFLite Micro has no Flex "
                   "delegate")
        elif m.op.startswith("ONNX:"):
            why = "has no TFLite builtin that onnx2tf is known to lower it to"
        elif m.op not in supported:
            why = f"becomes {m.op}, which TFLite Micro has no kernel for"
        else:
            continue
        out.append(Problem(name, 0, "", f"node '{m.node}' ({m.onnx_op}) {why}", "model",
                           _hint(m.onnx_op)))
    return out


def _hint(op: str) -> str:
    if op in ("Erf", "Gelu"):
        return "use ReLU or ReLU6 instead of GELU (TFLite Micro has neither a GELU nor an Erf kernel)"
    return "replace the layer before exporting"
