"""The Terraform already on disk: a folder to import, and an output tree's own files.

:class:`Folder` reads a Terraform configuration for :func:`~.policies.read`, the way Terraform
resolves its paths (relative to the root module's folder). For ``generate``, :class:`Previous`
reads the files of the previous generation lazily (only those the caller asks for, by the
manifest's list), :func:`user_terraform` the ``.tf`` files users keep in guardgen's roots, and
:func:`clashes` finds any of those that declares what guardgen declares there, which Terraform
would refuse (or, in an override file, silently change).

Nothing here writes, and nothing follows a link out of an output tree.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path

from ..errors import OutputError
from .evaluate import glob_match
from .syntax import Block, SyntaxProblem, parse

MAX_FILE_BYTES = 4 * 1024 * 1024  # far above any hand-written .tf or policy file


class Folder:
    """Files of a Terraform configuration, by paths relative to its root module's folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, rel: str) -> Path:
        return self.root / rel

    def read(self, path: str) -> str:
        """The file's text (UTF-8); raises OSError or UnicodeDecodeError."""
        with open(self._path(path), "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise OSError(errno.EFBIG, f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
        return data.decode("utf-8")

    def glob(self, base: str, pattern: str) -> list[str]:
        """``fileset(base, pattern)``."""
        top = self._path(base)
        found = [p.relative_to(top).as_posix() for p in top.rglob("*") if p.is_file()]
        return glob_match(found, pattern)

    def listdir(self, path: str) -> list[str]:
        """Names of the files in a folder, sorted."""
        return sorted(e.name for e in os.scandir(self._path(path)) if e.is_file())


def _read_no_follow(path: str) -> str | None:
    """A regular file's text, or None when it is missing, a link, special or unreadable."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE_BYTES:
            return None
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    finally:
        os.close(fd)


class Previous(Mapping[str, str]):
    """The previous generation's files, read when asked for: the paths ``owned`` lists (the
    manifest's), whatever is on disk there now. A file gone, unreadable or replaced by a link is
    absent."""

    def __init__(self, out: Path, owned: Mapping[str, str]) -> None:
        self.out = str(out)
        self.owned = owned
        self._cache: dict[str, str | None] = {}

    def __getitem__(self, path: str) -> str:
        if path not in self.owned:
            raise KeyError(path)
        if path not in self._cache:
            self._cache[path] = _read_no_follow(f"{self.out}/{path}")
        text = self._cache[path]
        if text is None:
            raise KeyError(path)
        return text

    def __iter__(self) -> Iterator[str]:
        return iter(self.owned)

    def __len__(self) -> int:
        return len(self.owned)


def _roots(paths: Mapping[str, str] | set[str]) -> set[str]:
    return {p.rsplit("/", 1)[0] for p in paths
            if p.endswith(".tf") and "/" in p and not p.startswith("modules/")}


def user_terraform(out: Path, rendered: Mapping[str, str], owned: Mapping[str, str]) -> dict[str, str]:
    """The ``.tf`` files in guardgen's roots that guardgen neither writes nor wrote, by path.

    Only roots guardgen writes this time are looked in; a folder that is missing or a link is
    skipped (``generate`` reports links on its own).
    """
    found: dict[str, str] = {}
    for root in sorted(_roots(rendered)):
        folder = f"{out}/{root}"
        try:
            if not stat.S_ISDIR(os.lstat(folder).st_mode):
                continue
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for e in entries:
            rel = f"{root}/{e.name}"
            if not e.name.endswith(".tf") or rel in rendered or rel in owned:
                continue
            text = _read_no_follow(e.path) if not e.is_symlink() else _read_link_target(e.path)
            if text is not None:
                found[rel] = text
    return found


def _read_link_target(path: str) -> str | None:
    """A user's .tf file may be a link (to shared provider settings, say); Terraform follows it,
    so the check must too. Only regular files are read."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
        return data.decode("utf-8") if len(data) <= MAX_FILE_BYTES else None
    except (OSError, UnicodeDecodeError):
        return None


def declarations(top: Block) -> list[tuple[str, int]]:
    """What a file declares in its module's namespace, in Terraform's notation (``TYPE.NAME``,
    ``data.TYPE.NAME``, ``module.NAME``, ``output.NAME``, ``check.NAME``, ``provider.NAME`` for a
    provider block without alias), each with its line."""
    out = []
    for b in top.blocks:
        if b.type == "resource" and len(b.labels) == 2:
            out.append((f"{b.labels[0]}.{b.labels[1]}", b.where.line))
        elif b.type == "data" and len(b.labels) == 2:
            out.append((f"data.{b.labels[0]}.{b.labels[1]}", b.where.line))
        elif b.type in ("module", "output", "check", "variable") and len(b.labels) == 1:
            out.append((f"{b.type}.{b.labels[0]}", b.where.line))
        elif b.type == "provider" and len(b.labels) == 1 and "alias" not in b.attributes:
            out.append((f"provider.{b.labels[0]}", b.where.line))
    return out


def clashes(user: Mapping[str, str], generated: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Every declaration of a user's file that guardgen also declares in the same root.

    Args:
        user: The user's ``.tf`` files in guardgen's roots, by path (:func:`user_terraform`).
        generated: For each root, what guardgen declares there (same notation as
            :func:`declarations`) → the generated file that does.

    Returns:
        One ``file:line: ...`` problem per clash, and one per file that is not HCL.
    """
    problems = []
    for path, text in sorted(user.items()):
        root = path.rsplit("/", 1)[0]
        mine = generated.get(root, {})
        try:
            top = parse(text, path)
        except SyntaxProblem as exc:
            problems.append(f"{exc}; guardgen reads the .tf files in its roots to make sure none "
                            "declares what it generates")
            continue
        override = path.endswith(("_override.tf", "/override.tf"))
        for name, line in declarations(top):
            if name in mine:
                how = ("overrides what guardgen generates there" if override else
                       "is also declared there by guardgen, and Terraform refuses two "
                       "declarations of one address")
                problems.append(f"{path}:{line}: {name} {how} ({mine[name]}). Rename yours, or "
                                "say it in guardgen.yaml instead")
    return problems


def refuse_clashes(user: Mapping[str, str], generated: Mapping[str, Mapping[str, str]]) -> None:
    """:func:`clashes`, raised.

    Raises:
        OutputError: listing every clash, located.
    """
    problems = clashes(user, generated)
    if problems:
        raise OutputError("your own Terraform in guardgen's roots declares what guardgen "
                          "generates:\n" + "\n".join(f"  {p}" for p in problems))


__all__ = ["Folder", "Previous", "clashes", "declarations", "refuse_clashes", "user_terraform"]
