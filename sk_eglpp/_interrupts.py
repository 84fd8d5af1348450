"""Ctrl-C in a long run: stop at a safe point, never inside a write."""

import contextlib
import signal
import threading

__all__ = ["Interrupts"]


class Interrupts:
    """Ctrl-C stops a run at a safe point.

    While installed (in the main thread only), SIGINT sets a flag and raises
    :class:`KeyboardInterrupt` at once, except inside :meth:`critical`
    (the writes of a finished cycle), where it waits for the block's end.
    skorch's ``fit`` swallows a KeyboardInterrupt and returns a network trained
    for fewer epochs; :meth:`check`, called after every fit, raises it again so
    that a cycle cut short is never recorded.
    """

    def __init__(self):
        self.requested = False
        self._deferring = False
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            try:
                self._previous = signal.signal(signal.SIGINT, self._handler)
            except ValueError:  # pragma: no cover - not the main interpreter
                self._previous = None
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
        return False

    def _handler(self, signum, frame):
        self.requested = True
        if not self._deferring:
            raise KeyboardInterrupt

    def check(self):
        if self.requested:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def critical(self):
        self.check()
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False
        self.check()
