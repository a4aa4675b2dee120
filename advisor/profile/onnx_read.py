"""Read an .onnx file without TensorFlow: parse it, refuse what is unsafe or broken, make its shapes static.

The file is parsed as the ONNX protobuf (``onnx.ModelProto``): data, never code. A tensor whose data
lies in an external file is refused (its path is never followed), as is a declared shape too large for
any microcontroller, and a file that does not decode as an ONNX model. Every problem names the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from advisor.files import read_bytes
from advisor.problems import Problem, ProblemError, display_path

# NOTE: the same cap as advisor.profile.tflite: a shape above 4 GiB is a corrupt or hostile dimension.
MAX_TENSOR_BYTES = 1 << 32
DEFAULT_DOMAINS = ("", "ai.onnx")
TYPED_FIELDS = ("float_data", "int32_data", "int64_data", "double_data", "uint64_data", "string_data")
# onnx.TensorProto.DataType -> (TFLite type name, bytes per element); onnx/onnx.proto3 enum DataType.
DTYPES = {1: ("FLOAT32", 4), 2: ("UINT8", 1), 3: ("INT8", 1), 4: ("UINT16", 2), 5: ("INT16", 2), 6: ("INT32", 4),
          7: ("INT64", 8), 9: ("BOOL", 1), 10: ("FLOAT16", 2), 11: ("FLOAT64", 8), 12: ("UINT32", 4),
          13: ("UINT64", 8), 16: ("BFLOAT16", 2)}


@dataclass(frozen=True)
class OnnxModel:
    """A parsed model with static shapes: ``model`` has run through ONNX shape inference."""

    model: object  # onnx.ModelProto
    name: str
    file_bytes: int
    opset: int
    input_shapes: dict[str, tuple[int, ...]]


def fail(name: str, message: str, hint: str = "") -> ProblemError:
    return ProblemError([Problem(name, 0, "", message, "model", hint)])


def read_onnx(path: Path | str, shape: tuple[int, ...] = ()) -> OnnxModel:
    """Parse, check and shape-infer an .onnx file.

    Args:
        path: the model file (checked: missing, a folder, a FIFO or device, too big).
        shape: the input shape without the batch axis (the questionnaire's ``input.shape``, or the data's),
            used to fix dynamic dimensions of a single input; ``()`` when unknown.
    Returns:
        The model with every input dimension fixed (a dynamic batch axis becomes 1) and shapes inferred.
    Raises:
        ProblemError: not ONNX, truncated, external data, a huge tensor, dynamic dimensions left, or
            shape inference fails.
    """
    name = display_path(path)
    data = read_bytes(path, "model", "model file")
    model = parse_onnx(data, name)
    return static_model(model, name, len(data), shape)


def parse_onnx(data: bytes, name: str):
    """The ``onnx.ModelProto`` of ``data``, its tensors checked (no shape inference yet)."""
    import onnx
    from google.protobuf.message import DecodeError

    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise fail(name, f"not an ONNX model, or a truncated one: the protobuf does not decode ({exc})") from None
    if model.ir_version <= 0 or not model.graph.node or not model.graph.input:
        raise fail(name, "not an ONNX model: no IR version, graph, node or input in the file",
                   "export with torch.onnx.export(...) or onnx.save(...)")
    opsets = {o.domain: o.version for o in model.opset_import}
    if not any(d in opsets for d in DEFAULT_DOMAINS):
        raise fail(name, "the model imports no ai.onnx operator set (opset_import)")
    for tensor, where in _tensors(model):
        check_tensor(tensor, where, name)
    for node in model.graph.node:
        if node.domain not in DEFAULT_DOMAINS:
            raise fail(name, f"node '{node.name or node.output[0]}' ({node.domain}:{node.op_type}) is a custom-domain "
                       "operator: neither onnx2tf nor TFLite Micro has a kernel for it")
    return model


def _tensors(model):
    """Every stored tensor: initializers and Constant-node values (with where each is)."""
    for t in model.graph.initializer:
        yield t, f"initializer '{t.name}'"
    for node in model.graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t, f"node '{node.name or node.output[0]}' attribute {attr.name}"
            for t in attr.tensors:
                yield t, f"node '{node.name or node.output[0]}' attribute {attr.name}"


def check_tensor(tensor, where: str, name: str) -> None:
    """Refuse external data, unknown types, impossible sizes and data that does not match the shape."""
    import onnx

    if tensor.data_location == onnx.TensorProto.EXTERNAL or tensor.external_data:
        raise fail(name, f"{where} keeps its data in an external file, which this tool never opens",
                   "save one self-contained file: onnx.save(model, path, save_as_external_data=False)")
    if tensor.data_type not in DTYPES:
        raise fail(name, f"{where}: element type {tensor.data_type} is not one a microcontroller model uses")
    itemsize = DTYPES[tensor.data_type][1]
    elements = 1
    for d in tensor.dims:
        if d < 0:
            raise fail(name, f"{where}: dimension {d} in shape {list(tensor.dims)[:8]}")
        elements = min(elements * d, MAX_TENSOR_BYTES + 1)  # NOTE: capped, so a long shape stays cheap
    if elements * itemsize > MAX_TENSOR_BYTES:
        raise fail(name, f"{where}: shape {list(tensor.dims)[:8]} declares more than {MAX_TENSOR_BYTES} bytes, "
                   "more than any microcontroller could address")
    if tensor.raw_data and len(tensor.raw_data) != elements * itemsize:
        raise fail(name, f"{where}: shape {list(tensor.dims)[:8]} needs {elements * itemsize} bytes but the "
                   f"file holds {len(tensor.raw_data)} (corrupt or truncated)")
    if not tensor.raw_data:
        stored = sum(len(getattr(tensor, f)) for f in TYPED_FIELDS)
        if stored != elements:
            raise fail(name, f"{where}: shape {list(tensor.dims)[:8]} has {elements} elements but the file holds "
                       f"{stored} values (corrupt or truncated)")


def _dims(value_info) -> list:
    """Dimensions of a graph input: an int, or the symbol (``'N'``, ``'?'``) of an unknown one."""
    shape = value_info.type.tensor_type.shape
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in shape.dim]


def graph_inputs(model) -> list:
    """The real inputs (ONNX lists initializers among the inputs in IR version 3 files)."""
    constants = {t.name for t in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in constants]


def static_model(model, name: str, file_bytes: int, shape: tuple[int, ...] = ()) -> OnnxModel:
    """Fix every input's dimensions, then run ONNX shape inference (strict)."""
    import onnx

    inputs = graph_inputs(model)
    fixed: dict[str, tuple[int, ...]] = {}
    for value in inputs:
        if not value.type.HasField("tensor_type"):
            raise fail(name, f"input '{value.name}' is not a tensor")
        dims = _dims(value)
        if not dims:
            raise fail(name, f"input '{value.name}' has no declared shape", "export with a fixed example input")
        if not isinstance(dims[0], int) or dims[0] == 0:
            dims[0] = 1  # NOTE: a dynamic batch axis runs as 1, as in TFLite (shape_signature -1)
        if shape and len(inputs) == 1 and len(shape) == len(dims) - 1:
            given = list(shape)
            clash = [(d, g) for d, g in zip(dims[1:], given) if isinstance(d, int) and d and d != g]
            if clash:
                raise fail(name, f"input '{value.name}' has shape {dims}, but the given input shape is "
                           f"{list(shape)} (without the batch axis)")
            dims[1:] = given
        unknown = [(axis, d) for axis, d in enumerate(dims) if not isinstance(d, int) or d <= 0]
        if unknown:
            axis, symbol = unknown[0]
            raise fail(name, f"input '{value.name}' has a dynamic dimension '{symbol}' at axis {axis} (shape "
                       f"{dims}): TFLite Micro needs static shapes",
                       "export with fixed shapes (no dynamic_axes), or give input.shape in the questionnaire")
        for d, size in zip(value.type.tensor_type.shape.dim, dims):
            d.Clear()
            d.dim_value = size
        fixed[value.name] = tuple(dims)
    try:
        inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
    except Exception as exc:  # noqa: BLE001 - onnx raises InferenceError, ValidationError and others
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise fail(name, f"ONNX shape inference failed: {first}") from None
    opset = max((o.version for o in model.opset_import if o.domain in DEFAULT_DOMAINS), default=0)
    return OnnxModel(inferred, name, file_bytes, opset, fixed)
