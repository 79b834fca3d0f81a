"""What the last generation left in an output, remembered outside the tree so an unchanged
input can be answered without planning or rendering.

After ``generate`` leaves a tree that matches its inputs, :func:`remember` stores, in the user's
cache folder (never in the tree, which is committed), the digest of those inputs and the stat of
every file and folder in the tree, once each generated file is proved to hold what was
generated. :func:`unchanged` says the tree is still that one when the inputs have the same digest
and every path has the same mode, size, inode, modification and change times, and no folder
gained or lost an entry (a folder's times change when it does). This is how git trusts its
index. A path changed within a clock tick of being recorded could keep its times, so the record
is taken once the file system's clock has moved past this run's last change, and not at all
while anything else changes.

Anything unexpected (no cache folder, a record that does not parse, a path that cannot be
read) means "not known unchanged": the full path runs, which is always correct.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import atomic
from .atomic import MANIFEST
from .lock import LOCK

CACHE_ENV = "GUARDGEN_CACHE_DIR"
_FORMAT = 1


def _folder() -> Path | None:
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return Path(configured) if configured and configured != "off" else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "guardgen" / "outputs"


def _record_path(out: Path) -> Path | None:
    folder = _folder()
    if folder is None:
        return None
    key = hashlib.sha256(os.fsencode(os.path.abspath(out))).hexdigest()[:32]
    return folder / f"{key}.record"


def _scan(out: Path) -> tuple[list[str], dict[str, atomic.Stamp]] | None:
    """The names at the top of ``out`` (whose own times the lock file moves) and the stamp of
    every path below it."""
    top: list[str] = []
    entries: dict[str, atomic.Stamp] = {}
    stack = [""]
    try:
        while stack:
            rel = stack.pop()
            with os.scandir(os.path.join(out, rel) if rel else out) as it:
                for e in it:
                    if not rel and e.name == LOCK:
                        continue
                    path = f"{rel}/{e.name}" if rel else e.name
                    if not rel:
                        top.append(e.name)
                    st = atomic.stamp(e.stat(follow_symlinks=False))
                    entries[path] = st
                    if stat.S_ISDIR(st[0]):
                        stack.append(path)
    except OSError:
        return None
    return sorted(top), entries


def _inventory(out: Path, stamps: Mapping[str, atomic.Stamp | None]
               ) -> tuple[list[str], dict[str, atomic.Stamp]] | None:
    """:func:`_scan` for a tree whose every path a write listed: its stamp where the write made
    the path, an lstat now for what it carried over. Whatever appeared since changed the times
    of a folder listed, or is a new name at the top."""
    top = sorted(rel for rel in stamps if "/" not in rel and rel != LOCK)
    entries: dict[str, atomic.Stamp] = {}
    try:
        if sorted(n for n in os.listdir(out) if n != LOCK) != top:
            return None
        fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for rel, st in stamps.items():
                if rel != LOCK:
                    entries[rel] = st if st is not None else atomic.stamp(os.lstat(rel, dir_fd=fd))
        finally:
            os.close(fd)
    except OSError:
        return None
    return top, entries


def remember(out: Path, inputs: str, summary: str, files: dict[str, str], since_ns: int,
             stamps: Mapping[str, atomic.Stamp | None] | None = None) -> None:
    """Record that ``out`` now holds ``files``, the generation of ``inputs`` begun at
    ``since_ns`` (``summary`` is what a no-op run reports). The caller holds the output's lock.
    Failing to record only costs the next run its shortcut.

    A path this run made is recorded with its stamp, the stat it had once made (``stamps``,
    from :func:`guardgen.output.write`, which lists the whole new tree): the tree was swapped
    in a clock tick later, so any change since gives it other times, now or later, and the
    record then no longer matches. Every other path's stat is taken once the file system's
    clock has moved past this run's last change, and every other generated file is read back
    and compared with what was generated. Either way the record never vouches for a file
    someone else wrote.
    """
    path = _record_path(out)
    if path is None:
        return
    with contextlib.suppress(OSError):  # a record that no longer describes the tree goes now
        path.unlink()
    probe = os.path.join(out, LOCK)
    try:
        settled = atomic.clock_after(probe, 0)
        if settled is None or atomic.clock_after(probe, settled) is None:
            return  # a clock that does not move: nothing can be proved by times
    except OSError:
        return
    stamped = stamps or {}
    scanned = _inventory(out, stamped) if stamped else _scan(out)
    if scanned is None:
        return
    top, entries = scanned
    if any(e[3] > settled or e[4] > settled for e in entries.values()):
        return  # the tree is changing right now: it proves nothing
    if all(e[3] % 1_000_000_000 == 0 for e in entries.values()):
        return  # whole-second times (FAT, HFS+): a tick too coarse to trust
    # A file guardgen does not own matters to planning (a .tf of yours beside generated ones)
    # only as it was when this run read it.
    if any(e[3] >= since_ns for rel, e in entries.items()
           if rel not in files and not stat.S_ISDIR(e[0])):
        return
    if any(rel not in entries for rel in files):
        return  # a generated file is gone already
    unproved = [rel for rel in files if stamped.get(rel) is None]
    if not _holds(out, files, unproved):
        return
    record = {"format": _FORMAT, "inputs": inputs, "summary": summary, "top": top,
              "paths": list(entries), "stats": list(entries.values())}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".record-", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(marshal.dumps(record))
        os.replace(tmp, path)
    except OSError:
        return


def _holds(out: Path, files: dict[str, str], rels: list[str]) -> bool:
    """Whether every file ``rels`` names is in ``out`` with exactly its text in ``files``."""
    try:
        root = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return False
    try:
        for rel in rels:
            data = files[rel].encode("utf-8")
            fd = os.open(rel, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=root)
            try:
                if os.read(fd, len(data) + 1) != data:
                    return False
            finally:
                os.close(fd)
    except OSError:
        return False
    finally:
        os.close(root)
    return True


def _load(out: Path) -> dict[str, Any] | None:
    path = _record_path(out)
    if path is None:
        return None
    try:
        with open(path, "rb") as fh:
            # Plain data only: marshal never runs code it reads. loads(), not load(): that one
            # reads a file in small pieces.
            record = marshal.loads(fh.read())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if not isinstance(record, dict) or record.get("format") != _FORMAT:
        return None
    return record


def _stamps_now(out: Path, paths: list[str]) -> list[atomic.Stamp | None]:
    """The stamp of each of ``paths`` under ``out`` now, None for one that is gone."""
    fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        stamp, lstat = atomic.stamp, os.lstat
        try:  # the common case, a comprehension: it is every path of a large tree
            return [stamp(lstat(rel, dir_fd=fd)) for rel in paths]
        except FileNotFoundError:
            return [stamp(st) if (st := _lstat_at(rel, fd)) else None for rel in paths]
    finally:
        os.close(fd)


def _lstat_at(rel: str, fd: int) -> os.stat_result | None:
    try:
        return os.lstat(rel, dir_fd=fd)
    except FileNotFoundError:
        return None


def unchanged(out: Path, inputs: str) -> str | None:
    """The recorded summary when ``out`` provably still holds the generation of ``inputs``."""
    record = _load(out)
    if record is None or record.get("inputs") != inputs:
        return None
    try:
        if sorted(n for n in os.listdir(out) if n != LOCK) != record["top"]:
            return None
        if _stamps_now(out, record["paths"]) != record["stats"]:
            return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    summary = record.get("summary")
    return summary if isinstance(summary, str) else None


def vouched(out: Path) -> frozenset[str]:
    """The files of the last recorded generation, whatever its inputs, that still have the
    stamp it recorded, while its manifest is one of them. Such a file still holds what that
    generation wrote: the hash the manifest lists for it. Empty when there is no such record."""
    record = _load(out)
    if record is None:
        return frozenset()
    try:
        recorded = [(rel, st) for rel, st in zip(record["paths"], record["stats"], strict=True)
                    if stat.S_ISREG(st[0])]
        now = _stamps_now(out, [rel for rel, _ in recorded])
    except (OSError, KeyError, TypeError, ValueError, IndexError):
        return frozenset()
    found = frozenset(rel for (rel, st), current in zip(recorded, now, strict=True)
                      if current == st)
    return found if MANIFEST in found else frozenset()
