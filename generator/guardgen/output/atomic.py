"""Replace the whole output tree in one atomic step, and clean up after a run that crashed.

A write builds the complete new tree in a work folder next to the output
(``.<name>.guardgen-work/tree``): files guardgen changes are written there, and every other file
(unchanged generated files, and files guardgen does not own) is hard-linked, so it stays the very
same file. One ``syncfs`` then makes all of it durable, and a single ``renameat2(RENAME_EXCHANGE)``
swaps the new tree with the output directory: that exchange is the commit point. Anyone reading
the output sees the old tree before it and the new tree after it, never a mix, and a crash or
power loss at any moment leaves one of the two. The old tree, now in the work folder, is then
deleted.

Recovery after a crash trusts only what it can verify. The work folder must hold a journal that
names this output and the identities (device, inode) of the old and new tree folders; which of
them the output directory is now says whether the swap happened. Recovery deletes only inside the
work folder, and only files it can prove are guardgen's or still present in the output: a hard
link to a file that is still in the output, a generated path listed by the tree's own manifest,
or (old trees) a file whose content matches the hash its manifest recorded. Anything else is kept
and moved aside to ``.<name>.guardgen-kept-<time>``, never deleted.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import shutil
import stat
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

from ..errors import OutputError

MANIFEST = ".guardgen-manifest.json"
_WORK = ".guardgen-work"
_KEPT = ".guardgen-kept"
_JOURNAL = "journal.json"
_JOURNAL_TMP = "journal.json.tmp"
_MANIFEST_TMP = "manifest.tmp"
_TREE = "tree"  # the new tree while it is built; the old one once exchanged
_OLD = "old"  # the old tree, when the platform cannot exchange and renames twice instead

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
try:
    _LIBC: ctypes.CDLL | None = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None
except OSError:  # pragma: no cover - a libc that cannot be opened
    _LIBC = None


def work_dir(out: Path) -> Path:
    """The work folder of ``out``: next to it, so that a rename can swap the two."""
    out = Path(os.path.abspath(out))
    return out.parent / f".{out.name}{_WORK}"


# --- the tree on disk ----------------------------------------------------------------------


@dataclass(frozen=True)
class Scan:
    """Every entry under a folder, by relative path, never following a link."""

    files: dict[str, tuple[str, int]]  # not folders: kind (file, link, other) and inode number
    dirs: dict[str, os.stat_result]  # folders, with their lstat (mode, owner)
    empty_dirs: set[str]


def scan(root: str) -> Scan:
    """List everything under ``root``: one ``getdents`` per folder and one ``lstat`` per folder
    (files are typed by the directory entry itself). Raises :class:`OutputError` for a folder it
    cannot read or a file system mounted inside the tree (a hard link cannot cross it)."""
    files: dict[str, tuple[str, int]] = {}
    dirs: dict[str, os.stat_result] = {}
    empty: set[str] = set()
    dev = os.lstat(root).st_dev
    todo = [("", root)]
    while todo:
        rel, path = todo.pop()
        try:
            with os.scandir(path) as it:
                children = list(it)
        except OSError as exc:
            raise OutputError(f"cannot read {path}: {exc.strerror}") from None
        if rel and not children:
            empty.add(rel)
        for e in children:
            r = f"{rel}/{e.name}" if rel else e.name
            if e.is_dir(follow_symlinks=False):
                st = e.stat(follow_symlinks=False)
                if st.st_dev != dev:
                    raise OutputError(f"{e.path} is another file system mounted inside the output; "
                                      "guardgen cannot replace the tree atomically around it")
                dirs[r] = st
                todo.append((r, e.path))
            elif e.is_symlink():
                files[r] = ("link", e.inode())
            elif e.is_file(follow_symlinks=False):
                files[r] = ("file", e.inode())
            else:
                files[r] = ("other", e.inode())
    return Scan(files, dirs, empty)


# What identifies one state of a path: mode, size, inode, modification and change times.
Stamp = tuple[int, int, int, int, int]


def stamp(st: os.stat_result) -> Stamp:
    return (st.st_mode, st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _digest_file(path: str) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        h = sha256()
        while chunk := os.read(fd, 1 << 20):
            h.update(chunk)
        return h.hexdigest()
    finally:
        os.close(fd)


def manifest_files(path: str) -> dict[str, str] | None:
    """The ``files`` of a guardgen manifest at ``path``, or None when it is not one."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        raw = b""
        while chunk := os.read(fd, 1 << 20):
            raw += chunk
    finally:
        os.close(fd)
    try:
        doc = json.loads(raw)
        files = doc["files"]
        if doc.get("generator") != "guardgen" or not isinstance(files, dict):
            return None
        return {str(k): str(v) for k, v in files.items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


# --- platform: one flush, one exchange -------------------------------------------------------


def sync_filesystem(path: str) -> None:
    """Flush every dirty page of the file system holding ``path`` (``syncfs``), or of all file
    systems where ``syncfs`` does not exist. Raises OSError when the kernel reports a write
    error, so a tree that did not reach the disk is never committed."""
    fn = getattr(_LIBC, "syncfs", None) if _LIBC is not None else None
    if fn is None:  # pragma: no cover - not Linux
        os.sync()
        return
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if fn(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), path)
    finally:
        os.close(fd)


def _exchange(a: str, b: str) -> bool:
    """Atomically swap two paths. False when this platform or file system cannot."""
    fn = getattr(_LIBC, "renameat2", None) if _LIBC is not None else None
    if fn is None:  # pragma: no cover - not Linux, or a libc older than 2.28
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), b)


def clock_after(probe: str, after_ns: int, *, limit: float = 0.25) -> int | None:
    """The file system's own clock, read by touching ``probe`` (a file of this run's), once it
    is past ``after_ns``; None when it has not moved past it within ``limit`` seconds (a file
    system with whole-second times). File times come from this clock, coarse-grained: a change
    made now gets a later time than anything stamped at ``after_ns`` or before."""
    deadline = time.monotonic() + limit
    while True:
        os.utime(probe, follow_symlinks=False)
        now = os.lstat(probe).st_ctime_ns
        if now > after_ns:
            return now
        if time.monotonic() > deadline:
            return None
        time.sleep(0.001)


# --- the journal -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Journal:
    """What a write records before it builds: which output, and the identities of the old and
    the new tree folders."""

    out: str
    old: tuple[int, int]
    new: tuple[int, int]

    @staticmethod
    def read(work: Path) -> Journal | None:
        try:
            doc = json.loads((work / _JOURNAL).read_bytes())
            return Journal(str(doc["out"]), (int(doc["old"][0]), int(doc["old"][1])),
                           (int(doc["new"][0]), int(doc["new"][1])))
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return None

    def write(self, work: Path) -> None:
        tmp = work / _JOURNAL_TMP
        tmp.write_text(json.dumps({"guardgen": 1, "out": self.out, "old": list(self.old),
                                   "new": list(self.new)}), encoding="utf-8")
        os.replace(tmp, work / _JOURNAL)


def _ident(st: os.stat_result | None) -> tuple[int, int] | None:
    return (st.st_dev, st.st_ino) if st is not None else None


# --- leftovers of an interrupted run ---------------------------------------------------------


@dataclass(frozen=True)
class Leftover:
    """What an interrupted write left next to the output."""

    work: Path
    # building: not committed; committed: swapped, old tree not yet removed; swapping: half of
    # two renames; empty: nothing but empty folders; unknown: not guardgen's
    state: str

    def describe(self, out: Path) -> str:
        """A sentence for ``check`` and ``generate``."""
        if self.state == "building":
            return (f"a `guardgen generate` was interrupted before it replaced {out}: the output "
                    "is still the complete tree from before that run. Run `guardgen generate` "
                    f"again (it removes {self.work}).")
        if self.state == "committed":
            return (f"a `guardgen generate` replaced {out} completely but was interrupted while "
                    f"removing the previous tree from {self.work}; the next `guardgen generate` "
                    "removes it.")
        if self.state == "empty":
            return (f"a `guardgen generate` was interrupted and left an empty work folder, "
                    f"{self.work}; {out} is complete and the next `guardgen generate` removes it.")
        if self.state == "swapping":
            return (f"a `guardgen generate` was interrupted in the middle of replacing {out} on a "
                    f"system without atomic exchange; the new tree is in {self.work}. Run "
                    "`guardgen generate` again to finish.")
        return (f"{self.work} exists but does not match {out}; guardgen will not touch it. Move "
                "it away if it is not yours.")


def leftover(out: Path) -> Leftover | None:
    """Inspect (without changing anything) what an interrupted write left, if anything."""
    out = Path(os.path.abspath(out))
    work = work_dir(out)
    wst = _lstat(str(work))
    if wst is None:
        return None
    if not stat.S_ISDIR(wst.st_mode):
        return Leftover(work, "unknown")
    journal = Journal.read(work)
    if journal is None:  # before the journal was written, or after it was removed: no swap pending
        return Leftover(work, "empty" if _early_leftover(work) else "unknown")
    cur = _ident(_lstat(str(out)))
    if journal.out != os.path.realpath(out):
        return Leftover(work, "unknown")
    if cur == journal.new:
        return Leftover(work, "committed")
    if cur == journal.old:
        return Leftover(work, "building")
    if cur is None and _ident(_lstat(str(work / _TREE))) == journal.new:
        return Leftover(work, "swapping")
    return Leftover(work, "unknown")


def _early_leftover(work: Path) -> bool:
    """A work folder from a run killed before its journal existed: at most an empty tree folder
    and a partial journal."""
    try:
        names = set(os.listdir(work))
    except OSError:
        return False
    if not names <= {_TREE, _JOURNAL_TMP}:
        return False
    tree = work / _TREE
    if _TREE in names:
        st = _lstat(str(tree))
        if st is None or not stat.S_ISDIR(st.st_mode) or os.listdir(tree):
            return False
    return True


def recover(out: Path) -> list[str]:
    """Finish or undo what an interrupted write left next to ``out`` (call it under the lock).

    Returns notes for the user. Raises :class:`OutputError` when the work folder is not one
    guardgen can account for.
    """
    out = Path(os.path.abspath(out))
    left = leftover(out)
    if left is None:
        return []
    work = left.work
    if left.state == "unknown":
        raise OutputError(f"{work} is in the way: guardgen uses that name for its work folder "
                          f"and cannot tell it belongs to {out}. Move it away and run again.")
    journal = Journal.read(work)
    notes: list[str] = []
    kept: list[str] = []
    if journal is None:  # killed before anything but the folders existed
        shutil.rmtree(work)
        return ["removed the empty work folder of an interrupted `guardgen generate`"]
    tree, old = str(work / _TREE), str(work / _OLD)
    if left.state == "swapping":  # the output was moved aside; put the new tree in its place
        os.rename(tree, out)
        sync_filesystem(str(out))
        left = Leftover(work, "committed")
    if left.state == "committed":
        for previous in (tree, old):
            if _lstat(previous) is not None:
                kept += _remove_old_tree(previous, str(out))
        notes.append(f"finished an interrupted `guardgen generate`: {out} already held the new "
                     "tree; removed the previous one")
    else:
        if _lstat(tree) is not None:
            kept += _remove_partial_tree(tree, str(out))
        notes.append(f"discarded the unfinished tree of an interrupted `guardgen generate`; {out} "
                     "was left as it was before that run")
    notes += _finish(work, out, kept)
    return notes


def _finish(work: Path, out: Path, kept: list[str]) -> list[str]:
    """Remove the work folder; anything it still holds that guardgen could not prove is its own
    is moved aside, not deleted."""
    for name in (_JOURNAL, _JOURNAL_TMP, _MANIFEST_TMP):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(work / name)
    try:
        os.rmdir(work)
        return []
    except OSError:
        pass
    aside = out.parent / f".{out.name}{_KEPT}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    os.rename(work, aside)
    shown = ", ".join(kept[:5]) + (f" and {len(kept) - 5} more" if len(kept) > 5 else "")
    return [f"kept files guardgen cannot prove it wrote in {aside} ({shown or 'unknown entries'}); "
            "move what you need back into the output and delete the folder"]


def _walk_files(root: str) -> Iterable[tuple[str, str, os.DirEntry[str]]]:
    """(relative path, absolute path, entry) of every non-folder under ``root``, never following
    links. Folders are removed afterwards by :func:`_prune_dirs`, once they are empty."""
    stack = [("", root)]
    while stack:
        rel, path = stack.pop()
        try:
            with os.scandir(path) as it:
                children = list(it)
        except OSError:
            continue
        for e in children:
            r = f"{rel}/{e.name}" if rel else e.name
            if e.is_dir(follow_symlinks=False):
                stack.append((r, e.path))
            else:
                yield r, e.path, e


def _prune_dirs(root: str) -> bool:
    """Remove every empty folder under ``root`` and ``root`` itself; True if all went."""
    for dirpath, _, _ in sorted(os.walk(root), key=lambda w: -w[0].count(os.sep)):
        with contextlib.suppress(OSError):  # not empty: something is kept
            os.rmdir(dirpath)
    return not os.path.lexists(root)


def _kept_entries(root: str) -> list[str]:
    out: list[str] = []
    for dirpath, dirs, files in os.walk(root):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(dirpath, d))]:
            out.append(os.path.relpath(os.path.join(dirpath, name), root))
    return sorted(out)


def _remove_old_tree(root: str, out: str) -> list[str]:
    """Delete a replaced tree, file by file, where it is provably safe; return what was kept."""
    owned = manifest_files(os.path.join(root, MANIFEST)) or {}
    return _remove_tree(root, out, lambda rel, path: (
        (rel == MANIFEST and manifest_files(path) is not None)
        or (rel in owned and _digest_file(path) == owned[rel])))


def _remove_partial_tree(root: str, out: str) -> list[str]:
    """Delete an unfinished new tree: links to files still in the output, and paths its own
    manifest (written first) lists as generated."""
    generated = manifest_files(os.path.join(root, MANIFEST)) or {}
    return _remove_tree(root, out, lambda rel, _: rel == MANIFEST or rel in generated)


def _remove_tree(root: str, out: str, generated: Callable[[str, str], bool]) -> list[str]:
    """Delete from ``root`` every link and file that is still in ``out`` as it is here, and the
    regular files ``generated(rel, path)`` vouches for; return what was kept."""
    manifest_safe = False
    for rel, path, entry in _walk_files(root):
        st = entry.stat(follow_symlinks=False)
        now = _lstat(f"{out}/{rel}")
        if stat.S_ISLNK(st.st_mode):
            safe = (now is not None and stat.S_ISLNK(now.st_mode)
                    and os.readlink(path) == os.readlink(f"{out}/{rel}"))
        elif stat.S_ISREG(st.st_mode):
            safe = (now is not None and _same(st, now)) or generated(rel, path)
        else:
            safe = False
        if safe and rel == MANIFEST:
            manifest_safe = True
        elif safe:
            os.unlink(path)
    if manifest_safe:  # last: it vouches for the rest if this is interrupted
        os.unlink(os.path.join(root, MANIFEST))
    return [] if _prune_dirs(root) else _kept_entries(root)


# --- the write -------------------------------------------------------------------------------


def _parents(rel: str) -> Iterable[str]:
    i = rel.rfind("/")
    while i > 0:
        rel = rel[:i]
        yield rel
        i = rel.rfind("/")


def replace_tree(out: Path, files: dict[str, str], writes: Iterable[str],
                 drops: Iterable[str], stamps: dict[str, Stamp | None] | None = None
                 ) -> list[str]:
    """Make ``out`` hold ``files`` in one atomic step (see the module docstring).

    Args:
        out: The output directory; it exists and the caller holds its lock.
        files: Every rendered file, manifest included, by relative path.
        writes: Paths whose content changes (created or rewritten).
        drops: Paths under ``out`` that the new tree leaves out (owned files no longer rendered,
            and with ``--force`` files edited by hand).
        stamps: Filled, when given, with every path of the new tree below its top: the stat
            of what this write made (files once written, the manifest, folders once filled),
            None for what it carried over from the old tree. The swap comes a file-system
            clock tick after the last of those stats, so anyone changing such a path later
            gives it another change time; when the clock cannot be seen to move, ``stamps``
            stays empty.

    Returns:
        Notes for the user (files kept aside during the clean-up), usually none.

    Raises:
        OutputError: when the new tree cannot be built or swapped in; ``out`` is then unchanged.
    """
    writes = set(writes)
    drops = set(drops)
    out_s = os.path.realpath(out)
    work = work_dir(out)
    try:
        os.mkdir(work)
    except FileExistsError:
        raise OutputError(f"{work} exists: another run's work folder. Run `guardgen generate` "
                          "again to recover it.") from None
    except OSError as exc:
        raise OutputError(f"cannot create {work}: {exc.strerror}. guardgen builds the new tree "
                          f"next to {out} and swaps the two, so it needs write access to "
                          f"{out.parent}.") from None
    tree = str(work / _TREE)
    try:
        old_root = os.lstat(out_s)
        os.mkdir(tree)
        _copy_owner_and_mode(tree, old_root)
        Journal(out_s, _ident(old_root) or (0, 0), _ident(os.lstat(tree)) or (0, 0)).write(work)
        old = scan(out_s)
        written: dict[str, Stamp | None] = {}
        _build(out_s, tree, work, files, writes, drops, old, written)
        sync_filesystem(tree)
        newest = max((max(st[3], st[4]) for st in written.values() if st is not None), default=0)
        if stamps is not None and clock_after(str(work / _JOURNAL), newest) is not None:
            stamps.update(written)
        _commit(tree, out_s, str(work / _OLD))
    except BaseException as exc:
        # Not committed: everything in the work folder was made by this process (links and new
        # files), and the output was not touched.
        shutil.rmtree(work, ignore_errors=True)
        if isinstance(exc, OSError) and exc.errno in (errno.EXDEV, errno.EBUSY):
            raise OutputError(f"cannot replace {out}: {exc.strerror}. guardgen swaps the whole "
                              "folder in one step, so the output cannot be a mount point: mount "
                              "the folder above it instead. Nothing changed.") from None
        if isinstance(exc, OSError):
            where = f" ({exc.filename})" if exc.filename else ""
            raise OutputError(f"cannot write the new tree: {exc.strerror}{where}. Nothing changed: "
                              f"{out} is the tree it was before.") from None
        raise
    notes: list[str] = []
    kept: list[str] = []
    try:
        sync_filesystem(out_s)  # the exchange itself, on disk
        for previous in (tree, str(work / _OLD)):
            if os.path.lexists(previous):
                kept += _remove_scanned(previous, old)
        notes += _finish(work, out, kept)
    except OSError as exc:
        notes.append(f"the new tree is in place, but the previous one could not be removed from "
                     f"{work} ({exc.strerror}); the next `guardgen generate` removes it")
    return notes


def _commit(tree: str, out: str, aside: str) -> None:
    """Swap the new tree in: one exchange, or two renames where the platform has none."""
    if _exchange(tree, out):
        return
    os.rename(out, aside)
    try:
        os.rename(tree, out)
    except OSError:
        os.rename(aside, out)
        raise


def _copy_owner_and_mode(path: str, like: os.stat_result) -> None:
    """Give a recreated folder the mode (and, when running as root, the owner) of the old one."""
    os.chmod(path, stat.S_IMODE(like.st_mode))
    if os.geteuid() == 0 and (like.st_uid, like.st_gid) != (os.getuid(), os.getgid()):
        os.lchown(path, like.st_uid, like.st_gid)


def _build(out: str, tree: str, work: Path, files: dict[str, str], writes: set[str],
           drops: set[str], old: Scan, written: dict[str, Stamp | None]) -> set[str]:
    """Fill ``tree`` with the new tree: ``writes`` written, everything else of ``out`` linked;
    ``written`` gets every path, as :func:`replace_tree` says of ``stamps``. Returns the paths
    that had to be copied rather than linked."""
    copied: set[str] = set()
    carried: dict[str, str] = {}
    for rel, (kind, _) in old.files.items():
        if rel in drops or rel in writes:
            continue
        if kind == "other":
            raise OutputError(f"{out}/{rel} is a special file (a pipe, socket or device); guardgen "
                              "keeps only files, folders and links in its output: move it away")
        carried[rel] = kind
    dirs = set(old.empty_dirs)  # folders someone made and left empty stay, and their folders
    for rel in (*carried, *writes, *old.empty_dirs):
        dirs.update(_parents(rel))
    # compare() refuses these first, with a better message; this is the last line of defence.
    for rel in writes:
        if rel in dirs:
            raise OutputError(f"{out}/{rel}: a folder is in the way of a generated file")
    for rel in dirs:
        if rel in carried:
            raise OutputError(f"{out}/{rel}: a file is in the way of a generated folder")

    # The manifest goes in first and whole, so that recovery knows every path generated here.
    if MANIFEST in writes:
        tmp = str(work / _MANIFEST_TMP)
        _write_new(tmp, files[MANIFEST])
        os.rename(tmp, f"{tree}/{MANIFEST}")
        written[MANIFEST] = stamp(os.lstat(f"{tree}/{MANIFEST}"))  # the rename may move ctime
    elif MANIFEST in carried:
        os.link(f"{out}/{MANIFEST}", f"{tree}/{MANIFEST}", follow_symlinks=False)
    umask = os.umask(0)
    os.umask(umask)
    default_mode = 0o777 & ~umask
    for rel in sorted(dirs, key=lambda d: (d.count("/"), d)):
        os.mkdir(f"{tree}/{rel}")
        was = old.dirs.get(rel)
        if was is not None and (stat.S_IMODE(was.st_mode) != default_mode or os.geteuid() == 0):
            _copy_owner_and_mode(f"{tree}/{rel}", was)
    root = os.geteuid() == 0
    for rel, kind in carried.items():
        if rel == MANIFEST:
            continue
        src, dst = f"{out}/{rel}", f"{tree}/{rel}"
        if kind == "link":
            os.symlink(os.readlink(src), dst)
            if root:
                st = os.lstat(src)
                os.lchown(dst, st.st_uid, st.st_gid)
            continue
        try:
            os.link(src, dst, follow_symlinks=False)
        except OSError as exc:
            # Hard links to another user's files may be forbidden (protected_hardlinks), and a
            # file may have too many links already: keep an exact copy instead.
            if exc.errno not in (errno.EPERM, errno.EMLINK, errno.EACCES):
                raise
            shutil.copy2(src, dst, follow_symlinks=False)
            copied.add(rel)
    for rel in writes:
        if rel != MANIFEST:
            written[rel] = _write_new(f"{tree}/{rel}", files[rel])
    written.update(dict.fromkeys(carried))
    for rel in dirs:  # filled: no entry is added to them any more
        written[rel] = stamp(os.lstat(f"{tree}/{rel}"))
    return copied


def _remove_scanned(root: str, old: Scan) -> list[str]:
    """Delete a tree just replaced by this process: every entry still exactly as scanned under
    the lock (same name, same inode) goes; anything that appeared since is kept."""
    kept: list[str] = []
    for d in sorted(old.dirs, key=lambda d: -d.count("/")) + [""]:
        path = f"{root}/{d}" if d else root
        try:
            with os.scandir(path) as it:
                children = list(it)
        except OSError:
            continue
        for e in children:
            if e.is_dir(follow_symlinks=False):
                continue  # a folder of the scan is removed in its turn; any other stays
            rel = f"{d}/{e.name}" if d else e.name
            seen = old.files.get(rel)
            if seen is None or seen[1] != e.inode():
                kept.append(rel)
            elif rel != MANIFEST:  # last: recovery needs it to vouch for the rest
                os.unlink(e.path)
        if d:
            with contextlib.suppress(OSError):  # not empty: something is kept
                os.rmdir(path)
    seen = old.files.get(MANIFEST)
    with contextlib.suppress(FileNotFoundError):
        if seen is not None and os.lstat(f"{root}/{MANIFEST}").st_ino == seen[1]:
            os.unlink(f"{root}/{MANIFEST}")
    with contextlib.suppress(OSError):
        os.rmdir(root)
    return [] if not os.path.lexists(root) else (kept or _kept_entries(root))


def _write_new(path: str, text: str) -> Stamp:
    """Create ``path`` with ``text``; its stamp once written."""
    data = text.encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        return stamp(os.fstat(fd))
    finally:
        os.close(fd)
