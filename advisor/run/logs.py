"""The run's log file: TensorFlow, absl and native output go to runs/<id>/run.log, progress to the terminal."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path


class RunLog:
    """For the length of a ``with`` block, file descriptors 1 and 2 point at the log file.

    Native libraries (TensorFlow's C++ logging, the converter) write to the descriptors themselves, so
    redirecting them is the only way to keep them off the terminal; Python's ``sys.stderr`` is left as it
    is, so a logging handler that holds it keeps working after the run. ``terminal()`` lends the terminal
    back for a progress line: the line goes whole to the terminal, and no native output is mixed into it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._saved: dict[int, int] = {}
        self._fd: int | None = None

    def __enter__(self) -> "RunLog":
        _flush()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        for fd in (1, 2):
            try:
                self._saved[fd] = os.dup(fd)
                os.dup2(self._fd, fd)
            except OSError:  # a closed descriptor (a daemon): nothing to keep off the terminal
                self._saved.pop(fd, None)
        return self

    def __exit__(self, *exc) -> None:
        _flush()
        for fd, saved in self._saved.items():
            os.dup2(saved, fd)
            os.close(saved)
        self._saved.clear()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def write(self, text: str) -> None:
        """Append ``text`` to the log (a child's captured output, a note of the runner)."""
        if self._fd is not None and text:
            _flush()
            os.write(self._fd, text.encode("utf-8", "replace") + (b"" if text.endswith("\n") else b"\n"))

    @contextlib.contextmanager
    def terminal(self):
        """``sys.stderr`` writes to the terminal inside the block (when it is file descriptor 2)."""
        saved = self._saved.get(2)
        try:
            on_fd2 = saved is not None and sys.stderr is not None and sys.stderr.fileno() == 2
        except (AttributeError, OSError, ValueError):  # a test runner's in-memory stream: it is no descriptor
            on_fd2 = False
        if not on_fd2:
            yield
            return
        original = sys.stderr
        stream = io.TextIOWrapper(io.FileIO(saved, "w", closefd=False), encoding=original.encoding or "utf-8",
                                  errors="replace", line_buffering=True)
        sys.stderr = stream
        try:
            yield
        finally:
            stream.flush()
            sys.stderr = original


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass


# NOTE: the log of the run in progress, so a step can append a child's output to it.
CURRENT: list[RunLog] = []


def log_text(text: str) -> None:
    """Append ``text`` to the log of the run in progress (to stderr when there is none)."""
    if CURRENT:
        CURRENT[-1].write(text)
    else:
        sys.stderr.write(text if text.endswith("\n") else text + "\n")
