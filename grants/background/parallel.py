"""A function run beside the caller, in a thread of its own, and waited for.

``beside(function, *args)`` starts it at once; ``result()`` waits for it and returns its value or
raises its exception in the caller's thread (an error never stays in the thread). Nothing else is
shared: the function gets what it needs as arguments (an engine, a connection's COPY), never the
caller's session or app context — a SQLAlchemy session belongs to one thread.
"""
from __future__ import annotations

import threading
from collections.abc import Callable


class Beside:
    def __init__(self, function: Callable, args: tuple, name: str):
        self._value = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(function, args), name=name, daemon=True)
        self._thread.start()

    def _run(self, function: Callable, args: tuple) -> None:
        try:
            self._value = function(*args)
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def result(self):
        """Wait for the function; its value, or its exception raised here."""
        self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return self._value


def beside(function: Callable, *args, name: str = "fondos-beside") -> Beside:
    return Beside(function, args, name)
