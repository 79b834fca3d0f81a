"""Writing the tree: atomic under crashes, manifest-owned, path-safe."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import tree_digest
from guardgen import output
from guardgen.errors import OutputError

OLD = {"a.tf": "old a\n", "sub/b.tf": "old b\n", "gone.tf": "bye\n"}
NEW = {"a.tf": "new a\n", "sub/b.tf": "new b\n", "sub/deeper/c.json": "{}"}


def _generate(out: Path, files: dict[str, str], force: bool = False) -> None:
    output.recover(out)
    full = output.with_manifest(files)
    output.write(out, full, output.compare(out, full), force=force)


def _expected(out: Path, files: dict[str, str], tmp: Path) -> dict[str, str]:
    ref = tmp / "reference"
    _generate(ref, files)
    return tree_digest(ref)


class Crash(Exception):
    pass


@pytest.mark.parametrize("after", [0, 1, 2, 3])
def test_crash_while_applying_is_rolled_forward(tmp_path: Path, monkeypatch, after: int) -> None:
    out = tmp_path / "out"
    _generate(out, OLD)
    (out / "mine.txt").write_text("not guardgen's\n")
    new_tree = _expected(out, NEW, tmp_path) | {"mine.txt": tree_digest(out)["mine.txt"]}

    real_replace = os.replace
    calls = {"n": 0}

    def flaky(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        # The first replace is the commit point (staging renamed into place); crash later.
        if calls["n"] == after + 1:
            raise Crash
        calls["n"] += 1
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky)
    with pytest.raises(Crash):
        _generate(out, NEW)
    monkeypatch.setattr(os, "replace", real_replace)
    assert output.interrupted(out)
    _generate(out, NEW)  # the next run finishes the interrupted write first
    assert not output.interrupted(out)
    assert tree_digest(out) == new_tree


def test_crash_before_commit_leaves_the_old_tree(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "out"
    _generate(out, OLD)
    before = tree_digest(out)
    real_fsync = os.fsync
    calls = {"n": 0}

    def flaky(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise Crash
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", flaky)
    with pytest.raises(Crash):
        _generate(out, NEW)
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert not output.interrupted(out)
    visible = {k: v for k, v in tree_digest(out).items()
               if not k.startswith(".guardgen-staging")}
    assert visible == before
    _generate(out, NEW)
    assert tree_digest(out) == _expected(out, NEW, tmp_path)


def test_paths_outside_the_tree_are_refused(tmp_path: Path) -> None:
    for bad in ("../escape.tf", "/etc/passwd", ""):
        with pytest.raises(OutputError):
            output.compare(tmp_path, {bad: "x"})


def test_a_corrupt_manifest_is_an_error_not_a_guess(tmp_path: Path) -> None:
    (tmp_path / output.MANIFEST).write_text("not json")
    with pytest.raises(OutputError, match="not a guardgen manifest"):
        output.compare(tmp_path, {"a.tf": "x"})


def test_manifest_is_deterministic_and_lists_hashes() -> None:
    a = output.with_manifest({"b": "2", "a": "1"})
    b = output.with_manifest({"a": "1", "b": "2"})
    assert a[output.MANIFEST] == b[output.MANIFEST]
    assert output.digest("1") in a[output.MANIFEST]


def test_check_reports_an_interrupted_write(cli, acme: Path) -> None:
    assert cli("generate", "-c", acme).exit_code == 0
    (acme.parent / "terraform" / ".guardgen-staging").mkdir()
    r = cli("check", "-c", acme)
    assert r.exit_code == 1 and "interrupted" in r.output
