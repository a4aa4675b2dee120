"""SIGINT, SIGTERM and SIGHUP during a run: raised inside a step, only noted while the runner keeps its books."""

from __future__ import annotations

import contextlib
import signal
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """A signal asked the run to stop (a KeyboardInterrupt, so callers that do not know it still exit 130)."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(signal.Signals(signum).name)

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


class SignalGuard:
    """Installs handlers for ``SIGNALS`` for the length of a ``with`` block and restores the old ones after.

    NOTE: a signal raises ``Interrupted`` only while ``armed()`` is active (a step is running); at any other
    moment (writing the manifest, cleaning up) it is only noted in ``signum``, and the runner checks it
    before the next step. So the books are never left half-written, and a second Ctrl-C during the
    cleanup cannot stop it.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._armed = False
        self._saved: dict = {}

    def __enter__(self) -> "SignalGuard":
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                self._saved[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, old in self._saved.items():
            signal.signal(sig, old)
        self._saved.clear()

    def _handle(self, signum, _frame) -> None:
        if self.signum is None:
            self.signum = signum
        if self._armed:
            self._armed = False
            raise Interrupted(signum)

    @contextlib.contextmanager
    def armed(self):
        """Let a signal interrupt the body (a step); one that came earlier interrupts it at once.

        Raises:
            Interrupted: a signal arrived before or during the body.
        """
        if self.signum is not None:
            raise Interrupted(self.signum)
        self._armed = True
        try:
            yield
        finally:
            self._armed = False

    def check(self) -> None:
        """Raise ``Interrupted`` if a signal has arrived (for waits that swallowed it, such as a child's).

        Raises:
            Interrupted: a signal arrived.
        """
        if self.signum is not None:
            raise Interrupted(self.signum)


# NOTE: the guard of the run in progress, so code deep inside a step (a child process wait) can check it.
CURRENT: list[SignalGuard] = []


def check_current() -> None:
    """``SignalGuard.check`` on the run in progress, if any."""
    if CURRENT:
        CURRENT[-1].check()
