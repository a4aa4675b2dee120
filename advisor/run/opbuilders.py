"""One-op TensorFlow models, keyed by TFLite builtin operator name, for probing a runtime.

Each builder takes the ``tf`` module and returns (input specs, function[, variables]); a spec is a
shape (the probe's float or quantized input) or (shape, dtype name) for an input of a fixed dtype.
How a claimed dtype becomes a model is :func:`plan_for`'s job: float32 is a plain conversion, int8
full-integer, int16 the 16x8 scheme, int32/bool/uint8 a plain conversion with inputs of that dtype.
Claims the converter cannot make are made by editing a converted model (:mod:`advisor.run.opedits`).
TensorFlow is imported only inside :func:`build_tflite`.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

SEED = 1234


def _w(tf, *shape):
    return tf.constant(np.random.default_rng(SEED).standard_normal(shape).astype("float32") * 0.3)


def _image(fn, shape=(1, 8, 8, 4)):
    return lambda tf: ([shape], lambda x: fn(tf, x))


def _pair(fn, shape=(1, 8, 8, 4)):
    return lambda tf: ([shape, shape], lambda x, y: fn(tf, x, y))


def _positive(tf, y):
    """A denominator that is never zero, built from ops every divide probe's dtype also has."""
    return y * y + tf.ones_like(y)


def _prelu(tf):
    # NOTE: the converter fuses exactly the Keras PReLU pattern (relu(x) - alpha * relu(-x)) into PRELU.
    alpha = tf.constant(np.linspace(0.1, 0.4, 4, dtype="float32").reshape(1, 1, 4))
    return [(1, 8, 8, 4)], lambda x: tf.nn.relu(x) + (-alpha) * tf.nn.relu(-x)


def _update_slice(tf):
    from tensorflow.compiler.tf2xla.python import xla

    return [(1, 8, 8, 4), (1, 2, 2, 4)], lambda x, u: xla.dynamic_update_slice(x, u, tf.constant([0, 1, 2, 0]))


def _lstm(tf):
    layer = tf.keras.layers.LSTM(4, return_sequences=True, unroll=False)
    layer.build((1, 5, 3))
    return [(1, 5, 3)], lambda x: layer(x), layer.weights


def _variables(tf):
    # NOTE: a resource variable makes the converter emit the whole family: CALL_ONCE runs the init
    # subgraph (VAR_HANDLE + ASSIGN_VARIABLE), the main graph reads and assigns it.
    state = tf.Variable(tf.zeros([1, 4]))

    def step(x):
        state.assign(state * 0.5 + x)
        return state.read_value() + x

    return [(1, 4)], step, [state]


def _shuffle(tf, x):
    """Reorder the last axis: a body op that works on raw int8 tensors as well as float ones."""
    return tf.gather(x, [3, 2, 1, 0], axis=-1)


def _if(tf):
    # NOTE: inputs are ordered by argument name in the converted signature, so the condition comes first.
    return [((), "bool"), (1, 4)], lambda c, x: tf.cond(c, lambda: _shuffle(tf, x), lambda: x * 1)


def _while(tf):
    def run(x):
        return tf.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, _shuffle(tf, a)), [tf.constant(0), x])[1]

    return [(1, 4)], run


Builder = Callable[[object], tuple]

BUILDERS: dict[str, Builder] = {
    "ABS": _image(lambda tf, x: tf.abs(x)),
    "ADD": _pair(lambda tf, x, y: x + y),
    "ADD_N": lambda tf: ([(1, 4, 4, 2)] * 3, lambda a, b, c: tf.add_n([a, b, c])),
    "ARG_MAX": _image(lambda tf, x: tf.argmax(x, axis=-1, output_type=tf.int32)),
    "ARG_MIN": _image(lambda tf, x: tf.argmin(x, axis=-1, output_type=tf.int32)),
    "ASSIGN_VARIABLE": _variables,
    "AVERAGE_POOL_2D": _image(lambda tf, x: tf.nn.avg_pool2d(x, 2, 2, "VALID")),
    "BATCH_MATMUL": lambda tf: ([(1, 4, 8), (1, 8, 4)], lambda x, y: tf.matmul(x, y)),
    "BATCH_TO_SPACE_ND": _image(lambda tf, x: tf.batch_to_space(x, [2, 2], [[0, 0], [0, 0]]), (4, 4, 4, 2)),
    "BROADCAST_ARGS": lambda tf: ([(4,)], lambda s: tf.raw_ops.BroadcastArgs(s0=s * 0 + 1, s1=tf.constant([2, 3, 1, 4]))),
    "BROADCAST_TO": _image(lambda tf, x: tf.broadcast_to(x, [2, 8, 8, 4]), (1, 8, 1, 4)),
    "CALL_ONCE": _variables,
    "CAST": _image(lambda tf, x: tf.cast(x, tf.int32 if x.dtype == tf.float32 else tf.float32)),
    "CEIL": _image(lambda tf, x: tf.math.ceil(x)),
    "CONCATENATION": _pair(lambda tf, x, y: tf.concat([x, y], axis=-1)),
    "CONV_2D": _image(lambda tf, x: tf.nn.conv2d(x, _w(tf, 3, 3, 4, 8), 1, "SAME")),
    "COS": _image(lambda tf, x: tf.cos(x)),
    "CUMSUM": _image(lambda tf, x: tf.cumsum(x, axis=1)),
    "DEPTHWISE_CONV_2D": _image(lambda tf, x: tf.nn.depthwise_conv2d(x, _w(tf, 3, 3, 4, 1), [1, 1, 1, 1], "SAME")),
    "DEPTH_TO_SPACE": _image(lambda tf, x: tf.nn.depth_to_space(x, 2)),
    "DEQUANTIZE": _image(lambda tf, x: tf.nn.relu(x)),
    "DIV": _pair(lambda tf, x, y: tf.raw_ops.Div(x=x, y=_positive(tf, y))),
    "DYNAMIC_UPDATE_SLICE": _update_slice,
    "ELU": _image(lambda tf, x: tf.nn.elu(x)),
    "EQUAL": _pair(lambda tf, x, y: tf.equal(x, y)),
    "EXP": _image(lambda tf, x: tf.exp(x)),
    # NOTE: with a static shape the converter rewrites EXPAND_DIMS and SQUEEZE as RESHAPE; an unknown
    # batch size keeps them (TFLM then runs the model at batch 1).
    "EXPAND_DIMS": _image(lambda tf, x: tf.expand_dims(x, 1), (None, 8, 4)),
    "FILL": lambda tf: ([(1,)], lambda x: tf.fill([2, 3], tf.reshape(x, []))),
    "FLOOR": _image(lambda tf, x: tf.floor(x)),
    "FLOOR_DIV": _pair(lambda tf, x, y: tf.math.floordiv(x, _positive(tf, y))),
    "FLOOR_MOD": _pair(lambda tf, x, y: tf.math.floormod(x, _positive(tf, y))),
    "FULLY_CONNECTED": lambda tf: ([(1, 16)], lambda x: tf.matmul(x, _w(tf, 16, 8))),
    "GATHER": lambda tf: ([(1, 10)], lambda x: tf.gather(x, tf.constant([0, 3, 5]), axis=1)),
    "GATHER_ND": lambda tf: ([(4, 6)], lambda x: tf.gather_nd(x, tf.constant([[0, 1], [2, 3], [3, 5]]))),
    "GREATER": _pair(lambda tf, x, y: tf.greater(x, y)),
    "GREATER_EQUAL": _pair(lambda tf, x, y: tf.greater_equal(x, y)),
    "HARD_SWISH": _image(lambda tf, x: x * tf.nn.relu6(x + 3.0) * (1.0 / 6.0)),
    "IF": _if,
    "L2_NORMALIZATION": _image(lambda tf, x: tf.math.l2_normalize(x, axis=-1)),
    "L2_POOL_2D": _image(lambda tf, x: tf.sqrt(tf.nn.avg_pool2d(tf.square(x), 2, 2, "VALID"))),
    "LEAKY_RELU": _image(lambda tf, x: tf.nn.leaky_relu(x, 0.2)),
    "LESS": _pair(lambda tf, x, y: tf.less(x, y)),
    "LESS_EQUAL": _pair(lambda tf, x, y: tf.less_equal(x, y)),
    "LOG": _image(lambda tf, x: tf.math.log(tf.abs(x) + 1.0)),
    "LOGICAL_AND": _pair(lambda tf, x, y: tf.logical_and(x, y)),
    "LOGICAL_NOT": _image(lambda tf, x: tf.logical_not(x)),
    "LOGICAL_OR": _pair(lambda tf, x, y: tf.logical_or(x, y)),
    "LOGISTIC": _image(lambda tf, x: tf.sigmoid(x)),
    "LOG_SOFTMAX": lambda tf: ([(1, 10)], lambda x: tf.nn.log_softmax(x)),
    "MAXIMUM": _pair(lambda tf, x, y: tf.maximum(x, y)),
    "MAX_POOL_2D": _image(lambda tf, x: tf.nn.max_pool2d(x, 2, 2, "VALID")),
    "MEAN": _image(lambda tf, x: tf.reduce_mean(x, axis=[1, 2])),
    "MINIMUM": _pair(lambda tf, x, y: tf.minimum(x, y)),
    "MIRROR_PAD": _image(lambda tf, x: tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="REFLECT")),
    "MUL": _pair(lambda tf, x, y: x * y),
    "NEG": _image(lambda tf, x: -x),
    "NOT_EQUAL": _pair(lambda tf, x, y: tf.not_equal(x, y)),
    "PACK": _pair(lambda tf, x, y: tf.stack([x, y], axis=1)),
    "PAD": _image(lambda tf, x: tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])),
    "PADV2": _image(lambda tf, x: tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], constant_values=0.5)),
    "PRELU": _prelu,
    "QUANTIZE": _image(lambda tf, x: tf.nn.relu(x)),
    "READ_VARIABLE": _variables,
    "REDUCE_ALL": _image(lambda tf, x: tf.reduce_all(x, axis=[1, 2])),
    "REDUCE_MAX": _image(lambda tf, x: tf.reduce_max(x, axis=[1, 2])),
    "REDUCE_MIN": _image(lambda tf, x: tf.reduce_min(x, axis=[1, 2])),
    "RELU": _image(lambda tf, x: tf.nn.relu(x)),
    "RELU6": _image(lambda tf, x: tf.nn.relu6(x)),
    "RESHAPE": _image(lambda tf, x: tf.reshape(x, [1, 16, 16])),
    "RESIZE_BILINEAR": _image(lambda tf, x: tf.compat.v1.image.resize_bilinear(x, [16, 16])),
    "RESIZE_NEAREST_NEIGHBOR": _image(lambda tf, x: tf.compat.v1.image.resize_nearest_neighbor(x, [16, 16])),
    "REVERSE_V2": _image(lambda tf, x: tf.reverse(x, [1])),
    "ROUND": _image(lambda tf, x: tf.round(x)),
    "RSQRT": _image(lambda tf, x: tf.math.rsqrt(tf.abs(x) + 1.0)),
    "SELECT_V2": lambda tf: ([((1, 1, 1, 4), "bool"), (1, 8, 8, 4), (1, 8, 8, 4)],
                             lambda c, x, y: tf.where(c, x, y)),
    "SHAPE": lambda tf: ([(None, 4)], lambda x: tf.shape(x)),
    "SIN": _image(lambda tf, x: tf.sin(x)),
    "SLICE": _image(lambda tf, x: tf.slice(x, [0, 1, 1, 0], [1, 4, 4, 4])),
    "SOFTMAX": lambda tf: ([(1, 10)], lambda x: tf.nn.softmax(x)),
    "SPACE_TO_BATCH_ND": _image(lambda tf, x: tf.space_to_batch(x, [2, 2], [[0, 0], [0, 0]])),
    "SPACE_TO_DEPTH": _image(lambda tf, x: tf.nn.space_to_depth(x, 2)),
    "SPLIT": _image(lambda tf, x: tuple(tf.split(x, 2, axis=-1))),
    "SPLIT_V": _image(lambda tf, x: tuple(tf.split(x, [1, 3], axis=-1))),
    "SQRT": _image(lambda tf, x: tf.sqrt(tf.abs(x) + 1.0)),
    "SQUARE": _image(lambda tf, x: tf.square(x)),
    "SQUARED_DIFFERENCE": _pair(lambda tf, x, y: tf.math.squared_difference(x, y)),
    "SQUEEZE": _image(lambda tf, x: tf.squeeze(x, axis=[1]), (None, 1, None, 4)),
    "STRIDED_SLICE": _image(lambda tf, x: x[:, 1:7:2, :, :]),
    "SUB": _pair(lambda tf, x, y: x - y),
    "SUM": _image(lambda tf, x: tf.reduce_sum(x, axis=[1, 2])),
    "TANH": _image(lambda tf, x: tf.tanh(x)),
    "TRANSPOSE": _image(lambda tf, x: tf.transpose(x, [0, 3, 1, 2])),
    "TRANSPOSE_CONV": _image(lambda tf, x: tf.nn.conv2d_transpose(x, _w(tf, 3, 3, 8, 4), [1, 16, 16, 8], 2, "SAME")),
    "UNIDIRECTIONAL_SEQUENCE_LSTM": _lstm,
    "UNPACK": lambda tf: ([(1, 3, 4)], lambda x: tuple(tf.unstack(x, axis=1))),
    "VAR_HANDLE": _variables,
    "WHILE": _while,
    "ZEROS_LIKE": _image(lambda tf, x: tf.raw_ops.ZerosLike(x=x)),
}


# Models that only serve as the base of an edit (advisor.run.opedits), keyed like BUILDERS.
EDIT_BASES: dict[str, Builder] = {
    "GATHER_ROWS": lambda tf: ([(6, 4)], lambda x: tf.gather(x, tf.constant([0, 3, 5]), axis=0)),
}


@dataclass(frozen=True)
class Plan:
    """How to turn one (op, dtype) claim into a model.

    ``quantize``: None, "int8" or "int16" (16x8); ``typed``: the dtype of the free inputs when the
    model is not quantized (None = float32); ``float_in``/``float_out``: keep float model I/O
    around a quantized body (so the converter emits QUANTIZE / DEQUANTIZE); ``edit``: the name of a
    flatbuffer edit in :data:`advisor.run.opedits.EDITS`, applied after conversion.
    """

    quantize: str | None = None
    typed: str | None = None
    float_in: bool = False
    float_out: bool = False
    edit: str | None = None


QUANTIZED = ("int8", "int16")
TYPED_ONLY = {"CAST"}  # ops whose quantized claims mean "an input of that dtype", not a quantized graph
# (op, dtype) -> plan, where the default (see plan_for) would not produce the claimed op and dtype
SPECIAL: dict[tuple[str, str], Plan] = {
    ("QUANTIZE", "float32"): Plan(quantize="int8", float_in=True),
    ("DEQUANTIZE", "int8"): Plan(quantize="int8", float_out=True),
    ("DEQUANTIZE", "int16"): Plan(quantize="int16", float_out=True),
    ("IF", "bool"): Plan(),  # the condition is bool whatever the data dtype
    # NOTE: the converter keeps control flow in float around a quantized body; a raw int8 model
    # (its branch / body op, GATHER, needs no quantization) shows int8 tensors passing through.
    ("IF", "int8"): Plan(typed="int8"),
    ("WHILE", "int8"): Plan(typed="int8"),
}


def plan_for(op: str, dtype: str) -> Plan | None:
    """The plan for probing ``op`` on ``dtype``, or None when no builder can make it."""
    from advisor.run.opedits import EDITS

    for name, edit in EDITS.items():
        if (op, dtype) in edit.makes:
            return Plan(edit.quantize, edit.typed, edit.float_in, edit.float_out, edit=name)
    if op not in BUILDERS:
        return None
    if (op, dtype) in SPECIAL:
        return SPECIAL[(op, dtype)]
    if op in TYPED_ONLY or dtype not in (*QUANTIZED, "float32"):
        return Plan(typed=None if dtype == "float32" else dtype)
    return Plan(quantize=dtype if dtype in QUANTIZED else None)


VARIABLE_OPS = {"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE"}


def ops_in(data: bytes) -> dict[str, set[str]]:
    """The builtin operators a .tflite flatbuffer uses, each with the dtypes it works on.

    An op's dtypes are those of its non-constant input tensors and its outputs, so a constant
    shape or index tensor does not count; QUANTIZE and DEQUANTIZE count their inputs only; the
    resource-variable ops (and CALL_ONCE, which initialises them) count the variables' dtype.
    """
    from tflite_micro.python.tflite_micro.runtime import (
        get_builtin_code_from_operator_code,
    )
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    type_names = {v: k.lower() for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    model = schema.Model.GetRootAs(data, 0)
    codes = [op_names.get(get_builtin_code_from_operator_code(model.OperatorCodes(i)), "CUSTOM")
             for i in range(model.OperatorCodesLength())]

    def constant(graph, t: int) -> bool:
        tensor = graph.Tensors(t)
        buf = model.Buffers(tensor.Buffer()) if tensor.Buffer() < model.BuffersLength() else None
        return buf is not None and (buf.DataLength() > 0 or buf.Offset() > 1) and not tensor.IsVariable()

    found: dict[str, set[str]] = {}
    variables: set[str] = set()
    for g in range(model.SubgraphsLength()):
        graph = model.Subgraphs(g)
        for i in range(graph.OperatorsLength()):
            op = graph.Operators(i)
            name = codes[op.OpcodeIndex()]
            tensors = [t for t in (op.Inputs(j) for j in range(op.InputsLength())) if t >= 0 and not constant(graph, t)]
            if name not in ("QUANTIZE", "DEQUANTIZE"):
                tensors += [op.Outputs(j) for j in range(op.OutputsLength())]
            dtypes = {type_names.get(graph.Tensors(t).Type(), "?") for t in tensors}
            found.setdefault(name, set()).update(dtypes)
            if name in ("READ_VARIABLE", "ASSIGN_VARIABLE"):
                variables |= dtypes - {"resource"}
    for name in VARIABLE_OPS & found.keys():
        found[name] |= variables  # a variable op works on the dtype of the variables it handles
    return found


def plans_for(op: str, dtype: str) -> list[Plan]:
    """The plans to try in order: :func:`plan_for`, then for a quantized claim the converter cannot
    quantize, the same graph on raw (unquantized) tensors of that dtype."""
    plan = plan_for(op, dtype)
    if plan is None:
        return []
    if plan.quantize and not plan.edit and not plan.float_in and not plan.float_out:
        return [plan, Plan(typed=dtype)]
    return [plan]


def describe(plan: Plan) -> str:
    """How a plan makes its model, in a few words for the probe report."""
    if plan.edit:
        from advisor.run.opedits import EDITS

        return f"converted model edited ({EDITS[plan.edit].why})"
    if plan.quantize:
        io = " with float input" if plan.float_in else " with float output" if plan.float_out else ""
        return ("full-integer int8" if plan.quantize == "int8" else "16x8 (int16 activations, int8 weights)") + io
    if plan.typed:
        return f"{plan.typed} input tensors, not quantized"
    return "float32"


def build_tflite(op: str, dtype: str) -> tuple[bytes, dict[str, set[str]], str]:
    """Convert the one-op model for ``op`` on ``dtype`` (see :func:`plans_for`).

    Returns:
        The flatbuffer bytes, per operator it contains its dtypes (see :func:`ops_in`), and how the
        model was made (:func:`describe`). When no plan yields ``op`` on ``dtype``, the first
        plan's model is returned so the caller can say what the converter made instead.

    Raises:
        KeyError: no builder for ``op`` on ``dtype``.
        Exception: whatever the converter raised when every plan failed to convert.
    """
    plans = plans_for(op, dtype)
    if not plans:
        raise KeyError(f"no one-op model builder for {op} on {dtype}")
    first, error = None, None
    for plan in plans:
        try:
            data = convert(_builder_of(op, plan), plan)
            if plan.edit:
                from advisor.run.opedits import EDITS

                data = EDITS[plan.edit].apply(data)
        except Exception as exc:  # noqa: BLE001 - the converter raises many types; try the next plan
            error = error or exc
            continue
        found = ops_in(data)
        if dtype in found.get(op, ()):
            return data, found, describe(plan)
        first = first or (data, found, describe(plan))
    if first is None:
        raise error
    return first


def _builder_of(op: str, plan: Plan) -> Builder:
    if plan.edit:
        from advisor.run.opedits import EDITS

        base = EDITS[plan.edit].base
        return BUILDERS.get(base) or EDIT_BASES[base]
    return BUILDERS[op]


def convert(builder: Builder, plan: Plan) -> bytes:
    """Run the TFLite converter on one builder's function as ``plan`` says."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    built = builder(tf)
    specs, fn = built[0], built[1]
    holder = tf.Module()
    holder.variables_ = list(built[2]) if len(built) > 2 else []
    free = tf.as_dtype(plan.typed or "float32")
    spec = [tf.TensorSpec(s[0], tf.as_dtype(s[1])) if _fixed(s) else tf.TensorSpec(s, free) for s in specs]
    func = tf.function(fn, input_signature=spec)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([func.get_concrete_function()], holder)
    converter.experimental_enable_resource_variables = True
    converter._experimental_enable_dynamic_update_slice = True  # no public switch
    if plan.quantize:
        _quantize(tf, converter, list(inspect.signature(fn).parameters), specs, plan)
    return converter.convert()


def _fixed(spec) -> bool:
    return len(spec) == 2 and isinstance(spec[1], str)


def _concrete(shape) -> tuple[int, ...]:
    return tuple(1 if d is None else d for d in shape)


def _quantize(tf, converter, names, specs, plan: Plan) -> None:
    rng = np.random.default_rng(SEED)

    def representative():
        # NOTE: keyed by argument name: the converted model does not keep the argument order.
        for _ in range(16):
            yield {name: rng.standard_normal(_concrete(s)).astype("float32") if not _fixed(s) else
                   (rng.standard_normal(_concrete(s[0])) > 0).astype(s[1]) for name, s in zip(names, specs)}

    io = tf.int8 if plan.quantize == "int8" else tf.int16
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8 if plan.quantize == "int8" else
                                           tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    converter.inference_input_type = tf.float32 if plan.float_in else io
    converter.inference_output_type = tf.float32 if plan.float_out else io
    converter._experimental_variable_quantization = True  # int8/int16 resource variables
