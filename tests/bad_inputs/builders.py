"""Builders for bad-input cases that YAML cannot spell: each writes one file at ``path``."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

FIXTURE_TFLITE = Path(__file__).resolve().parent.parent / "fixtures" / "models" / "ds-cnn-kws.tflite"


def npz_zip_bomb(path: Path, mib: int = 4096) -> None:
    """An .npz whose member header claims a huge array: tiny on disk, ``mib`` MiB if loaded."""
    side = int((mib * 1024 * 1024 / 4) ** 0.5)
    header = ("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (side, side)).encode("latin1")
    header += b" " * ((64 - (len(header) + 11) % 64) % 64) + b"\n"
    npy = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open("x_rep.npy", "w", force_zip64=True) as f:
            f.write(npy)
            chunk = b"\0" * (1 << 20)
            for _ in range(64):  # 64 MiB of zeros compress to ~64 KiB
                f.write(chunk)
    path.write_bytes(buf.getvalue())


def tflite_patched(path: Path, offset: int = 0, data_hex: str = "") -> None:
    """The fixture model with bytes at ``offset`` overwritten (a corrupt flatbuffer)."""
    data = bytearray(FIXTURE_TFLITE.read_bytes())
    patch = bytes.fromhex(data_hex)
    data[offset:offset + len(patch)] = patch
    path.write_bytes(bytes(data))


def tflite_truncated(path: Path, keep: int = 64) -> None:
    """The fixture model cut after ``keep`` bytes."""
    path.write_bytes(FIXTURE_TFLITE.read_bytes()[:keep])
