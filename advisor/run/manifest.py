"""A run's manifest.json: written atomically, with the process that writes it, and read back as a true state.

A manifest still saying ``running`` is either a run in progress or one whose process died without a word
(SIGKILL, a power cut); ``run_state`` tells them apart by the recorded pid, host, boot and process start.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from advisor.run.paths import write_artifact

FINISHED = ("ok", "failed", "interrupted", "invalid-input")
# NOTE: a run on another host cannot be checked by pid; it is taken as dead once its manifest has not
# changed for this long (the manifest is rewritten at every step, and no step of a shipped recipe runs
# for a day).
STALE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class RunState:
    """What a run folder's manifest means now."""

    state: str  # ok | failed | interrupted | incomplete | running
    reason: str  # why, in one sentence ("" for a run that ended ok)


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name, or None (no such process, or no /proc)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2:].split()


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def process_identity(pid: int | None = None) -> dict:
    """The ``process`` record of a manifest: pid, host, boot id and the process's start (clock ticks after boot).

    Returns:
        ``{"pid", "host", "boot_id", "start_ticks"}``; the last two are None where /proc is missing.
    """
    pid = os.getpid() if pid is None else pid
    fields = _proc_stat(pid)
    return {"pid": pid, "host": socket.gethostname(), "boot_id": _boot_id(),
            "start_ticks": int(fields[19]) if fields and len(fields) > 19 else None}


def finite(value):
    """``value`` with every NaN or infinity replaced by None (JSON has no such numbers)."""
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    if isinstance(value, bool):
        return value
    # NOTE: numpy registers its scalars with the numbers ABCs, so this module needs no numpy: the report reads
    # run states on a base install.
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` as indented JSON under a temporary name, then rename it over ``path``.

    Raises:
        OSError: the write failed (no partial file is left).
    """
    write_artifact(path, json.dumps(finite(data), indent=2, allow_nan=False) + "\n")


def process_alive(process: dict) -> tuple[bool, str]:
    """(alive, why not) for a process record made on this host."""
    pid = process.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False, "no process id recorded"
    boot = _boot_id()
    if process.get("boot_id") and boot and process["boot_id"] != boot:
        return False, "the machine has restarted since"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False, f"its process {pid} is gone"
    except PermissionError:
        pass  # another user's process: it exists
    fields = _proc_stat(pid)
    if fields is not None and fields[0] == "Z":
        return False, f"its process {pid} has exited"
    start = process.get("start_ticks")
    if fields is not None and start is not None and len(fields) > 19 and int(fields[19]) != start:
        return False, f"its process {pid} is gone (the id now belongs to another process)"
    return True, ""


def _running_state(manifest: dict, path: Path) -> RunState:
    step = next((s.get("id") for s in manifest.get("steps", []) if isinstance(s, dict)
                 and s.get("status") == "running"), None)
    at = f" during step '{step}'" if step else ""
    process = manifest.get("process")
    age = time.time() - path.stat().st_mtime
    if not isinstance(process, dict) or process.get("host") != socket.gethostname():
        where = f"on host {process.get('host')}" if isinstance(process, dict) else "by an unrecorded process"
        if age > STALE_SECONDS:
            return RunState("incomplete", f"started {where}, no progress for {age / 3600:.0f} h: it died{at}")
        return RunState("running", f"running {where}{at} (its process cannot be checked from here)")
    alive, why = process_alive(process)
    if not alive:
        return RunState("incomplete", f"the run stopped without finishing{at}: {why} (killed, or the machine "
                                      "went down)")
    return RunState("running", f"in progress{at} (pid {process['pid']})")


def run_state(run_dir: Path) -> RunState:
    """What a run folder holds now: a finished run's status, or whether a ``running`` one is still alive.

    Args:
        run_dir: a ``runs/<id>/`` folder.
    Returns:
        ``RunState("ok"|"failed"|"interrupted", reason)`` for a finished run (``invalid-input`` reads as
        failed), ``RunState("running", ...)`` while its process lives, ``RunState("incomplete", reason)``
        when its process died (pid gone or reused, machine restarted, another host gone quiet for a day)
        or the manifest is missing or unreadable.
    """
    path = Path(run_dir) / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return RunState("incomplete", "no manifest.json: the run never started or its folder was emptied")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return RunState("incomplete", f"manifest.json cannot be read: {exc}")
    status = manifest.get("status") if isinstance(manifest, dict) else None
    if status in FINISHED:
        failure = manifest.get("failure") or {}
        reason = f"step '{failure.get('step')}': {failure.get('reason')}" if isinstance(failure, dict) and \
            failure else ""
        return RunState("failed" if status == "invalid-input" else status, reason)
    if status == "running":
        return _running_state(manifest, path)
    return RunState("incomplete", f"manifest.json has an unknown status {status!r}")
