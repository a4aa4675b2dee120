"""User paths in and out: every read of a user's file and every write the tool makes goes through here.

Reading checks the path before opening it (missing, a folder, a FIFO or device, a symlink loop, too
big), so a bad path is one ``Problem`` naming it, never a hang or a traceback. Writing goes to a
temporary name beside the target and is renamed into place, so no truncated file is ever left
looking complete; a failed write (disk full, read-only folder) removes the partial file.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from advisor.problems import Problem, ProblemError, display_path

MIB = 1024 * 1024
# Size limits per kind of input file. NOTE: generous for real inputs (the largest shipped knowledge-base
# file is under 20 KB; MLPerf Tiny models are under 1 MB), small enough that a wrong file fails at once.
LIMITS = {
    "questionnaire": 1 * MIB,
    "knowledge": 1 * MIB,
    "model": 512 * MIB,
    "data": 2048 * MIB,
    "run": 16 * MIB,
}


def _a(what: str) -> str:
    """``what`` with its indefinite article: "a questionnaire", "an output folder"."""
    return f"{'an' if what[:1].lower() in 'aeiou' else 'a'} {what}"


def _problem(path: Path | str, message: str, hint: str = "") -> ProblemError:
    return ProblemError([Problem(display_path(path), 0, "", message, "io", hint)])


def os_reason(exc: OSError) -> str:
    """Why an OS call failed, in words a user can act on."""
    if exc.errno == errno.ELOOP:
        return "is a symlink loop"
    if exc.errno == errno.ENAMETOOLONG:
        return "path is too long"
    if exc.errno == errno.EACCES:
        return "permission denied"
    if exc.errno == errno.ENOTDIR:
        return "a part of this path is a file, not a folder"
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    if exc.errno == errno.EROFS:
        return "read-only file system"
    return exc.strerror or str(exc)


def check_input(path: Path | str, kind: str, what: str = "file", allow_dir: bool = False) -> os.stat_result:
    """Stat ``path`` as an input of ``kind``; raise a ProblemError naming it when it cannot be read.

    Args:
        path: the user's path.
        kind: a key of ``LIMITS``.
        what: how to name the file in messages (``questionnaire``, ``model file``, ...).
        allow_dir: a folder is acceptable (a SavedModel, a knowledge base).
    Raises:
        ProblemError: missing, a symlink loop, a folder (unless allowed), a FIFO, socket or device, too big.
    """
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise _problem(path, f"is a broken symlink (no {what} behind it)") from None
        raise _problem(path, f"no such {what}") from None
    except OSError as exc:
        raise _problem(path, f"cannot read the {what}: {os_reason(exc)}") from None
    if stat.S_ISDIR(info.st_mode):
        if allow_dir:
            return info
        raise _problem(path, f"is a folder, expected {_a(what)}")
    if not stat.S_ISREG(info.st_mode):
        kind_name = ("a FIFO" if stat.S_ISFIFO(info.st_mode) else "a device" if
                     stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else
                     "a socket" if stat.S_ISSOCK(info.st_mode) else "not a regular file")
        raise _problem(path, f"is {kind_name}, expected {_a(what)}")
    limit = LIMITS[kind]
    if info.st_size > limit:
        raise _problem(path, f"is {info.st_size / MIB:.1f} MiB; a {what} may be at most {limit // MIB} MiB")
    return info


def read_bytes(path: Path | str, kind: str, what: str = "file") -> bytes:
    """The bytes of a checked input file (see ``check_input``)."""
    check_input(path, kind, what)
    limit = LIMITS[kind]
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)  # NOTE: re-checked: the file may grow between stat and read
    except OSError as exc:
        raise _problem(path, f"cannot read the {what}: {os_reason(exc)}") from None
    if len(data) > limit:
        raise _problem(path, f"is over {limit // MIB} MiB; a {what} may be at most {limit // MIB} MiB")
    return data


def read_text(path: Path | str, kind: str, what: str = "file") -> str:
    """UTF-8 text of a checked input file."""
    data = read_bytes(path, kind, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _problem(path, f"not UTF-8 text (byte {exc.start}: {exc.reason})") from None


def check_output_dir(path: Path | str, what: str = "output folder") -> Path:
    """Create ``path`` as a folder (with parents) or raise a ProblemError naming it.

    Raises:
        ProblemError: it is a file, a parent is a file, it is not writable.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise _problem(path, f"is a file, expected {_a(what)}")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise _problem(path, f"is a file, expected {_a(what)}") from None
    except OSError as exc:
        raise _problem(path, f"cannot create the {what}: {os_reason(exc)}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise _problem(path, f"cannot write into the {what}: permission denied")
    return path


def check_output_file(path: Path | str, what: str = "output file", force: bool = False,
                      make_parent: bool = False) -> Path:
    """Check that ``path`` may be written as a file.

    Raises:
        ProblemError: it is a folder or a special file, its parent is missing (unless ``make_parent``)
            or not writable, it exists and ``force`` is not set.
    """
    path = Path(path)
    if path.is_dir():
        raise _problem(path, f"is a folder, expected a path for {_a(what)}")
    if path.exists() or path.is_symlink():
        try:
            info = path.stat()
        except OSError as exc:
            raise _problem(path, f"cannot write the {what}: {os_reason(exc)}") from None
        if not stat.S_ISREG(info.st_mode):
            raise _problem(path, f"is not a regular file; refusing to write the {what} there")
        if not force:
            raise _problem(path, "already exists", "pass --force to overwrite it")
    parent = path.parent
    if make_parent:
        check_output_dir(parent, "folder")
    elif not parent.is_dir():
        raise _problem(path, f"cannot write the {what}: the folder {display_path(parent)} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _problem(path, f"cannot write the {what}: the folder {display_path(parent)} is not writable")
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path | str, data: bytes | str) -> Path:
    """Write ``data`` to a temporary file beside ``path``, flush it to disk, and rename it into place.

    The file gets the permissions a plain ``open(path, "w")`` would (0666 less the umask).

    Raises:
        OSError: the write failed, with ``filename`` set to ``path`` (the temporary file is removed first).
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError) and exc.filename != str(path):
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
    return path


def write_output(path: Path | str, data: bytes | str, what: str = "output file") -> Path:
    """``atomic_write`` with a failure turned into a ProblemError naming the path."""
    try:
        return atomic_write(path, data)
    except OSError as exc:
        raise _problem(path, f"cannot write the {what}: {os_reason(exc)}") from None


def cache_dir() -> Path:
    """The user cache folder (``TINYML_ADVISOR_CACHE``, else ``$XDG_CACHE_HOME`` or ``~/.cache``)."""
    explicit = os.environ.get("TINYML_ADVISOR_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tinyml-advisor"
