"""ONNX nodes as the TFLite operators they become, and the model as a ``tflite.Graph`` the profiler plans.

NOTE: the names are what onnx2tf (PINTO0309/onnx2tf:onnx2tf/ops/<Op>.py, one module per ONNX operator)
emits and the TFLite converter lowers to builtins; ``run`` converts for real and checks the result.
What is estimated here: sizes, MACs and the arena. Weight shapes are rewritten to the TFLite layout
(CONV_2D ``[out, kh, kw, in]``, DEPTHWISE_CONV_2D ``[1, kh, kw, out]``, FULLY_CONNECTED ``[out, in]``)
so ``advisor.profile.model`` counts MACs the same way for both formats; activation shapes keep the
ONNX layout (the element counts, and so the bytes, are the same in NCHW and NHWC).
Subgraphs whose inputs are all constants (shape arithmetic in PyTorch exports) are folded, as the
converters fold them; a constant bias Add, a BatchNormalization and a ReLU/ReLU6 right after a
convolution or a fully connected layer are fused into it (TFLite's ``fused_activation_function``, tensorflow/tensorflow:tensorflow/compiler/mlir/lite/schema/schema.fbs).
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.profile.onnx_read import DTYPES, OnnxModel, graph_inputs
from advisor.profile.tflite import Graph, Operator, Tensor

SIMPLE = {
    "Relu": "RELU", "LeakyRelu": "LEAKY_RELU", "PRelu": "PRELU", "Sigmoid": "LOGISTIC", "Tanh": "TANH",
    "HardSwish": "HARD_SWISH", "Softmax": "SOFTMAX", "LogSoftmax": "LOG_SOFTMAX", "Add": "ADD", "Sub": "SUB",
    "Mul": "MUL", "Div": "DIV", "Max": "MAXIMUM", "Min": "MINIMUM", "Abs": "ABS", "Neg": "NEG", "Sqrt": "SQRT",
    "Exp": "EXP", "Log": "LOG", "Pow": "POW", "Reshape": "RESHAPE", "Flatten": "RESHAPE", "Squeeze": "RESHAPE",
    "Unsqueeze": "RESHAPE", "Transpose": "TRANSPOSE", "Concat": "CONCATENATION", "Pad": "PAD",
    "ReduceMean": "MEAN", "GlobalAveragePool": "MEAN", "ReduceMax": "REDUCE_MAX", "GlobalMaxPool": "REDUCE_MAX",
    "ReduceSum": "SUM", "Split": "SPLIT", "Slice": "STRIDED_SLICE", "Gather": "GATHER", "Cast": "CAST",
    "ConvTranspose": "TRANSPOSE_CONV", "MaxPool": "MAX_POOL_2D", "AveragePool": "AVERAGE_POOL_2D",
    "Gelu": "GELU", "Floor": "FLOOR", "Ceil": "CEIL", "Round": "ROUND", "Equal": "EQUAL", "Greater": "GREATER",
    "Less": "LESS", "Where": "SELECT_V2", "ArgMax": "ARG_MAX", "ArgMin": "ARG_MIN", "Tile": "TILE",
    "Expand": "BROADCAST_TO", "Shape": "SHAPE", "DepthToSpace": "DEPTH_TO_SPACE", "SpaceToDepth": "SPACE_TO_DEPTH",
    "LSTM": "UNIDIRECTIONAL_SEQUENCE_LSTM", "Sin": "SIN", "Cos": "COS", "Reciprocal": "DIV",
}
# onnx2tf lowers these to TensorFlow ops without a TFLite builtin (PINTO0309/onnx2tf:onnx2tf/ops/Erf.py uses
# tf.math.erf unless -rtpo erf replaces it): a converter run needs SELECT_TF_OPS, which TFLite Micro lacks.
FLEX = {"Erf": "FlexErf", "Einsum": "FlexEinsum", "NonZero": "FlexWhere", "Unique": "FlexUnique"}
REMOVED = {"Identity", "Dropout"}
FUSES_ACTIVATION = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "MUL"}
CONV_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"}  # a following BatchNormalization folds into them
CONTROL_FLOW = {"If", "Loop", "Scan"}


@dataclass(frozen=True)
class NodeOp:
    node: str  # the ONNX node's name (its first output when unnamed)
    onnx_op: str
    op: str  # TFLite builtin, CUSTOM:Flex<Op> or ONNX:<Op> (no known lowering)


def node_name(node) -> str:
    return node.name or (node.output[0] if node.output else node.op_type)


def _attr(node, key: str, default=None):
    import onnx

    for a in node.attribute:
        if a.name == key:
            return onnx.helper.get_attribute_value(a)
    return default


class _Builder:
    """Tensors and operators of the synthetic TFLite graph, built node by node."""

    def __init__(self, om: OnnxModel):
        import onnx

        self.om, self.onnx = om, onnx
        graph = om.model.graph
        self.shapes: dict[str, tuple[tuple[int, ...], int]] = {}  # name -> (shape, ONNX elem type)
        for v in list(graph.input) + list(graph.value_info) + list(graph.output):
            t = v.type.tensor_type
            if t.HasField("shape"):
                self.shapes[v.name] = (tuple(max(d.dim_value, 0) for d in t.shape.dim), t.elem_type)
        self.const = {t.name for t in graph.initializer}
        for t in graph.initializer:
            self.shapes[t.name] = (tuple(t.dims), t.data_type)
        self.tensors: list[Tensor] = []
        self.index: dict[str, int] = {}
        self.alias: dict[str, str] = {}
        self.ops: list[Operator] = []
        self.consumers: dict[str, int] = {}
        for node in graph.node:
            for name in node.input:
                self.consumers[name] = self.consumers.get(name, 0) + 1

    def tensor(self, name: str, shape: tuple[int, ...] | None = None) -> int:
        """The index of ``name`` (``shape`` overrides its shape: a weight in TFLite layout gets its own entry)."""
        name = self.alias.get(name, name)
        key = name if shape is None else f"{name}#tflite"
        if key in self.index:
            return self.index[key]
        base, elem = self.shapes.get(name, ((), 1))
        dtype, itemsize = DTYPES.get(elem, ("FLOAT32", 4))
        shape = base if shape is None else shape
        elements = 1
        for d in shape:
            elements *= d
        const = name in self.const
        self.tensors.append(Tensor(len(self.tensors), name, tuple(shape), dtype, itemsize, 0, const,
                                   elements * itemsize if const else 0, False, False))
        self.index[key] = len(self.tensors) - 1
        return self.index[key]

    def fold(self, node) -> bool:
        """A node computed from constants only (or a Shape of a static tensor) becomes a constant."""
        inputs = [i for i in node.input if i]
        if node.op_type in ("Constant", "Shape") or (inputs and all(self.alias.get(i, i) in self.const for i in inputs)):
            self.const.update(node.output)
            return True
        return False

    def add(self, node, op: str) -> None:
        inputs, options = self._inputs(node, op)
        outputs = tuple(self.tensor(o) for o in node.output if o)
        options |= {"onnx_node": node_name(node), "onnx_op": node.op_type}
        self.ops.append(Operator(len(self.ops), op, inputs, outputs, options))

    def _inputs(self, node, op: str) -> tuple[tuple[int, ...], dict]:
        names = [i for i in node.input if i]
        x_shape = self.shapes.get(self.alias.get(names[0], names[0]), ((), 1))[0] if names else ()
        if op in ("CONV_2D", "DEPTHWISE_CONV_2D") and len(names) > 1:
            w = self.shapes.get(names[1], ((), 1))[0]
            k = tuple(w[2:]) if len(w) == 4 else (1,) + tuple(w[2:3])
            shape = (1,) + k + (w[0],) if op == "DEPTHWISE_CONV_2D" else (w[0],) + k + (w[1] if len(w) > 1 else 1,)
            rest = tuple(self.tensor(n) for n in names[2:])
            return (self.tensor(names[0]), self.tensor(names[1], shape)) + rest, _window(node, with_filter=False)
        if op == "FULLY_CONNECTED" and len(names) > 1:
            w = self.shapes.get(names[1], ((), 1))[0]
            transposed = node.op_type == "Gemm" and _attr(node, "transB", 0)
            shape = tuple(w) if transposed else tuple(reversed(w))
            rest = tuple(self.tensor(n) for n in names[2:])
            return (self.tensor(names[0]), self.tensor(names[1], shape)) + rest, {}
        if op == "TRANSPOSE_CONV" and len(names) > 1:
            w = self.shapes.get(names[1], ((), 1))[0]  # ONNX [in, out/groups, kh, kw]
            k = tuple(w[2:]) if len(w) == 4 else (1,) + tuple(w[2:3])
            shape = (w[1] * int(_attr(node, "group", 1)),) + k + (w[0],)
            return (-1, self.tensor(names[1], shape), self.tensor(names[0])), {}
        options = _window(node, with_filter=True) if op in ("MAX_POOL_2D", "AVERAGE_POOL_2D") and x_shape else {}
        return tuple(self.tensor(n) for n in names), options


def _window(node, with_filter: bool) -> dict:
    kernel = list(_attr(node, "kernel_shape", []) or [])
    strides = list(_attr(node, "strides", []) or [1] * max(len(kernel), 2))
    pads = list(_attr(node, "pads", []) or [])
    auto = _attr(node, "auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else str(auto)
    padding = "same" if auto.startswith("SAME") or any(pads) else "valid"
    two = lambda v: (1, v[0]) if len(v) == 1 else (v[0], v[1])
    out = {"padding": padding, "stride": two(strides or [1])}
    if with_filter and kernel:
        out["filter"] = two(kernel)
    return out


def tflite_op(node, builder: _Builder | None = None) -> str:
    """The TFLite operator an ONNX node becomes ('' when the converter drops it)."""
    op = node.op_type
    if op in REMOVED:
        return ""
    if op in FLEX:
        return f"CUSTOM:{FLEX[op]}"
    if op in CONTROL_FLOW:
        return f"ONNX:{op}"
    if op == "Conv":
        group = int(_attr(node, "group", 1))
        w = builder.shapes.get(node.input[1], ((), 1))[0] if builder and len(node.input) > 1 else ()
        if len(w) == 5:
            return "CONV_3D"
        # NOTE: onnx2tf makes a depthwise convolution when group == input channels (onnx2tf/ops/Conv.py)
        return "DEPTHWISE_CONV_2D" if group > 1 and len(w) > 1 and w[1] == 1 else "CONV_2D"
    if op in ("Gemm", "MatMul"):
        b = node.input[1] if len(node.input) > 1 else ""
        if builder and builder.alias.get(b, b) in builder.const and len(builder.shapes.get(b, ((), 1))[0]) == 2:
            return "FULLY_CONNECTED"
        return "BATCH_MATMUL"
    if op == "Clip":
        return "RELU6"
    if op == "BatchNormalization":
        return "MUL"
    if op == "Resize":
        mode = _attr(node, "mode", b"nearest")
        return "RESIZE_BILINEAR" if (mode.decode() if isinstance(mode, bytes) else mode) == "linear" \
            else "RESIZE_NEAREST_NEIGHBOR"
    return SIMPLE.get(op, f"ONNX:{op}")


def build_graph(om: OnnxModel) -> tuple[Graph, list[NodeOp]]:
    """The synthetic TFLite graph of ``om`` and, per ONNX node kept, the operator it becomes."""
    b = _Builder(om)
    graph = om.model.graph
    mapped: list[NodeOp] = []
    producers: dict[str, Operator] = {}
    inputs = tuple(b.tensor(v.name) for v in graph_inputs(om.model))
    for node in graph.node:
        if b.fold(node):
            continue
        op = tflite_op(node, b)
        if not op:
            if node.input and node.output:
                b.alias[node.output[0]] = b.alias.get(node.input[0], node.input[0])
            continue
        mapped.append(NodeOp(node_name(node), node.op_type, op))
        source = producers.get(b.alias.get(node.input[0], node.input[0])) if node.input else None
        bias = op == "ADD" and any(b.alias.get(i, i) in b.const for i in node.input[1:2])
        fuses = CONV_OPS if node.op_type == "BatchNormalization" or bias else FUSES_ACTIVATION
        fusable = op in ("RELU", "RELU6") or node.op_type == "BatchNormalization" or bias
        if fusable and source is not None and source.op in fuses and \
                b.consumers.get(node.input[0], 0) == 1:
            b.alias[node.output[0]] = b.alias.get(node.input[0], node.input[0])  # NOTE: fused into its producer
            continue
        b.add(node, op)
        for o in node.output:
            producers[o] = b.ops[-1]
    outputs = tuple(b.tensor(v.name) for v in graph.output)
    return Graph(tuple(b.tensors), tuple(b.ops), inputs, outputs, 1, om.file_bytes, graph.name), mapped
