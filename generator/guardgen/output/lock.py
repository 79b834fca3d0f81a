"""One writer per output directory: an ``flock`` on a lock file inside it.

``generate`` holds an exclusive lock from before it looks at the tree until after the new tree
is in place; ``check`` holds a shared one while it reads, so it never sees a tree being swapped.
The kernel drops an ``flock`` when its process dies, so a crash never leaves a stale lock: the
file may stay behind with the dead holder's description, but nothing holds it and the next run
takes it over. A writer removes the file when it is done; a waiter that finds its file gone or
replaced after locking starts over, so two writers never hold locks on different files.
"""

from __future__ import annotations

import errno
import os
import socket
import time
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

from ..errors import OutputError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; guardgen then runs unlocked
    fcntl = None  # type: ignore[assignment]

LOCK = ".guardgen.lock"
_POLL = 0.05


class LockedError(OutputError):
    """Another guardgen run holds the output directory."""


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 1024, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "another guardgen process"


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    own = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)


class OutputLock:
    """Context manager: lock ``out`` for writing (``exclusive``) or reading.

    A reader only locks when the lock file exists (a read never creates a file in the output);
    the tree swap is atomic, so a reader that finds no lock file cannot see half of a write.

    Args:
        out: The output directory (must exist for a writer).
        exclusive: Lock for writing.
        wait: Seconds to wait for a holder to finish before giving up.
        command: How the holder is described to a waiter.
    """

    def __init__(self, out: Path, *, exclusive: bool, wait: float = 5.0,
                 command: str = "guardgen") -> None:
        self.out = out
        self.path = out / LOCK
        self.exclusive = exclusive
        self.wait = wait
        self.command = command
        self.fd: int | None = None
        self.warnings: list[str] = []

    @property
    def held(self) -> bool:
        """True while this process holds the lock (a reader may run without one)."""
        return self.fd is not None

    def __enter__(self) -> OutputLock:
        if fcntl is None:  # pragma: no cover
            return self
        deadline = time.monotonic() + self.wait
        flags = os.O_CLOEXEC | os.O_NOFOLLOW | (os.O_RDWR | os.O_CREAT if self.exclusive else os.O_RDONLY)
        mode = fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH
        while True:
            try:
                fd = os.open(self.path, flags, 0o644)
            except FileNotFoundError:
                if self.exclusive:
                    raise OutputError(f"cannot lock {self.out}: the folder does not exist") from None
                return self  # no writer has run here since the lock file was last removed
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise OutputError(f"{self.path} is a symbolic link; guardgen never follows "
                                      "links in its output: remove it") from None
                if not self.exclusive and exc.errno in (errno.EACCES, errno.EPERM):
                    return self  # a reader may read unlocked: the swap of the tree is atomic
                raise OutputError(f"cannot lock {self.out}: cannot create {self.path}: "
                                  f"{exc.strerror}") from None
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(fd)
                os.close(fd)
                if time.monotonic() >= deadline:
                    raise LockedError(
                        f"{self.out} is in use by {holder}; waited {self.wait:g} s. Run again "
                        "when it has finished (a crashed run never keeps the lock).") from None
                time.sleep(_POLL)
                continue
            if not _same_file(fd, self.path):  # the holder removed or replaced it: start over
                os.close(fd)
                if not self.exclusive and not self.path.exists():
                    return self
                continue
            self.fd = fd
            break
        if self.exclusive:
            started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
            info = (f"`{self.command}` (pid {os.getpid()} on {socket.gethostname()}, started "
                    f"{started})\n")
            try:
                os.ftruncate(self.fd, 0)
                os.pwrite(self.fd, info.encode("utf-8"), 0)
            except OSError:  # a full disk: the lock still holds, only the description is lost
                pass
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    def release(self) -> None:
        """Drop the lock; a writer also removes the lock file so the tree is left clean."""
        fd, self.fd = self.fd, None
        if fd is None:
            return
        try:
            if self.exclusive and _same_file(fd, self.path):
                try:
                    os.unlink(self.path)
                except OSError as exc:  # the next writer reuses the file, so only report it
                    self.warnings.append(f"cannot remove {self.path}: {exc.strerror}")
        finally:
            os.close(fd)
