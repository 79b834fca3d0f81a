"""A pure computation run in a forked child while this process does another, so a large
organization uses a second core. The child shares the parent's memory as it was at the fork
(the plan is not copied or pickled) and sends back only its result.

Only for pure functions of data already in memory: the child writes nothing but its result and
leaves with ``os._exit``, so no buffer, lock file or temporary folder of the parent is flushed or
cleaned twice.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


def available() -> bool:
    """Whether a second core can be used this way here: POSIX fork, more than one CPU, and no
    other thread (a fork copies only the calling thread: a lock another one held, an import
    lock for one, would stay held in the child for good)."""
    return (hasattr(os, "fork") and threading.active_count() == 1
            and len(os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity")
                    else range(os.cpu_count() or 1)) > 1)


class Forked(Generic[T]):
    """``fn()`` started in a child process; :meth:`result` waits for its value or raises what
    it raised."""

    def __init__(self, fn: Callable[[], T]) -> None:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child; coverage does not follow it
            os.close(read)
            try:
                try:
                    payload = pickle.dumps((True, fn()), pickle.HIGHEST_PROTOCOL)
                except BaseException as exc:  # noqa: BLE001 - handed to the parent to raise
                    try:
                        payload = pickle.dumps((False, exc), pickle.HIGHEST_PROTOCOL)
                    except Exception:  # noqa: BLE001 - an exception that does not pickle
                        payload = pickle.dumps((False, RuntimeError(repr(exc))))
                with os.fdopen(write, "wb") as fh:
                    fh.write(payload)
            finally:
                os._exit(0)
        os.close(write)
        self._pid = pid
        self._read = read

    def __enter__(self) -> Forked[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop and reap the child when this process failed before asking for its result."""
        if self._read >= 0:
            os.close(self._read)
            self._read = -1
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)  # pure work: nothing of it to keep
            os.waitpid(self._pid, 0)

    def result(self) -> T:
        fd, self._read = self._read, -1
        with os.fdopen(fd, "rb") as fh:
            data = fh.read()
        _, status = os.waitpid(self._pid, 0)
        if not data:
            raise RuntimeError(f"a worker process died without a result (status {status})")
        ok, value = pickle.loads(data)  # written by our own child, never by anyone else
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]


class _Here(Generic[T]):
    """What :func:`maybe` gives without a second core: the work, done here when asked."""

    def __init__(self, fn: Callable[[], T]) -> None:
        self._fn = fn

    def __enter__(self) -> _Here[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def result(self) -> T:
        return self._fn()


def maybe(fn: Callable[[], T], *, when: bool = True,
          instead: Callable[[], T] | None = None) -> Forked[T] | _Here[T]:
    """``fn()`` started in a child process when ``when`` and a second core is
    :func:`available`; otherwise ``instead()`` (``fn()`` by default), run in this process when
    the result is asked for. Used the same way either way: ``with``, then ``result()``."""
    if when and available():
        return Forked(fn)
    return _Here(instead or fn)
