"""Files of a run folder: content digests, and finding and removing what a failed step left behind."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from advisor.files import atomic_write

# NOTE: the run's own books are never removed by a step's cleanup: they are rewritten atomically.
BOOKS = frozenset({"manifest.json", "metrics.json", "run.log"})


def sha256(path: Path) -> str:
    """Hex digest of a file, or of a folder's files (relative names and contents, in sorted order)."""
    h = hashlib.sha256()
    files = [(p.relative_to(path), p) for p in sorted(path.rglob("*")) if p.is_file()] if path.is_dir() else \
        [(None, path)]
    for rel, p in files:
        if rel is not None:
            h.update(str(rel).encode() + b"\0")
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def snapshot(run_dir: Path) -> set[Path]:
    """Every path below ``run_dir`` now."""
    return set(run_dir.rglob("*"))


def remove_new(run_dir: Path, before: set[Path]) -> list[str]:
    """Remove every path below ``run_dir`` that is not in ``before`` (except the books); return their names.

    A file written under a temporary name (``.model.tflite.XXXX.part``) and a half-filled folder are
    removed alike.
    """
    removed = []
    for path in sorted(snapshot(run_dir) - before, key=lambda p: len(p.parts), reverse=True):
        rel = path.relative_to(run_dir)
        if str(rel) in BOOKS:
            continue
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(str(rel))
        except FileNotFoundError:
            continue
    return sorted(removed)


def write_artifact(path: Path, data: bytes | str) -> Path:
    """``files.atomic_write``, with the file named in the error when it fails.

    Raises:
        OSError: the write failed (disk full, file too large); its ``filename`` is ``path``, and no
            partial file is left.
    """
    try:
        return atomic_write(path, data)
    except OSError as exc:
        if exc.filename:
            raise
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None
