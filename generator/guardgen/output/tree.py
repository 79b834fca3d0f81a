"""The only place guardgen touches the output tree: compare, write atomically, own a manifest.

``generate`` and ``check`` share :func:`compare`; ``generate`` then applies the changes through a
staging directory inside the output tree. The staging directory is renamed into place as the
commit point: a crash before it leaves the old tree, a crash after it is rolled forward by the
next run, so readers only ever see the old tree or the new one.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import OutputError

MANIFEST = ".guardgen-manifest.json"
_STAGING = ".guardgen-staging"
_STAGING_TMP = ".guardgen-staging.tmp"
_OPS = "ops.json"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def with_manifest(files: dict[str, str]) -> dict[str, str]:
    """Add the manifest, which lists every file guardgen owns with the hash it wrote."""
    manifest = {"generator": "guardgen", "version": 1,
                "files": {path: digest(text) for path, text in sorted(files.items())}}
    return {**files, MANIFEST: json.dumps(manifest, indent=2, sort_keys=True) + "\n"}


@dataclass
class Comparison:
    """How the tree on disk differs from the rendered one."""

    create: list[str] = field(default_factory=list)
    update: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)  # owned files no longer rendered
    hand_edited: list[str] = field(default_factory=list)  # owned files changed since written
    foreign: list[str] = field(default_factory=list)  # files in the way that guardgen never wrote
    current: dict[str, str | None] = field(default_factory=dict)  # disk text of differing files

    @property
    def clean(self) -> bool:
        return not (self.create or self.update or self.delete)


def _safe_rel(rel: str) -> Path:
    p = PurePosixPath(rel)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        raise OutputError(f"refusing to touch {rel!r}: outside the output directory")
    return Path(*p.parts)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        return "\ufffd(binary file)"


def read_manifest(out: Path) -> dict[str, str]:
    """Files guardgen owns in ``out`` with the hash it wrote, or {} when there is no manifest."""
    text = _read(out / MANIFEST)
    if text is None:
        return {}
    try:
        files = json.loads(text)["files"]
        return {str(k): str(v) for k, v in files.items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise OutputError(f"{out / MANIFEST}: not a guardgen manifest; remove it or restore "
                          "it from version control") from None


def compare(out: Path, files: dict[str, str]) -> Comparison:
    """Compare rendered ``files`` (manifest included) with what is under ``out``."""
    owned = read_manifest(out)
    cmp = Comparison()
    for rel, text in files.items():
        disk = _read(out / _safe_rel(rel))
        if disk == text:
            continue
        cmp.current[rel] = disk
        if disk is None:
            cmp.create.append(rel)
            continue
        cmp.update.append(rel)
        if rel == MANIFEST:
            continue
        if rel not in owned:
            cmp.foreign.append(rel)
        elif digest(disk) != owned[rel]:
            cmp.hand_edited.append(rel)
    for rel in sorted(set(owned) - set(files)):
        disk = _read(out / _safe_rel(rel))
        if disk is None:
            continue
        cmp.delete.append(rel)
        cmp.current[rel] = disk
        if digest(disk) != owned[rel]:
            cmp.hand_edited.append(rel)
    return cmp


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


def interrupted(out: Path) -> bool:
    """True when a crash left a committed write half-applied (the next generate finishes it)."""
    return (out / _STAGING).exists()


def recover(out: Path) -> None:
    """Finish or discard a write that a crash interrupted."""
    tmp = out / _STAGING_TMP
    if tmp.exists():
        shutil.rmtree(tmp)  # never committed: the old tree is intact
    staging = out / _STAGING
    if staging.exists():
        _apply(out, staging)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write(out: Path, files: dict[str, str], cmp: Comparison, *, force: bool = False) -> None:
    """Apply ``cmp`` to ``out`` atomically. Refuses to clobber files it does not own or that were
    edited by hand, unless ``force``."""
    if not force and (cmp.hand_edited or cmp.foreign):
        lines = [f"  {rel} (edited by hand since guardgen wrote it)" for rel in cmp.hand_edited]
        lines += [f"  {rel} (exists, but guardgen did not write it)" for rel in cmp.foreign]
        raise OutputError("refusing to overwrite or delete these files:\n" + "\n".join(lines)
                          + "\nMove the changes into guardgen.yaml, or rerun with --force to "
                          "replace them.")
    if cmp.clean:
        return
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / _STAGING_TMP
    if tmp.exists():
        shutil.rmtree(tmp)
    writes = sorted(cmp.create + cmp.update, key=lambda r: (r == MANIFEST, r))  # manifest last
    for i, rel in enumerate(writes):
        staged = tmp / str(i)
        staged.parent.mkdir(parents=True, exist_ok=True)
        with open(staged, "w", encoding="utf-8", newline="") as fh:
            fh.write(files[rel])
            fh.flush()
            os.fsync(fh.fileno())
    (tmp / _OPS).write_text(json.dumps({"write": writes, "delete": cmp.delete}), encoding="utf-8")
    _fsync_dir(tmp)
    os.replace(tmp, out / _STAGING)  # the commit point
    _fsync_dir(out)
    _apply(out, out / _STAGING)


def _apply(out: Path, staging: Path) -> None:
    ops = json.loads((staging / _OPS).read_text(encoding="utf-8"))
    for i, rel in enumerate(ops["write"]):
        staged = staging / str(i)
        if not staged.exists():  # moved into place before a crash
            continue
        target = out / _safe_rel(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, target)
    for rel in ops["delete"]:
        target = out / _safe_rel(rel)
        target.unlink(missing_ok=True)
        _prune(out, target.parent)
    shutil.rmtree(staging)
    _fsync_dir(out)


def _prune(out: Path, directory: Path) -> None:
    """Remove directories emptied by deletions, up to but not including ``out``."""
    out = out.resolve()
    d = directory.resolve()
    while d != out and out in d.parents:
        try:
            d.rmdir()
        except OSError:
            return
        d = d.parent
