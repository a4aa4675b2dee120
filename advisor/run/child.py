"""Child processes of a run (converter, TFLM interpreter): a native crash or a hang becomes a reason, not our death."""

from __future__ import annotations

import signal
import subprocess
import sys

from advisor.run.interrupt import check_current
from advisor.run.logs import log_text


def run_child(module: str, args: list[str], timeout: float, what: str) -> subprocess.CompletedProcess:
    """Run ``python -m module args`` and wait for it; its output is kept and copied into the run's log.

    NOTE: the child starts in its own session, so a Ctrl-C at the terminal reaches only this process:
    it raises ``Interrupted`` here, the child is killed and reaped, and the step is recorded as
    interrupted rather than as a child that died of SIGINT.

    Args:
        module: the child's module (``advisor.run.convert_child``).
        args: its arguments.
        timeout: seconds before the child is killed.
        what: how messages name the child (``the converter``).
    Returns:
        The finished process, stdout and stderr as text.
    Raises:
        TimeoutError: the child ran longer than ``timeout`` (it was killed).
        Interrupted: a signal arrived while waiting (the child was killed).
    """
    argv = [sys.executable, "-m", module, *args]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                          text=True, errors="replace", start_new_session=True) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise TimeoutError(f"{what} did not finish within {timeout / 60:.0f} minutes") from None
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    log_text(f"--- {what}: {' '.join(argv[1:])} (exit {proc.returncode})\n{out}{err}")
    check_current()
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def die_with_parent() -> None:
    """In a child: ask the kernel to kill this process when its parent dies (Linux), so a run killed with
    SIGKILL leaves no converter or interpreter behind writing into its folder."""
    import ctypes
    import os

    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # NOTE: the parent died before prctl took effect
        os._exit(70)


def death(returncode: int) -> str:
    """``SIGSEGV`` for a child killed by signal 11; ``exit 3`` otherwise."""
    if returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    return f"exit {returncode}"
