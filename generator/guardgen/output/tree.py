"""The only place guardgen touches the output tree: compare, own a manifest, write atomically.

``generate`` and ``check`` share :func:`compare`; ``generate`` then replaces the tree in one
atomic step (:mod:`.atomic`) under the output's lock (:mod:`.lock`).

Paths are checked component by component without following links: a link in the output (a
generated folder or file made into a link, pointing anywhere) is reported, never written through.
"""

from __future__ import annotations

import difflib
import errno
import hashlib
import os
import stat
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii
from pathlib import Path

from ..errors import OutputError
from . import atomic
from .atomic import MANIFEST as MANIFEST
from .lock import LOCK, OutputLock


def digest(text: str) -> str:
    """SHA-256 of ``text`` as written (UTF-8), in hex: what the manifest records."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def with_manifest(files: dict[str, str], digests: Mapping[str, str] | None = None
                  ) -> dict[str, str]:
    """Add the manifest, which lists every file guardgen owns with the hash it wrote (taken
    from ``digests`` where the caller has it already)."""
    # json.dumps(manifest, indent=2, sort_keys=True), written out: with an indent the standard
    # library encodes in Python, which is most of the cost for tens of thousands of files.
    q = encode_basestring_ascii
    known = digests or {}
    entries = ",\n".join(f"    {q(path)}: {q(known.get(path) or digest(text))}"
                          for path, text in sorted(files.items()))
    body = f"{{\n{entries}\n  }}" if entries else "{}"
    text = f'{{\n  "files": {body},\n  "generator": "guardgen",\n  "version": 1\n}}\n'
    return {**files, MANIFEST: text}


@dataclass
class Comparison:
    """How the tree on disk differs from the rendered one."""

    create: list[str] = field(default_factory=list)
    update: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)  # owned files no longer rendered
    hand_edited: list[str] = field(default_factory=list)  # owned files changed since written
    foreign: list[str] = field(default_factory=list)  # files in the way that guardgen never wrote
    blocked: list[str] = field(default_factory=list)  # what guardgen will not write through, why
    current: dict[str, str | None] = field(default_factory=dict)  # disk text of differing files

    @property
    def clean(self) -> bool:
        return not (self.create or self.update or self.delete or self.blocked)


# Components that leave a plain relative path: empty (a leading, doubled or trailing "/"), "."
# and "..". A backslash or a NUL anywhere is refused too.
_UNSAFE_PARTS = frozenset({"", ".", ".."})


def _unsafe(rel: str) -> bool:
    # Split rather than a regular expression: this runs for every path of every tree twice.
    return "\\" in rel or "\0" in rel or not _UNSAFE_PARTS.isdisjoint(rel.split("/"))


def _safe_rel(rel: str) -> str:
    """``rel`` if it is a plain relative path inside the output, else :class:`OutputError`."""
    if _unsafe(rel):
        raise OutputError(f"refusing to touch {rel!r}: outside the output directory")
    return rel


_KIND = {"dir": "a folder", "file": "a file", "link": "a symbolic link", "other": "a special file"}


def _kind_of(mode: int) -> str:
    return ("dir" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode)
            else "link" if stat.S_ISLNK(mode) else "other")


class _Disk:
    """What is at each path under ``out``, found without following links (one lstat per folder,
    cached; one open per file)."""

    def __init__(self, out: Path) -> None:
        self.out = str(out)
        self.kinds: dict[str, str] = {"": "dir"}
        self.parents: dict[str, tuple[str, str] | None] = {"": None}

    def kind(self, rel: str) -> str:
        """``dir``, ``file``, ``link``, ``other`` or ``missing`` for ``rel`` itself."""
        known = self.kinds.get(rel)
        if known is not None:
            return known
        try:
            kind = _kind_of(os.lstat(f"{self.out}/{rel}").st_mode)
        except (FileNotFoundError, NotADirectoryError):
            kind = "missing"
        except OSError as exc:
            raise OutputError(f"cannot read {self.out}/{rel}: {exc.strerror}") from None
        self.kinds[rel] = kind
        return kind

    def parent_missing(self, rel: str) -> bool:
        """Whether the folder of ``rel`` is missing, once :meth:`parent_problem` found none (it
        looked at that folder, and a folder under a missing one is missing too)."""
        return self.kinds.get(rel.rpartition("/")[0]) == "missing"

    def parent_problem(self, rel: str) -> tuple[str, str] | None:
        """The first folder of ``rel`` that is not a real folder: (its path, its kind)."""
        parent = rel.rpartition("/")[0]
        if parent in self.parents:
            return self.parents[parent]
        problem = self.parent_problem(parent)
        if problem is None:
            kind = self.kind(parent)
            problem = None if kind in ("dir", "missing") else (parent, kind)
        self.parents[parent] = problem
        return problem

    def probe(self, rel: str) -> tuple[str, bytes | None]:
        """(kind, content of a regular file) of ``rel``, whose folders are real folders."""
        path = f"{self.out}/{rel}"
        try:
            # O_NONBLOCK: opening a FIFO someone left there must not hang the run.
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        except (FileNotFoundError, NotADirectoryError):
            return "missing", None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return "link", None
            try:
                return _kind_of(os.lstat(path).st_mode), None
            except OSError:
                raise OutputError(f"cannot read {path}: {exc.strerror}") from None
        try:
            st = os.fstat(fd)
            kind = _kind_of(st.st_mode)
            if kind != "file":
                return kind, None
            chunks = [os.read(fd, st.st_size + 1)]
            while chunks[-1]:
                chunks.append(os.read(fd, 1 << 20))
            return kind, b"".join(chunks)
        except OSError as exc:
            raise OutputError(f"cannot read {path}: {exc.strerror}") from None
        finally:
            os.close(fd)


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "\ufffd(binary file)"


def read_manifest(out: Path) -> dict[str, str]:
    """Files guardgen owns in ``out`` with the hash it wrote, or {} when there is no manifest."""
    disk = _Disk(out)
    kind = disk.kind(MANIFEST)
    if kind == "missing":
        return {}
    where = out / MANIFEST
    if kind != "file":
        raise OutputError(f"{where}: not a guardgen manifest (it is a "
                          f"{'folder' if kind == 'dir' else 'link' if kind == 'link' else 'special file'}); "
                          "remove it or restore it from version control")
    files = atomic.manifest_files(str(where))
    if files is None:
        raise OutputError(f"{where}: not a guardgen manifest; remove it or restore it from "
                          "version control")
    for rel in files:
        try:
            _safe_rel(rel)
        except OutputError:
            raise OutputError(f"{where}: lists {rel!r}, which is outside the output directory; "
                              "remove the manifest or restore it from version control") from None
    return files


def compare(out: Path, files: dict[str, str], *, keep_text: bool = True,
            known: AbstractSet[str] = frozenset(),
            digests: Mapping[str, str] | None = None) -> Comparison:
    """Compare rendered ``files`` (manifest included) with what is under ``out``.

    Args:
        out: The output directory (it may not exist yet).
        files: The rendered tree.
        keep_text: Keep the disk text of differing files (for a diff).
        known: Files of the manifest that provably hold what it says (:func:`cache.vouched`):
            they are not read.
        digests: The hash of each rendered file, needed to use ``known``.
    """
    for rel in files:
        _safe_rel(rel)
    cmp = Comparison()
    if not _existing_folder(out):
        cmp.create = sorted(files)
        cmp.current = dict.fromkeys(files) if keep_text else {}
        return cmp
    owned = read_manifest(out)
    disk = _Disk(out)
    dropped = set(owned) - set(files)

    for rel in sorted(files):
        parent = disk.parent_problem(rel)
        if parent is not None:
            where, kind = parent
            if not (kind == "file" and where in dropped):  # an owned file about to go is fine
                cmp.blocked.append(f"{where} is {_KIND[kind]} where guardgen writes a folder "
                                   f"(for {rel})" + (", and guardgen never follows links in its "
                                                     "output" if kind == "link" else ""))
                continue
            cmp.create.append(rel)
            continue
        if rel in known and digests is not None and not keep_text and rel in owned:
            if digests[rel] != owned[rel]:  # the file holds what the manifest says it does
                cmp.update.append(rel)
            continue
        kind, data = ("missing", None) if disk.parent_missing(rel) else disk.probe(rel)
        if kind == "missing":
            cmp.create.append(rel)
            if keep_text:
                cmp.current[rel] = None
            continue
        if data is None:
            if kind == "dir" and _only_dropped(out, rel, dropped):
                cmp.create.append(rel)
            elif kind == "dir":
                cmp.blocked.append(f"{rel} is a folder where guardgen writes a file")
            else:
                cmp.blocked.append(f"{rel} is {_KIND[kind]} where guardgen writes a file; guardgen "
                                   "never writes through links or into special files")
            continue
        if data == files[rel].encode("utf-8"):
            continue
        if keep_text:
            cmp.current[rel] = _text(data)
        cmp.update.append(rel)
        if rel == MANIFEST:
            continue
        if rel not in owned:
            cmp.foreign.append(rel)
        elif hashlib.sha256(data).hexdigest() != owned[rel]:
            cmp.hand_edited.append(rel)

    for rel in sorted(dropped):
        if disk.parent_problem(rel) is not None:
            continue
        kind, data = disk.probe(rel)
        if data is None:
            continue  # gone, or replaced by something that is not guardgen's: leave it alone
        cmp.delete.append(rel)
        if keep_text:
            cmp.current[rel] = _text(data)
        if hashlib.sha256(data).hexdigest() != owned[rel]:
            cmp.hand_edited.append(rel)
    return cmp


def _only_dropped(out: Path, rel: str, dropped: set[str]) -> bool:
    """True when the folder ``rel`` holds nothing but owned files that are going away."""
    prefix = rel + "/"
    found = False
    for dirpath, dirs, names in os.walk(out / rel):
        for name in names + [d for d in dirs if os.path.islink(os.path.join(dirpath, d))]:
            path = Path(dirpath, name).relative_to(out).as_posix()
            if not path.startswith(prefix) or path not in dropped:
                return False
            found = True
    return found


def unified_diff(cmp: Comparison, files: dict[str, str]) -> str:
    """A readable diff from the tree on disk to the rendered tree."""
    chunks: list[str] = []
    for rel in sorted(cmp.create + cmp.update + cmp.delete):
        old = cmp.current.get(rel)
        new = files.get(rel)
        chunks.extend(difflib.unified_diff(
            (old or "").splitlines(keepends=True), (new or "").splitlines(keepends=True),
            fromfile=f"a/{rel}" if old is not None else "/dev/null",
            tofile=f"b/{rel}" if new is not None else "/dev/null"))
        if chunks and not chunks[-1].endswith("\n"):
            chunks.append("\n\\ No newline at end of file\n")
    return "".join(chunks)


def _existing_folder(out: Path) -> bool:
    """False when ``out`` does not exist yet; raises when it is not a real folder."""
    try:
        st = os.lstat(out)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise OutputError(f"cannot use {out}: {exc.strerror}") from None
    if stat.S_ISLNK(st.st_mode):
        raise OutputError(f"{out} is a symbolic link; guardgen never writes through links: give "
                          f"the real folder ({os.path.realpath(out)}) as the output")
    if not stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{out} exists and is not a folder; choose another output")
    return True


def prepare(out: Path) -> None:
    """Make sure ``out`` is a real folder guardgen may write into, creating it if needed."""
    if _existing_folder(out):
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {out}: {exc.strerror}") from None


def write(out: Path, files: dict[str, str], cmp: Comparison, *, force: bool = False,
          stamps: dict[str, atomic.Stamp | None] | None = None) -> list[str]:
    """Apply ``cmp`` to ``out`` in one atomic step (the caller holds the output's lock).

    Refuses to clobber files it does not own or that were edited by hand, unless ``force``, and
    always refuses to write through links or replace folders. Returns notes for the user.
    ``stamps`` is filled as :func:`atomic.replace_tree` says.
    """
    if cmp.blocked:
        raise OutputError("cannot write the tree:\n" + "\n".join(f"  {b}" for b in cmp.blocked)
                          + "\nguardgen leaves these alone even with --force: move them away.")
    if not force and (cmp.hand_edited or cmp.foreign):
        lines = [f"  {rel} (edited by hand since guardgen wrote it)" for rel in cmp.hand_edited]
        lines += [f"  {rel} (exists, but guardgen did not write it)" for rel in cmp.foreign]
        raise OutputError("refusing to overwrite or delete these files:\n" + "\n".join(lines)
                          + "\nMove the changes into guardgen.yaml, or rerun with --force to "
                          "replace them.")
    if cmp.clean:
        return []
    prepare(out)
    return atomic.replace_tree(out, files, cmp.create + cmp.update, cmp.delete, stamps)


def compare_consistent(out: Path, files: dict[str, str], *, wait: float = 5.0
                       ) -> tuple[atomic.Leftover | None, Comparison]:
    """:func:`compare` against one whole tree, with what an interrupted write left, if anything.

    Reads under a shared lock when the lock file exists, so no writer swaps the tree meanwhile.
    Without a lock file (no writer since the last one finished) it reads unlocked, then makes
    sure no writer started meanwhile: the output folder kept its identity (a swap changes it)
    and any work folder seen belongs to a writer that is not running (its lock file is free).
    """
    for _ in range(10):
        with OutputLock(out, exclusive=False, wait=wait) as lock:
            before = _identity(out)
            left = interrupted(out)
            cmp = compare(out, files)
            if lock.held:
                return left, cmp
        if _identity(out) == before and (left is None or not (out / LOCK).exists()):
            return left, cmp
    raise OutputError(f"{out} kept changing while it was read; run again when no "
                      "`guardgen generate` is writing it")


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def interrupted(out: Path) -> atomic.Leftover | None:
    """What an interrupted ``generate`` left next to ``out``, if anything (changes nothing)."""
    return atomic.leftover(out)


def recover(out: Path) -> list[str]:
    """Finish or undo an interrupted write (under the lock). Returns notes for the user."""
    return atomic.recover(out)
