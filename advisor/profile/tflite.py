"""Read a .tflite flatbuffer without TensorFlow: tensors, operators, buffers and the options MACs need.

Only the ``flatbuffers`` runtime is used; field numbers follow the TFLite schema (schema.fbs).
Every read is bounds-checked, so a truncated or corrupt file becomes one clear problem instead of
a crash or a silent wrong answer.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

from flatbuffers import number_types as N
from flatbuffers.table import Table

from advisor.problems import Problem, ProblemError, display_path
from advisor.profile.tflite_enums import BUILTIN_OPS, TENSOR_TYPES

IDENTIFIER = b"TFL3"
# Operators whose options carry strides / filter sizes worth showing (and needed for pool MACs).
POOL_OPS = {"AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D"}
CONV_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D"}
PADDING = {0: "same", 1: "valid"}


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
    inputs: tuple[int, ...]
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


class _Reader:
    def __init__(self, buf: bytes):
        self.buf = buf

    def table(self, pos: int) -> Table:
        self._check(pos, 4)
        return Table(self.buf, pos)

    def _check(self, pos: int, size: int) -> None:
        if pos < 0 or pos + size > len(self.buf):
            raise IndexError(f"offset {pos}+{size} outside the {len(self.buf)}-byte file")

    def _field(self, t: Table, slot: int) -> int:
        vtable = t.Pos - struct.unpack_from("<i", self.buf, t.Pos)[0]
        self._check(vtable, 4)
        vsize = struct.unpack_from("<H", self.buf, vtable)[0]
        offset_pos = 4 + 2 * slot
        if offset_pos >= vsize:
            return 0
        self._check(vtable + offset_pos, 2)
        return struct.unpack_from("<H", self.buf, vtable + offset_pos)[0]

    def scalar(self, t: Table, slot: int, flags, default=0):
        o = self._field(t, slot)
        if not o:
            return default
        self._check(t.Pos + o, flags.bytewidth)
        return t.Get(flags, t.Pos + o)

    def subtable(self, t: Table, slot: int) -> Table | None:
        o = self._field(t, slot)
        if not o:
            return None
        self._check(t.Pos + o, 4)
        return self.table(t.Indirect(t.Pos + o))

    def vector(self, t: Table, slot: int) -> tuple[int, int]:
        """(start, length) of a vector field; (0, 0) when absent."""
        o = self._field(t, slot)
        if not o:
            return 0, 0
        self._check(t.Pos + o, 4)
        start, length = t.Vector(o), t.VectorLen(o)
        self._check(start, 0)
        return start, length

    def ints(self, t: Table, slot: int, fmt: str = "<i") -> tuple[int, ...]:
        start, n = self.vector(t, slot)
        size = struct.calcsize(fmt)
        self._check(start, n * size)
        return tuple(struct.unpack_from(fmt, self.buf, start + i * size)[0] for i in range(n))

    def tables(self, t: Table, slot: int) -> list[Table]:
        start, n = self.vector(t, slot)
        self._check(start, 4 * n)
        return [self.table(start + 4 * i + struct.unpack_from("<I", self.buf, start + 4 * i)[0]) for i in range(n)]

    def string(self, t: Table, slot: int) -> str:
        o = self._field(t, slot)
        if not o:
            return ""
        self._check(t.Pos + o, 4)
        start = t.Pos + o + struct.unpack_from("<I", self.buf, t.Pos + o)[0]
        self._check(start, 4)
        n = struct.unpack_from("<I", self.buf, start)[0]
        self._check(start + 4, n)
        return self.buf[start + 4:start + 4 + n].decode("utf-8", "replace")


def read_tflite(path: Path | str) -> Graph:
    """Parse a .tflite file.

    Raises:
        ProblemError: unreadable, not a TFLite flatbuffer, truncated or corrupt.
    """
    path = Path(path)
    name = display_path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ProblemError([Problem(name, 0, "", f"cannot read: {exc.strerror}", "io")]) from None
    return parse_tflite(data, name)


def parse_tflite(data: bytes, name: str = "<model>") -> Graph:
    """Parse .tflite bytes; see read_tflite."""
    if len(data) < 8 or data[4:8] != IDENTIFIER:
        raise ProblemError([Problem(name, 0, "", "not a TFLite model (no 'TFL3' flatbuffer identifier)", "model")])
    try:
        return _parse(_Reader(data), len(data))
    except (IndexError, struct.error, UnicodeDecodeError, KeyError, ValueError) as exc:
        raise ProblemError([Problem(name, 0, "", f"truncated or corrupt .tflite: {exc}", "model")]) from None


def _parse(r: _Reader, size: int) -> Graph:
    model = r.table(struct.unpack_from("<I", r.buf, 0)[0])
    codes = []
    for code in r.tables(model, 1):
        builtin = max(r.scalar(code, 0, N.Int8Flags), r.scalar(code, 3, N.Int32Flags))
        custom = r.string(code, 1)
        codes.append(f"CUSTOM:{custom}" if custom else BUILTIN_OPS.get(builtin, f"BUILTIN_{builtin}"))
    buffers = []
    for buf in r.tables(model, 4):
        _start, length = r.vector(buf, 0)
        offset = r.scalar(buf, 1, N.Uint64Flags)
        external = r.scalar(buf, 2, N.Uint64Flags)
        buffers.append(length or (external if offset else 0))
    subgraphs = r.tables(model, 2)
    if not subgraphs:
        raise ValueError("the model has no subgraph")
    sg = subgraphs[0]
    tensors = []
    for i, t in enumerate(r.tables(sg, 0)):
        type_id = r.scalar(t, 1, N.Int8Flags)
        if type_id not in TENSOR_TYPES:
            raise ValueError(f"tensor {i} has unknown type {type_id}")
        dtype, itemsize = TENSOR_TYPES[type_id]
        buffer = r.scalar(t, 2, N.Uint32Flags)
        if buffer >= len(buffers) and buffers:
            raise ValueError(f"tensor {i} names buffer {buffer} of {len(buffers)}")
        nbytes = buffers[buffer] if buffers else 0
        signature = r.ints(t, 7)
        tensors.append(Tensor(i, r.string(t, 3), r.ints(t, 0), dtype, itemsize, buffer, nbytes > 0, nbytes,
                              bool(r.scalar(t, 5, N.BoolFlags)), any(d < 0 for d in signature[1:])))
    operators = []
    for i, op in enumerate(r.tables(sg, 3)):
        index = r.scalar(op, 0, N.Uint32Flags)
        if index >= len(codes):
            raise ValueError(f"operator {i} uses opcode {index} of {len(codes)}")
        name = codes[index]
        inputs, outputs = r.ints(op, 1), r.ints(op, 2)
        for t in inputs + outputs:
            if t >= len(tensors):
                raise ValueError(f"operator {i} ({name}) names tensor {t} of {len(tensors)}")
        operators.append(Operator(i, name, inputs, outputs, _options(r, op, name)))
    return Graph(tuple(tensors), tuple(operators), r.ints(sg, 1), r.ints(sg, 2), len(subgraphs), size,
                 r.string(model, 3))


def _options(r: _Reader, op: Table, name: str) -> dict:
    table = r.subtable(op, 4)
    if table is None:
        return {}
    if name in CONV_OPS:
        return {"padding": PADDING.get(r.scalar(table, 0, N.Int8Flags), "?"),
                "stride": (r.scalar(table, 2, N.Int32Flags), r.scalar(table, 1, N.Int32Flags))}
    if name in POOL_OPS:
        return {"padding": PADDING.get(r.scalar(table, 0, N.Int8Flags), "?"),
                "stride": (r.scalar(table, 2, N.Int32Flags), r.scalar(table, 1, N.Int32Flags)),
                "filter": (r.scalar(table, 4, N.Int32Flags), r.scalar(table, 3, N.Int32Flags))}
    return {}
