"""One-op TensorFlow models, keyed by TFLite builtin operator name, for probing a runtime.

Each builder takes the ``tf`` module and returns (input shapes, function). TensorFlow is imported
only inside :func:`build_tflite`.
"""

from __future__ import annotations

import os
from typing import Callable

import numpy as np

SEED = 1234


def _w(tf, *shape):
    return tf.constant(np.random.default_rng(SEED).standard_normal(shape).astype("float32") * 0.3)


def _image(fn, shape=(1, 8, 8, 4)):
    return lambda tf: ([shape], lambda x: fn(tf, x))


def _pair(fn, shape=(1, 8, 8, 4)):
    return lambda tf: ([shape, shape], lambda x, y: fn(tf, x, y))


Builder = Callable[[object], tuple[list[tuple[int, ...]], Callable]]

BUILDERS: dict[str, Builder] = {
    "ABS": _image(lambda tf, x: tf.abs(x)),
    "ADD": _pair(lambda tf, x, y: x + y),
    "ADD_N": lambda tf: ([(1, 4, 4, 2)] * 3, lambda a, b, c: tf.add_n([a, b, c])),
    "ARG_MAX": _image(lambda tf, x: tf.argmax(x, axis=-1, output_type=tf.int32)),
    "ARG_MIN": _image(lambda tf, x: tf.argmin(x, axis=-1, output_type=tf.int32)),
    "AVERAGE_POOL_2D": _image(lambda tf, x: tf.nn.avg_pool2d(x, 2, 2, "VALID")),
    "BATCH_TO_SPACE_ND": _image(lambda tf, x: tf.batch_to_space(x, [2, 2], [[0, 0], [0, 0]]), (4, 4, 4, 2)),
    "CONCATENATION": _pair(lambda tf, x, y: tf.concat([x, y], axis=-1)),
    "CONV_2D": _image(lambda tf, x: tf.nn.conv2d(x, _w(tf, 3, 3, 4, 8), 1, "SAME")),
    "DEPTHWISE_CONV_2D": _image(lambda tf, x: tf.nn.depthwise_conv2d(x, _w(tf, 3, 3, 4, 1), [1, 1, 1, 1], "SAME")),
    "DEPTH_TO_SPACE": _image(lambda tf, x: tf.nn.depth_to_space(x, 2)),
    "ELU": _image(lambda tf, x: tf.nn.elu(x)),
    "EXP": _image(lambda tf, x: tf.exp(x)),
    "FLOOR": _image(lambda tf, x: tf.floor(x)),
    "FULLY_CONNECTED": lambda tf: ([(1, 16)], lambda x: tf.matmul(x, _w(tf, 16, 8))),
    "GATHER": lambda tf: ([(1, 10)], lambda x: tf.gather(x, tf.constant([0, 3, 5]), axis=1)),
    "HARD_SWISH": _image(lambda tf, x: x * tf.nn.relu6(x + 3.0) * (1.0 / 6.0)),
    "L2_NORMALIZATION": _image(lambda tf, x: tf.math.l2_normalize(x, axis=-1)),
    "LEAKY_RELU": _image(lambda tf, x: tf.nn.leaky_relu(x, 0.2)),
    "LOG": _image(lambda tf, x: tf.math.log(tf.abs(x) + 1.0)),
    "LOGISTIC": _image(lambda tf, x: tf.sigmoid(x)),
    "LOG_SOFTMAX": lambda tf: ([(1, 10)], lambda x: tf.nn.log_softmax(x)),
    "MAXIMUM": _pair(lambda tf, x, y: tf.maximum(x, y)),
    "MAX_POOL_2D": _image(lambda tf, x: tf.nn.max_pool2d(x, 2, 2, "VALID")),
    "MEAN": _image(lambda tf, x: tf.reduce_mean(x, axis=[1, 2])),
    "MINIMUM": _pair(lambda tf, x, y: tf.minimum(x, y)),
    "MUL": _pair(lambda tf, x, y: x * y),
    "NEG": _image(lambda tf, x: -x),
    "PACK": _pair(lambda tf, x, y: tf.stack([x, y], axis=1)),
    "PAD": _image(lambda tf, x: tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])),
    "REDUCE_MAX": _image(lambda tf, x: tf.reduce_max(x, axis=[1, 2])),
    "RELU": _image(lambda tf, x: tf.nn.relu(x)),
    "RELU6": _image(lambda tf, x: tf.nn.relu6(x)),
    "RESHAPE": _image(lambda tf, x: tf.reshape(x, [1, 16, 16])),
    "RESIZE_BILINEAR": _image(lambda tf, x: tf.compat.v1.image.resize_bilinear(x, [16, 16])),
    "RESIZE_NEAREST_NEIGHBOR": _image(lambda tf, x: tf.compat.v1.image.resize_nearest_neighbor(x, [16, 16])),
    "RSQRT": _image(lambda tf, x: tf.math.rsqrt(tf.abs(x) + 1.0)),
    "SOFTMAX": lambda tf: ([(1, 10)], lambda x: tf.nn.softmax(x)),
    "SPACE_TO_BATCH_ND": _image(lambda tf, x: tf.space_to_batch(x, [2, 2], [[0, 0], [0, 0]])),
    "SPACE_TO_DEPTH": _image(lambda tf, x: tf.nn.space_to_depth(x, 2)),
    "SPLIT": _image(lambda tf, x: tf.split(x, 2, axis=-1)[0] * 1.0),
    "SQRT": _image(lambda tf, x: tf.sqrt(tf.abs(x) + 1.0)),
    "SQUARE": _image(lambda tf, x: tf.square(x)),
    "SQUARED_DIFFERENCE": _pair(lambda tf, x, y: tf.math.squared_difference(x, y)),
    "STRIDED_SLICE": _image(lambda tf, x: x[:, 1:7:2, :, :]),
    "SUB": _pair(lambda tf, x, y: x - y),
    "SUM": _image(lambda tf, x: tf.reduce_sum(x, axis=[1, 2])),
    "TANH": _image(lambda tf, x: tf.tanh(x)),
    "TRANSPOSE": _image(lambda tf, x: tf.transpose(x, [0, 3, 1, 2])),
    "TRANSPOSE_CONV": _image(lambda tf, x: tf.nn.conv2d_transpose(x, _w(tf, 3, 3, 8, 4), [1, 16, 16, 8], 2, "SAME")),
    "UNPACK": lambda tf: ([(1, 3, 4)], lambda x: tf.unstack(x, axis=1)[1] * 1.0),
}


def ops_in(data: bytes) -> dict[str, set[str]]:
    """The builtin operators a .tflite flatbuffer uses, each with the dtypes of its input and output tensors."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema
    from tflite_micro.python.tflite_micro.runtime import get_builtin_code_from_operator_code

    op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    type_names = {v: k.lower() for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    model = schema.Model.GetRootAs(data, 0)
    codes = [op_names.get(get_builtin_code_from_operator_code(model.OperatorCodes(i)), "CUSTOM")
             for i in range(model.OperatorCodesLength())]
    found: dict[str, set[str]] = {}
    for g in range(model.SubgraphsLength()):
        graph = model.Subgraphs(g)
        for i in range(graph.OperatorsLength()):
            op = graph.Operators(i)
            dtypes = found.setdefault(codes[op.OpcodeIndex()], set())
            tensors = [op.Inputs(j) for j in range(op.InputsLength())] + \
                [op.Outputs(j) for j in range(op.OutputsLength())]
            dtypes.update(type_names.get(graph.Tensors(t).Type(), "?") for t in tensors if t >= 0)
    return found


def build_tflite(op: str, dtype: str) -> tuple[bytes, dict[str, set[str]]]:
    """Convert the one-op model for ``op``; int8 is full-integer with int8 input and output.

    Returns:
        The flatbuffer bytes and, per operator it contains, its tensor dtypes.
    """
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    shapes, fn = BUILDERS[op](tf)
    spec = [tf.TensorSpec(s, tf.float32) for s in shapes]
    func = tf.function(fn, input_signature=spec)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([func.get_concrete_function()], func)
    if dtype == "int8":
        rng = np.random.default_rng(SEED)

        def representative():
            for _ in range(16):
                yield [rng.standard_normal(s).astype("float32") for s in shapes]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    data = converter.convert()
    return data, ops_in(data)
