"""Read a .tflite flatbuffer without TensorFlow: tensors, operators, buffers and the options MACs need.

Field numbers follow the TFLite schema (schema.fbs). Every read goes through the checked accessors of
``advisor.profile.flatbuf`` and every index is checked against what it indexes, so a truncated,
corrupt or crafted file becomes one problem naming the file and the part that is wrong, never a
crash, a wrapped-around negative index or a silently wrong figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from advisor.files import read_bytes
from advisor.problems import display_path
from advisor.profile.flatbuf import FlatBuffer, Table
from advisor.profile.tflite_enums import BUILTIN_OPS, TENSOR_TYPES

IDENTIFIER = b"TFL3"
# Operators whose options carry strides / filter sizes worth showing (and needed for pool MACs).
POOL_OPS = {"AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D"}
CONV_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D"}
OPTIONS_TYPE = {"CONV_2D": 1, "DEPTHWISE_CONV_2D": 2, "AVERAGE_POOL_2D": 5, "MAX_POOL_2D": 5, "L2_POOL_2D": 5}
PADDING = {0: "same", 1: "valid"}
CUSTOM = 32
# NOTE: no microcontroller has 4 GiB of memory, and a shape above it is a corrupt dimension; the cap
# also keeps every figure the profile derives from shapes a finite float.
MAX_TENSOR_BYTES = 1 << 32
SPARSITY_SLOT = 6


@dataclass(frozen=True)
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    itemsize: int
    buffer: int
    has_data: bool  # a constant (weights, biases): stored in flash, not planned in the arena
    data_bytes: int
    is_variable: bool
    dynamic: bool  # shape_signature has -1 beyond the batch axis (a -1 batch is normal and runs as 1)

    @property
    def elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def nbytes(self) -> int:
        return self.elements * self.itemsize


@dataclass(frozen=True)
class Operator:
    index: int
    op: str
    inputs: tuple[int, ...]  # -1: an optional input left out
    outputs: tuple[int, ...]
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Graph:
    """The first subgraph of a model, which is what TFLM runs."""

    tensors: tuple[Tensor, ...]
    operators: tuple[Operator, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    subgraphs: int
    file_bytes: int
    description: str


def read_tflite(path: Path | str) -> Graph:
    """Parse a .tflite file.

    Args:
        path: the model file (checked: missing, a folder, a FIFO or device, too big).
    Returns:
        The first subgraph, every index in it checked.
    Raises:
        ProblemError: unreadable, not a TFLite flatbuffer, truncated, corrupt or inconsistent.
    """
    return parse_tflite(read_bytes(path, "model", "model file"), display_path(path))


def parse_tflite(data: bytes, name: str = "<model>") -> Graph:
    """Parse .tflite bytes.

    Args:
        data: the flatbuffer.
        name: how messages name the file.
    Returns:
        The first subgraph, every index in it checked.
    Raises:
        ProblemError: not a TFLite flatbuffer, truncated, corrupt or inconsistent.
    """
    fb = FlatBuffer(data, name)
    if len(data) < 8:
        fb.fail(f"not a TFLite model: {len(data)} bytes is too short for a flatbuffer")
    if data[4:8] != IDENTIFIER:
        fb.fail(f"not a TFLite model: file identifier {bytes(data[4:8])!r}, expected {IDENTIFIER!r}")
    model = fb.root("model")
    codes = _opcodes(fb, model)
    buffers = _buffers(fb, model)
    subgraphs = fb.tables(model, 2, "subgraphs", "subgraph")
    if not subgraphs:
        fb.fail("the model has no subgraph")
    sg = subgraphs[0]
    tensors = tuple(_tensor(fb, t, i, buffers) for i, t in enumerate(fb.tables(sg, 0, "tensors", "tensor")))
    operators = tuple(_operator(fb, op, i, codes, len(tensors))
                      for i, op in enumerate(fb.tables(sg, 3, "operators", "operator")))
    inputs = _io(fb, sg, 1, "input", len(tensors))
    outputs = _io(fb, sg, 2, "output", len(tensors))
    return Graph(tensors, operators, inputs, outputs, len(subgraphs), len(data),
                 fb.string(model, 3, "description"))


def _opcodes(fb: FlatBuffer, model: Table) -> list[str | int]:
    """Operator names by opcode index; an unknown builtin stays its number (an error only when used)."""
    codes: list[str | int] = []
    for i, code in enumerate(fb.tables(model, 1, "operator_codes", "operator code")):
        deprecated, builtin = fb.scalar(code, 0, "<b"), fb.scalar(code, 3, "<i")
        if deprecated < 0 or builtin < 0:
            fb.fail(f"operator code {i}: negative builtin code {min(deprecated, builtin)}")
        number = max(deprecated, builtin)  # as TFLite's GetBuiltinCode reads the two fields
        if number == CUSTOM:
            codes.append(f"CUSTOM:{fb.string(code, 1, 'custom_code')}")
        else:
            codes.append(BUILTIN_OPS.get(number, number))
    return codes


def _buffers(fb: FlatBuffer, model: Table) -> list[int]:
    """Bytes of constant data per buffer; data stored outside the flatbuffer must lie inside the file."""
    sizes = []
    for i, buf in enumerate(fb.tables(model, 4, "buffers", "buffer")):
        _start, length = fb.vector(buf, 0, 1, "data")
        offset, size = fb.scalar(buf, 1, "<Q"), fb.scalar(buf, 2, "<Q")
        if offset > 1 and offset + size > fb.size:
            fb.fail(f"buffer {i}: data at bytes {offset}..{offset + size} lies outside the {fb.size}-byte file")
        sizes.append(length or (size if offset > 1 else 0))
    return sizes


def _tensor(fb: FlatBuffer, t: Table, i: int, buffers: list[int]) -> Tensor:
    shape = fb.ints(t, 0, "shape")
    elements = 1
    for d in shape:
        if d < 0:
            fb.fail(f"tensor {i}: dimension {d} in shape {list(shape)}")
        elements = min(elements * d, MAX_TENSOR_BYTES + 1)  # NOTE: capped, so a long shape stays cheap
    type_id = fb.scalar(t, 1, "<b")
    if type_id not in TENSOR_TYPES:
        fb.fail(f"tensor {i}: unknown element type {type_id}")
    dtype, itemsize = TENSOR_TYPES[type_id]
    if max(elements, elements * itemsize) > MAX_TENSOR_BYTES:
        fb.fail(f"tensor {i}: shape {list(shape)[:8]}{'...' if len(shape) > 8 else ''} of {dtype} needs more than "
                f"{MAX_TENSOR_BYTES} bytes, more than any microcontroller could address")
    buffer = fb.scalar(t, 2, "<I")
    if buffer >= max(len(buffers), 1):
        fb.fail(f"tensor {i} uses buffer {buffer} of {len(buffers)}")
    nbytes = buffers[buffer] if buffers else 0
    if nbytes and itemsize and not fb.scalar(t, SPARSITY_SLOT, "<I") and nbytes != elements * itemsize:
        fb.fail(f"tensor {i}: shape {list(shape)} of {dtype} needs {elements * itemsize} bytes but buffer "
                f"{buffer} holds {nbytes}")
    signature = fb.ints(t, 7, "shape_signature")
    if any(d < -1 for d in signature):
        fb.fail(f"tensor {i}: dimension {min(signature)} in shape_signature {list(signature)[:8]}")
    return Tensor(i, fb.string(t, 3, "name"), shape, dtype, itemsize, buffer, nbytes > 0, nbytes,
                  bool(fb.scalar(t, 5, "<B")), any(d < 0 for d in signature[1:]))


def _operator(fb: FlatBuffer, op: Table, i: int, codes: list[str | int], n_tensors: int) -> Operator:
    index = fb.scalar(op, 0, "<I")
    if index >= len(codes):
        fb.fail(f"operator {i} uses opcode {index} of {len(codes)}")
    name = codes[index]
    if isinstance(name, int):
        fb.fail(f"operator {i} uses builtin operator code {name}, unknown to the TFLite schema this tool knows "
                "(corrupt, or a newer schema)")
    inputs, outputs = fb.ints(op, 1, "inputs"), fb.ints(op, 2, "outputs")
    for t in inputs:
        if not -1 <= t < n_tensors:
            fb.fail(f"operator {i} ({name}) reads tensor {t} of {n_tensors}")
    for t in outputs:
        if not 0 <= t < n_tensors:
            fb.fail(f"operator {i} ({name}) writes tensor {t} of {n_tensors}")
    return Operator(i, name, inputs, outputs, _options(fb, op, i, name))


def _io(fb: FlatBuffer, sg: Table, slot: int, what: str, n_tensors: int) -> tuple[int, ...]:
    indices = fb.ints(sg, slot, f"{what}s")
    for k, t in enumerate(indices):
        if not 0 <= t < n_tensors:
            fb.fail(f"subgraph 0: {what} {k} is tensor {t} of {n_tensors}")
    return indices


def _options(fb: FlatBuffer, op: Table, i: int, name: str) -> dict:
    """Padding, strides and pool filter sizes; the union's type must match the operator."""
    if name not in OPTIONS_TYPE:
        return {}
    table = fb.subtable(op, 4, "builtin_options")
    if table is None:
        return {}
    kind = fb.scalar(op, 3, "<B")
    if kind != OPTIONS_TYPE[name]:
        fb.fail(f"operator {i} ({name}) carries options of union type {kind}, expected {OPTIONS_TYPE[name]}")
    out = {"padding": PADDING.get(fb.scalar(table, 0, "<b"), "?"),
           "stride": (fb.scalar(table, 2, "<i"), fb.scalar(table, 1, "<i"))}
    if name in POOL_OPS:
        out["filter"] = (fb.scalar(table, 4, "<i"), fb.scalar(table, 3, "<i"))
    for key in ("stride", "filter"):
        if key in out and min(out[key]) < 1:
            fb.fail(f"operator {i} ({name}): {key} {out[key][0]}x{out[key][1]} (must be at least 1x1)")
    return out
