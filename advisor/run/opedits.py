"""Hand edits of converted models, for (op, dtype) claims the TFLite converter cannot make itself.

Each :class:`Edit` names a builder of :mod:`advisor.run.opbuilders` (by its key in ``BUILDERS``
or ``EDIT_BASES``; this module does not import that one) whose converted model is
changed with the flatbuffer object API: an operator renamed (same inputs), a model input retyped,
tensors added (SVDF's time weights, bias and state). The probe report says which claims were made
this way and why (:attr:`Edit.why`); the runtime then judges the edited model like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Edit:
    """Convert the builder named ``base`` as a ``quantize``/``typed`` plan, then ``apply`` an edit to
    the flatbuffer.

    ``makes`` lists the (op, dtype) claims the edited model probes; ``why`` says why the converter
    cannot make them itself (shown in the probe report).
    """

    base: str
    makes: tuple[tuple[str, str], ...]
    apply: Callable[[bytes], bytes]
    why: str
    quantize: str | None = None
    typed: str | None = None
    float_in: bool = False
    float_out: bool = False


def _schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    return schema


def _edit(fn):
    """Lift ``fn(schema, model)`` (mutating a ModelT) to bytes -> bytes."""
    def apply(data: bytes) -> bytes:
        import flatbuffers

        schema = _schema()
        model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
        fn(schema, model)
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())
    return apply


def _the_op(schema, model, name: str):
    code = getattr(schema.BuiltinOperator, name)
    graph = model.subgraphs[0]
    for op in graph.operators:
        if model.operatorCodes[op.opcodeIndex].builtinCode == code:
            return graph, op
    raise ValueError(f"the base model has no {name}")


def _retarget(schema, model, op, name: str, options: str | None) -> None:
    """Make ``op`` a ``name`` operator with ``options`` (an options table name, or none); options of
    the same table are kept, others start from their defaults."""
    code = getattr(schema.BuiltinOperator, name)
    model.operatorCodes.append(schema.OperatorCodeT())
    model.operatorCodes[-1].builtinCode, model.operatorCodes[-1].deprecatedBuiltinCode = code, min(code, 127)
    model.operatorCodes[-1].version = 1
    op.opcodeIndex = len(model.operatorCodes) - 1
    kind = getattr(schema.BuiltinOptions, options) if options else 0
    if kind != op.builtinOptionsType:
        op.builtinOptionsType, op.builtinOptions = kind, getattr(schema, options + "T")() if options else None


def _isolate(graph, op) -> None:
    """Keep only ``op``: its first input becomes the model input, its outputs the model outputs."""
    graph.operators, graph.inputs, graph.outputs = [op], [op.inputs[0]], list(op.outputs)


def _quant(schema, scale: float, zero_point: int):
    q = schema.QuantizationParametersT()
    q.scale, q.zeroPoint, q.quantizedDimension = [scale], [zero_point], 0
    return q


def _new_tensor(schema, model, graph, shape, dtype: str, values=None, quant=None, variable=False) -> int:
    tensor = schema.TensorT()
    tensor.shape, tensor.type, tensor.isVariable = list(shape), getattr(schema.TensorType, dtype.upper()), variable
    tensor.name, tensor.quantization = f"probe_{len(graph.tensors)}".encode(), quant
    model.buffers.append(schema.BufferT())
    if values is not None:
        model.buffers[-1].data = np.ascontiguousarray(values).view(np.uint8).ravel()
    tensor.buffer = len(model.buffers) - 1
    graph.tensors.append(tensor)
    return len(graph.tensors) - 1


def _renamed(src: str, dst: str, options: str | None, same_input_scale: bool = False):
    def fn(schema, model):
        graph, op = _the_op(schema, model, src)
        _retarget(schema, model, op, dst, options)
        if same_input_scale:  # NOTE: TFLM's int8 ADD_N requires one scale and zero point for all inputs
            for t in op.inputs[1:]:
                graph.tensors[t].quantization = graph.tensors[op.inputs[0]].quantization
    return _edit(fn)


def _retyped_input(op_name: str, dtype: str, scale: float, zero_point: int):
    def fn(schema, model):
        graph, op = _the_op(schema, model, op_name)
        _isolate(graph, op)
        tensor = graph.tensors[op.inputs[0]]
        tensor.type, tensor.quantization = getattr(schema.TensorType, dtype.upper()), _quant(schema, scale, zero_point)
    return _edit(fn)


def _retyped_tensors(src: str, dst: str):
    """Every tensor of type ``src`` becomes ``dst`` (quantized ones keep their scale, zero point 0)."""
    def fn(schema, model):
        old, new = getattr(schema.TensorType, src.upper()), getattr(schema.TensorType, dst.upper())
        for tensor in model.subgraphs[0].tensors:
            if tensor.type == old:
                tensor.type = new
                if tensor.quantization is not None and tensor.quantization.zeroPoint is not None:
                    tensor.quantization.zeroPoint = [0] * len(tensor.quantization.zeroPoint)
    return _edit(fn)


def _int16_pad_value(schema, model):
    """Quantize PADV2's float pad value like its input (the converter leaves it float in 16x8)."""
    graph, op = _the_op(schema, model, "PADV2")
    value, data = graph.tensors[op.inputs[2]], graph.tensors[op.inputs[0]]
    if value.type != schema.TensorType.FLOAT32:
        return
    buffer = model.buffers[value.buffer]
    scale, zero = data.quantization.scale[0], data.quantization.zeroPoint[0]
    real = np.frombuffer(bytes(bytearray(buffer.data)), np.float32)
    buffer.data = np.round(real / scale + zero).astype(np.int16).view(np.uint8)
    value.type, value.quantization = schema.TensorType.INT16, _quant(schema, scale, zero)


def _embedding_lookup(schema, model):
    _graph, op = _the_op(schema, model, "GATHER")
    op.inputs = [op.inputs[1], op.inputs[0]]  # GATHER(params, indices) -> EMBEDDING_LOOKUP(ids, values)
    _retarget(schema, model, op, "EMBEDDING_LOOKUP", None)


def _svdf(schema, model):
    """FULLY_CONNECTED(x, w, b) -> SVDF(x, w as feature weights, time weights, no bias, state)."""
    graph, op = _the_op(schema, model, "FULLY_CONNECTED")
    feature = graph.tensors[op.inputs[1]]
    filters, memory = feature.shape[0], 4
    if feature.type == schema.TensorType.INT8:
        feature.quantization = _quant(schema, max(feature.quantization.scale), 0)
        time = _new_tensor(schema, model, graph, (filters, memory), "int16",
                           np.full((filters, memory), 1000, np.int16), _quant(schema, 1 / 4096, 0))
        state = _new_tensor(schema, model, graph, (1, filters * memory), "int16",
                            quant=_quant(schema, 1 / 1024, 0), variable=True)
    else:
        time = _new_tensor(schema, model, graph, (filters, memory), "float32",
                           np.full((filters, memory), 0.25, np.float32))
        state = _new_tensor(schema, model, graph, (1, filters * memory), "float32", variable=True)
    # NOTE: TFLM's SVDF reads the bias even when it is absent (TODO #1751 in svdf_common.cc): give one.
    if feature.type == schema.TensorType.INT8:
        bias = _new_tensor(schema, model, graph, (filters,), "int32", np.zeros(filters, np.int32),
                           _quant(schema, (1 / 1024) * (1 / 4096), 0))
    else:
        bias = _new_tensor(schema, model, graph, (filters,), "float32", np.zeros(filters, np.float32))
    op.inputs = [op.inputs[0], op.inputs[1], time, bias, state]
    _retarget(schema, model, op, "SVDF", "SVDFOptions")
    op.builtinOptions.rank = 1


_FC, _ROWS, _UNARY = "FULLY_CONNECTED", "GATHER_ROWS", "RELU"
_NO_INT8 = "the converter keeps this op in float in an int8 model"
_NEVER = "the converter never emits this op"

EDITS: dict[str, Edit] = {
    "add-n-int8": Edit("ADD", (("ADD_N", "int8"),), _renamed("ADD", "ADD_N", "AddNOptions", True),
                       _NO_INT8, quantize="int8"),
    "elu-int8": Edit(_UNARY, (("ELU", "int8"),), _renamed("RELU", "ELU", None), _NO_INT8, quantize="int8"),
    "not-equal-int8": Edit("EQUAL", (("NOT_EQUAL", "int8"),),
                           _renamed("EQUAL", "NOT_EQUAL", "NotEqualOptions"), _NO_INT8, quantize="int8"),
    "l2-pool": Edit("AVERAGE_POOL_2D", (("L2_POOL_2D", "float32"),),
                    _renamed("AVERAGE_POOL_2D", "L2_POOL_2D", "Pool2DOptions"), _NEVER),
    "embedding-lookup-float": Edit(_ROWS, (("EMBEDDING_LOOKUP", "float32"),), _edit(_embedding_lookup), _NEVER),
    "embedding-lookup-int8": Edit(_ROWS, (("EMBEDDING_LOOKUP", "int8"),), _edit(_embedding_lookup), _NEVER,
                                  quantize="int8"),
    "greater-int16": Edit("GREATER", (("GREATER", "int16"),), _retyped_tensors("int8", "int16"),
                          "the converter has no 16x8 GREATER", quantize="int8"),
    "zeros-like-int8": Edit("ZEROS_LIKE", (("ZEROS_LIKE", "int8"),), _retyped_tensors("int32", "int8"),
                            _NO_INT8, typed="int32"),
    "padv2-int16": Edit("PADV2", (("PADV2", "int16"),), _edit(_int16_pad_value),
                        "the converter leaves the pad value float32 in a 16x8 model", quantize="int16"),
    "svdf-float": Edit(_FC, (("SVDF", "float32"),), _edit(_svdf), _NEVER),
    "svdf-int8": Edit(_FC, (("SVDF", "int8"),), _edit(_svdf), _NEVER, quantize="int8"),
    "dequantize-uint8": Edit(_UNARY, (("DEQUANTIZE", "uint8"),), _retyped_input("DEQUANTIZE", "uint8", 0.02, 128),
                             "the converter makes no uint8 models", quantize="int8", float_out=True),
    "requantize-int8": Edit(_UNARY, (("QUANTIZE", "int8"),), _retyped_input("QUANTIZE", "int8", 0.05, 3),
                            "the converter only requantizes where scales must match", quantize="int8",
                            float_in=True),
    "quantize-int16": Edit(_UNARY, (("QUANTIZE", "int16"),), _retyped_input("QUANTIZE", "int16", 1 / 4096, 0),
                           "the converter never requantizes int16 to int8", quantize="int8", float_in=True),
    "quantize-int32": Edit(_UNARY, (("QUANTIZE", "int32"),), _retyped_input("QUANTIZE", "int32", 0.001, 0),
                           "the converter never quantizes from int32", quantize="int8", float_in=True),
}
