"""Checked flatbuffer access: every offset, vtable, field and vector is bounds-checked before it is read.

The ``flatbuffers`` runtime trusts its input (a bad offset reads past the end or wraps around), so the
reader reads the wire format itself (https://flatbuffers.dev/internals/) and turns anything that does
not fit into one ``ProblemError`` naming the file and the part that is wrong.

NOTE: a uoffset is unsigned and points forward, so no chain of offsets can loop; what a crafted file
*can* do is point many entries at the same bytes, so that a small file decodes into a huge one. Two
entries of one vector naming the same table are refused, and the bytes decoded from vectors and strings
are budgeted at a few times the file's size.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NoReturn

from advisor.problems import Problem, ProblemError

DECODE_FACTOR = 4  # vectors and strings may decode to at most this many times the file's bytes
DECODE_SLACK = 4096


@dataclass(frozen=True)
class Table:
    """A checked table: its position, its vtable and the size of its inline fields."""

    pos: int
    vtable: int
    vsize: int
    osize: int
    what: str  # how messages name it: "tensor 7", "operator 2"


class FlatBuffer:
    """Bounds-checked reads from one flatbuffer; every failure is a ProblemError naming ``name``."""

    def __init__(self, data: bytes, name: str):
        self.data = data
        self.name = name
        self.size = len(data)
        self.budget = DECODE_FACTOR * len(data) + DECODE_SLACK

    def fail(self, message: str) -> NoReturn:
        """Raise the one problem for this file.

        Raises:
            ProblemError: always.
        """
        raise ProblemError([Problem(self.name, 0, "", message, "model")])

    def corrupt(self, message: str) -> NoReturn:
        """Raise a problem with the wire format itself (``truncated or corrupt flatbuffer: ...``).

        Raises:
            ProblemError: always.
        """
        self.fail(f"truncated or corrupt flatbuffer: {message}")

    def _u(self, fmt: str, pos: int, what: str) -> int:
        size = struct.calcsize(fmt)
        if pos < 0 or pos + size > self.size:
            self.corrupt(f"{what}: byte {pos} lies outside the {self.size}-byte file")
        return struct.unpack_from(fmt, self.data, pos)[0]

    def _spend(self, nbytes: int) -> None:
        self.budget -= nbytes
        if self.budget < 0:
            self.corrupt(f"its vectors decode to more than {DECODE_FACTOR}x the file's {self.size} bytes: "
                      "offsets are shared between entries (a crafted file)")

    def root(self, what: str = "model") -> Table:
        """The root table (the uoffset at byte 0)."""
        return self.table(self._u("<I", 0, f"{what} root offset"), what)

    def table(self, pos: int, what: str) -> Table:
        """Check the table at ``pos``: its vtable and its inline fields must lie inside the file."""
        vtable = pos - self._u("<i", pos, f"{what}: table")
        vsize = self._u("<H", vtable, f"{what}: vtable")
        osize = self._u("<H", vtable + 2, f"{what}: vtable")
        if vsize < 4 or vsize % 2 or vtable + vsize > self.size:
            self.corrupt(f"{what}: the vtable at byte {vtable} has an impossible size {vsize}")
        if osize < 4 or pos + osize > self.size:
            self.corrupt(f"{what}: the table at byte {pos} claims {osize} bytes, past the end of the "
                      f"{self.size}-byte file")
        return Table(pos, vtable, vsize, osize, what)

    def _field(self, t: Table, slot: int, size: int) -> int:
        """The absolute position of a field, 0 when absent; the field must lie inside its table."""
        entry = 4 + 2 * slot
        if entry + 2 > t.vsize:
            return 0
        offset = struct.unpack_from("<H", self.data, t.vtable + entry)[0]
        if not offset:
            return 0
        if offset < 4 or offset + size > t.osize:
            self.corrupt(f"{t.what}: field {slot} at offset {offset} lies outside its {t.osize}-byte table")
        return t.pos + offset

    def scalar(self, t: Table, slot: int, fmt: str, default: int = 0) -> int:
        """A scalar field (``fmt`` a struct format such as ``<i``), or ``default`` when absent."""
        pos = self._field(t, slot, struct.calcsize(fmt))
        return struct.unpack_from(fmt, self.data, pos)[0] if pos else default

    def _target(self, t: Table, slot: int, what: str) -> int:
        """Where an offset field points (0 when absent); the target's first 4 bytes must be in the file."""
        pos = self._field(t, slot, 4)
        if not pos:
            return 0
        target = pos + struct.unpack_from("<I", self.data, pos)[0]
        if target + 4 > self.size:
            self.corrupt(f"{t.what}: {what} points to byte {target}, outside the {self.size}-byte file")
        return target

    def subtable(self, t: Table, slot: int, what: str) -> Table | None:
        """A table field, or None when absent."""
        target = self._target(t, slot, what)
        return self.table(target, f"{t.what}: {what}") if target else None

    def vector(self, t: Table, slot: int, elem: int, what: str) -> tuple[int, int]:
        """(start, length) of a vector of ``elem``-byte entries; (0, 0) when absent."""
        target = self._target(t, slot, what)
        if not target:
            return 0, 0
        n = struct.unpack_from("<I", self.data, target)[0]
        start = target + 4
        if n * elem > self.size - start:
            self.corrupt(f"{t.what}: {what} claims {n} entries ({n * elem} bytes) but only {self.size - start} "
                      "bytes follow")
        self._spend(n * elem)
        return start, n

    def ints(self, t: Table, slot: int, what: str, fmt: str = "i") -> tuple[int, ...]:
        """A vector of scalars (``fmt`` one struct letter, little-endian)."""
        start, n = self.vector(t, slot, struct.calcsize(fmt), what)
        return struct.unpack_from(f"<{n}{fmt}", self.data, start) if n else ()

    def tables(self, t: Table, slot: int, what: str, label: str) -> list[Table]:
        """A vector of tables, each checked and named ``f"{label} {i}"``; no two may be the same table."""
        start, n = self.vector(t, slot, 4, what)
        out, seen = [], {}
        for i in range(n):
            at = start + 4 * i
            pos = at + struct.unpack_from("<I", self.data, at)[0]
            if pos in seen:
                self.corrupt(f"{label} {seen[pos]} and {label} {i} are the same table at byte {pos} "
                          "(shared offsets: a corrupt or crafted file)")
            seen[pos] = i
            out.append(self.table(pos, f"{label} {i}"))
        return out

    def string(self, t: Table, slot: int, what: str) -> str:
        """A string field ("" when absent); bytes that are not UTF-8 are replaced, never an error."""
        start, n = self.vector(t, slot, 1, what)
        if start and start + n >= self.size:
            self.corrupt(f"{t.what}: {what} has no terminating zero byte inside the file")
        return self.data[start:start + n].decode("utf-8", "replace") if n else ""
