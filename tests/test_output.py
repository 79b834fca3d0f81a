"""Writing the tree: one atomic swap under crashes, manifest-owned, never through a link.

Crashes are real: a forked child runs the write and calls ``os._exit`` at the N-th call of one
file operation (no ``finally``, no clean-up, like SIGKILL), for every N the write reaches.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guardgen import output
from guardgen.errors import OutputError
from guardgen.output import atomic
from support import ACME

OLD = {"a.tf": "old a\n", "sub/b.tf": "old b\n", "gone.tf": "bye\n", "old/only.tf": "x\n"}
NEW = {"a.tf": "new a\n", "sub/b.tf": "new b\n", "sub/deeper/c.json": "{}", "fresh/d.tf": "d\n"}
GUARDGEN = Path(sys.executable).with_name("guardgen")


def snapshot(root: Path) -> dict[str, str]:
    """Every entry under ``root`` (files by hash, links by target, folders), not following
    links and leaving out the lock file, which is not part of the tree."""
    if not root.exists():
        return {}
    out: dict[str, str] = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(dirpath, name)
            rel = p.relative_to(root).as_posix()
            if rel == output.LOCK:
                continue
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            elif p.is_file():
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                out[rel] = "special"
    return out


def generate(out: Path, files: dict[str, str], force: bool = False) -> list[str]:
    """What `guardgen generate` does once the files are rendered."""
    output.prepare(out)
    with output.OutputLock(out, exclusive=True):
        notes = output.recover(out)
        full = output.with_manifest(files)
        return notes + output.write(out, full, output.compare(out, full, keep_text=False),
                                    force=force)


def expected(files: dict[str, str], tmp: Path, extra: Callable[[Path], None] | None = None
             ) -> dict[str, str]:
    ref = tmp / "reference"
    shutil.rmtree(ref, ignore_errors=True)
    generate(ref, files)
    if extra:
        extra(ref)
    return snapshot(ref)


def add_foreign(out: Path) -> None:
    """Files guardgen never wrote, beside and inside its folders."""
    (out / "mine.txt").write_text("not guardgen's\n")
    (out / "sub" / "notes.md").write_text("mine too\n")
    (out / "empty-dir").mkdir(exist_ok=True)


def crash_child(op: str, n: int, body: Callable[[], object]) -> bool:
    """Run ``body`` in a forked child that dies at the ``n``-th call of ``op`` (a name in
    :mod:`os` or in :mod:`guardgen.output.atomic`). True when it died there."""
    pid = os.fork()
    if pid == 0:  # the child: no pytest machinery past this point
        try:
            module = atomic if hasattr(atomic, op) and not hasattr(os, op) else os
            real = getattr(module, op)
            calls = [0]

            def dying(*args: object, **kwargs: object) -> object:
                calls[0] += 1
                if calls[0] == n:
                    os._exit(9)
                return real(*args, **kwargs)

            setattr(module, op, dying)
            body()
            os._exit(0)
        except BaseException:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    assert code in (0, 9), f"the write failed instead of crashing ({code})"
    return code == 9


OPS = ["mkdir", "link", "open", "write", "rename", "replace", "unlink", "rmdir", "scandir",
       "sync_filesystem", "_exchange"]


@pytest.mark.parametrize("op", OPS)
def test_a_crash_at_any_step_leaves_the_old_tree_or_the_new_one(tmp_path: Path, op: str) -> None:
    out = tmp_path / "out"
    old_tree = expected(OLD, tmp_path, add_foreign)
    new_tree = expected(NEW, tmp_path, add_foreign)
    crashes = {"old": 0, "new": 0}
    n = 1
    while True:
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(atomic.work_dir(out), ignore_errors=True)
        generate(out, OLD)
        add_foreign(out)
        foreign_inode = (out / "sub" / "notes.md").stat().st_ino
        if not crash_child(op, n, lambda: generate(out, NEW)):
            break
        now = snapshot(out)
        assert now in (old_tree, new_tree), f"{op} #{n}: a mixed tree"
        state = "new" if now == new_tree else "old"
        crashes[state] += 1
        left = output.interrupted(out)
        if left is not None:  # what check would report
            assert left.state in ("empty", "committed" if state == "new" else "building"), (op, n)
        generate(out, NEW)  # the next run finishes or undoes it
        assert snapshot(out) == new_tree
        assert (out / "sub" / "notes.md").stat().st_ino == foreign_inode  # never rewritten
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "reference"]
        n += 1
    assert n > 1, f"the write never called {op}"


def test_crashes_on_both_sides_of_the_commit_point(tmp_path: Path) -> None:
    """The exchange is the commit point: dying in it leaves the old tree, dying at the flush
    after it leaves the new one."""
    out = tmp_path / "out"
    generate(out, OLD)
    old_tree = snapshot(out)
    assert crash_child("_exchange", 1, lambda: generate(out, NEW))
    assert snapshot(out) == old_tree
    left = output.interrupted(out)
    assert left is not None and left.state == "building"
    assert "still the complete tree from before" in left.describe(out)
    notes = generate(out, OLD)
    assert any("discarded the unfinished tree" in n for n in notes)
    assert crash_child("sync_filesystem", 2, lambda: generate(out, NEW))
    assert snapshot(out) == expected(NEW, tmp_path)
    left = output.interrupted(out)
    assert left is not None and left.state == "committed"
    assert any("already held the new tree" in n for n in generate(out, NEW))
    assert output.interrupted(out) is None


def test_one_flush_per_generation_and_no_fsync_per_file(tmp_path: Path, monkeypatch) -> None:
    calls = {"fsync": 0, "syncfs": 0}
    real_sync = atomic.sync_filesystem

    def counting_fsync(fd: int) -> None:
        calls["fsync"] += 1

    def counting_sync(path: str) -> None:
        calls["syncfs"] += 1
        real_sync(path)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    monkeypatch.setattr(atomic, "sync_filesystem", counting_sync)
    many = {f"d{i % 20}/f{i}.tf": f"{i}\n" for i in range(1000)}
    generate(tmp_path / "out", many)
    assert calls == {"fsync": 0, "syncfs": 2}  # the new tree, then the exchange


def test_unchanged_and_foreign_files_keep_their_inode(tmp_path: Path) -> None:
    """Files guardgen does not change are hard-linked into the new tree: the same file."""
    out = tmp_path / "out"
    generate(out, OLD)
    add_foreign(out)
    inodes = {p: (out / p).stat().st_ino for p in ("sub/b.tf", "mine.txt", "sub/notes.md")}
    generate(out, {**OLD, "a.tf": "changed\n"})
    assert {p: (out / p).stat().st_ino for p in inodes} == inodes
    assert (out / "mine.txt").read_text() == "not guardgen's\n"
    assert (out / "empty-dir").is_dir()


def test_folder_modes_survive_the_swap(tmp_path: Path) -> None:
    out = tmp_path / "out"
    generate(out, OLD)
    os.chmod(out / "sub", 0o750)
    os.chmod(out, 0o711)
    generate(out, NEW)
    assert stat.S_IMODE((out / "sub").stat().st_mode) == 0o750
    assert stat.S_IMODE(out.stat().st_mode) == 0o711


def test_emptied_folders_are_removed_and_files_guardgen_never_wrote_stay(tmp_path: Path) -> None:
    out = tmp_path / "out"
    generate(out, OLD)
    (out / "old" / "keep.txt").write_text("mine\n")
    generate(out, NEW)
    assert not (out / "gone.tf").exists() and not (out / "old" / "only.tf").exists()
    assert (out / "old" / "keep.txt").read_text() == "mine\n"
    generate(out, {"a.tf": "x\n"})
    assert sorted(p.name for p in out.iterdir()) == [output.MANIFEST, "a.tf", "old"]


def test_nested_empty_folders_of_yours_stay(tmp_path: Path) -> None:
    out = tmp_path / "out"
    generate(out, OLD)
    (out / "notes" / "drafts" / "deeper").mkdir(parents=True)
    generate(out, NEW)
    assert (out / "notes" / "drafts" / "deeper").is_dir()
    assert snapshot(out) == expected(NEW, tmp_path, lambda ref: (
        ref / "notes" / "drafts" / "deeper").mkdir(parents=True))


def test_hand_edits_are_refused_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    generate(out, OLD)
    (out / "a.tf").write_text("edited\n")
    (out / "gone.tf").write_text("edited too\n")
    before = snapshot(out)
    with pytest.raises(OutputError, match=r"a\.tf \(edited by hand.*\n.*gone\.tf \(edited by hand"):
        generate(out, NEW)
    assert snapshot(out) == before
    generate(out, NEW, force=True)
    assert snapshot(out) == expected(NEW, tmp_path)


# --- links, folders and files in the way --------------------------------------------------


def test_a_generated_folder_made_into_a_link_is_refused(tmp_path: Path) -> None:
    out, outside = tmp_path / "out", tmp_path / "outside"
    generate(out, OLD)
    outside.mkdir()
    (outside / "theirs.txt").write_text("keep\n")
    shutil.rmtree(out / "sub")
    (out / "sub").symlink_to(outside)
    before, theirs = snapshot(out), snapshot(outside)
    for force in (False, True):
        with pytest.raises(OutputError, match=r"sub is a symbolic link where guardgen writes a "
                           r"folder.*never follows links"):
            generate(out, NEW, force=force)
    assert snapshot(out) == before and snapshot(outside) == theirs


def test_a_generated_file_made_into_a_link_is_refused(tmp_path: Path) -> None:
    out, target = tmp_path / "out", tmp_path / "precious.txt"
    generate(out, OLD)
    target.write_text("precious\n")
    (out / "a.tf").unlink()
    (out / "a.tf").symlink_to(target)
    for force in (False, True):
        with pytest.raises(OutputError, match=r"a\.tf is a symbolic link where guardgen writes a file"):
            generate(out, NEW, force=force)
    assert target.read_text() == "precious\n"
    assert (out / "a.tf").is_symlink()


def test_the_output_directory_as_a_link_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    generate(real, OLD)
    (tmp_path / "out").symlink_to(real)
    before = snapshot(real)
    with pytest.raises(OutputError, match=r"out is a symbolic link; guardgen never writes through"):
        generate(tmp_path / "out", NEW)
    with pytest.raises(OutputError, match="symbolic link"):
        output.compare(tmp_path / "out", output.with_manifest(NEW))
    assert snapshot(real) == before


def test_links_guardgen_does_not_own_are_kept_as_links(tmp_path: Path) -> None:
    out = tmp_path / "out"
    generate(out, OLD)
    (out / "sub" / "to-etc").symlink_to("/etc")
    (out / "dangling").symlink_to("nowhere")
    generate(out, NEW)
    assert os.readlink(out / "sub" / "to-etc") == "/etc"
    assert os.readlink(out / "dangling") == "nowhere"


@pytest.mark.parametrize("case", ["folder at a file", "file at a folder", "manifest folder",
                                  "special file"])
def test_things_in_the_way_are_refused_even_with_force(tmp_path: Path, case: str) -> None:
    out = tmp_path / "out"
    generate(out, OLD)
    if case == "folder at a file":
        (out / "a.tf").unlink()
        (out / "a.tf").mkdir()
        (out / "a.tf" / "x").write_text("mine\n")
        pattern = r"a\.tf is a folder where guardgen writes a file"
    elif case == "file at a folder":
        (out / "fresh").write_text("mine\n")
        pattern = r"fresh is a file where guardgen writes a folder"
    elif case == "manifest folder":
        (out / output.MANIFEST).unlink()
        (out / output.MANIFEST).mkdir()
        pattern = r"not a guardgen manifest \(it is a folder\)"
    else:
        os.mkfifo(out / "sub" / "pipe")
        pattern = r"sub/pipe is a special file"
    before = snapshot(out)
    for force in (False, True):
        with pytest.raises(OutputError, match=pattern):
            generate(out, NEW, force=force)
    assert snapshot(out) == before
    assert not atomic.work_dir(out).exists()


def test_an_owned_file_may_become_a_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    generate(out, {"x": "file\n"})
    generate(out, {"x/y.tf": "in a folder\n"})
    assert (out / "x" / "y.tf").read_text() == "in a folder\n"
    generate(out, {"x": "file again\n"})
    assert (out / "x").read_text() == "file again\n"


def test_paths_outside_the_tree_are_refused(tmp_path: Path) -> None:
    for bad in ("../escape.tf", "/etc/passwd", "", "a/../../b", "a//b", "./a"):
        with pytest.raises(OutputError, match="outside the output directory"):
            output.compare(tmp_path, {bad: "x"})


@pytest.mark.parametrize("text", ["not json", '{"files": []}', '{"generator": "x", "files": {}}',
                                  '{"generator": "guardgen", "files": {"../../etc/passwd": "0"}}'])
def test_a_corrupt_manifest_is_an_error_not_a_guess(tmp_path: Path, text: str) -> None:
    (tmp_path / output.MANIFEST).write_text(text)
    with pytest.raises(OutputError, match="guardgen manifest|outside the output directory"):
        output.compare(tmp_path, {"a.tf": "x"})


def test_manifest_is_deterministic_and_lists_hashes() -> None:
    a = output.with_manifest({"b": "2", "a": "1"})
    b = output.with_manifest({"a": "1", "b": "2"})
    assert a[output.MANIFEST] == b[output.MANIFEST]
    assert output.digest("1") in a[output.MANIFEST]


# --- recovery trusts only what it can verify ---------------------------------------------


def test_a_folder_named_like_the_work_folder_is_never_deleted(cli, acme: Path) -> None:
    out = acme.parent / "terraform"
    assert cli("generate", "-c", acme).exit_code == 0
    mine = atomic.work_dir(out)
    (mine / "tree").mkdir(parents=True)
    (mine / "tree" / "notes.txt").write_text("mine\n")
    (mine / "journal.json").write_text("{}")
    r = cli("generate", "-c", acme)
    assert r.exit_code == 2 and "is in the way" in r.output
    assert (mine / "tree" / "notes.txt").read_text() == "mine\n"


def test_a_forged_journal_cannot_make_recovery_delete_anything(tmp_path: Path) -> None:
    """A journal that matches the output, over files guardgen cannot vouch for: they are moved
    aside, not deleted; and nothing in the output itself is ever removed by recovery."""
    out = tmp_path / "out"
    generate(out, OLD)
    add_foreign(out)
    before = snapshot(out)
    work = atomic.work_dir(out)
    (work / "tree").mkdir(parents=True)
    (work / "tree" / "precious.txt").write_text("not guardgen's\n")
    (work / "tree" / "mine.txt").write_text("a different file of the same name\n")
    st_out, st_tree = os.lstat(out), os.lstat(work / "tree")
    atomic.Journal(os.path.realpath(out), (st_out.st_dev, st_out.st_ino),
                   (st_tree.st_dev, st_tree.st_ino)).write(work)
    notes = output.recover(out)
    assert snapshot(out) == before
    assert any("kept files guardgen cannot prove it wrote" in n for n in notes)
    kept = [p for p in tmp_path.iterdir() if ".guardgen-kept" in p.name]
    assert len(kept) == 1
    assert (kept[0] / "tree" / "precious.txt").read_text() == "not guardgen's\n"
    assert not work.exists()


def test_an_empty_work_folder_of_a_run_killed_at_once_is_cleaned(tmp_path: Path) -> None:
    out = tmp_path / "out"
    generate(out, OLD)
    (atomic.work_dir(out) / "tree").mkdir(parents=True)
    assert output.interrupted(out) is not None
    generate(out, NEW)
    assert not atomic.work_dir(out).exists()


# --- where the output may go -------------------------------------------------------------


def _config(tmp_path: Path, output_line: str) -> Path:
    cfg = tmp_path / "repo" / "guardgen.yaml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(ACME.read_text().replace("version: 1\n", f"version: 1\noutput: {output_line}\n"))
    return cfg


@pytest.mark.parametrize("where, why", [
    (".", "the config's own folder"), ("..", "a parent folder of the config"),
    ("guardgen.yaml", "the config file itself"), ("/etc", "system folder /etc"),
    ("/", "the root folder"), ("/usr/share/guardgen", "inside the system folder /usr"),
    ("/tmp", "a shared system folder"),
])
def test_outputs_that_would_mix_with_other_files_are_refused(cli, tmp_path: Path, where: str,
                                                              why: str) -> None:
    cfg = _config(tmp_path, where)
    plain = _config(tmp_path / "other", "terraform")
    before = snapshot(tmp_path)
    for command in ("generate", "check"):
        r = cli(command, "-c", cfg)
        assert r.exit_code == 2, r.output
        assert "refusing to write the tree into" in r.output and why in r.output
        assert "--force-output-location" in r.output
        # --output is relative to the working directory: give it as the config would mean it.
        r = cli(command, "-c", plain, "--output", plain.parent / where)
        assert r.exit_code == 2
        assert "(--output)" in r.output and why in r.output or "is a file" in r.output
    assert snapshot(tmp_path) == before
    assert not Path("/etc", output.LOCK).exists()


def test_force_output_location_writes_beside_the_config_and_leaves_it_alone(cli, tmp_path: Path
                                                                            ) -> None:
    cfg = _config(tmp_path, ".")
    text = cfg.read_text()
    r = cli("generate", "-c", cfg, "--force-output-location")
    assert r.exit_code == 0, r.output
    assert (cfg.parent / "management" / "organization.tf").exists()
    assert cfg.read_text() == text
    assert cli("check", "-c", cfg, "--force-output-location").exit_code == 0


# --- a disk that refuses writes: one message, exit 2, the old tree stays ------------------


def _acme_with_output(tmp_path: Path) -> tuple[Path, Path]:
    cfg = tmp_path / "repo" / "guardgen.yaml"
    cfg.parent.mkdir()
    cfg.write_text(ACME.read_text())
    r = subprocess.run([GUARDGEN, "generate", "-q", "-c", cfg], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    cfg.write_text(ACME.read_text().replace("shop-prod", "shop-production"))
    return cfg, cfg.parent / "terraform"


def _one_error(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert sum(line.startswith("error:") for line in r.stderr.splitlines()) == 1, r.stderr
    return r.stderr


def test_a_file_size_limit_is_a_clear_error_and_the_tree_stays(tmp_path: Path) -> None:
    import resource

    cfg, out = _acme_with_output(tmp_path)
    before = snapshot(out)

    def limit() -> None:  # writes past 1 KiB fail with EFBIG, as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))

    r = subprocess.run([GUARDGEN, "generate", "-c", cfg], capture_output=True, text=True,
                       preexec_fn=limit)
    assert "File too large" in _one_error(r) and "Nothing changed" in r.stderr
    assert snapshot(out) == before
    assert not atomic.work_dir(out).exists()


def _chattr(flag: str, path: Path) -> bool:
    return subprocess.run(["chattr", flag, str(path)], capture_output=True).returncode == 0


@pytest.mark.parametrize("what", ["output", "its parent"])
def test_an_immutable_folder_is_a_clear_error_and_the_tree_stays(tmp_path: Path, what: str) -> None:
    cfg, out = _acme_with_output(tmp_path)
    target = out if what == "output" else out.parent
    if shutil.which("chattr") is None or not _chattr("+i", target):
        pytest.skip("chattr +i needs CAP_LINUX_IMMUTABLE on a file system that supports it")
    try:
        before = snapshot(out)
        r = subprocess.run([GUARDGEN, "generate", "-c", cfg], capture_output=True, text=True)
        assert "Operation not permitted" in _one_error(r)
        assert snapshot(out) == before
    finally:
        _chattr("-i", target)


def test_a_read_only_folder_is_a_clear_error_for_a_user(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("permissions do not stop root (the immutable and namespace tests cover it)")
    cfg, out = _acme_with_output(tmp_path)
    before = snapshot(out)
    os.chmod(out, 0o555)
    try:
        r = subprocess.run([GUARDGEN, "generate", "-c", cfg], capture_output=True, text=True)
        assert "Permission denied" in _one_error(r)
        assert snapshot(out) == before
    finally:
        os.chmod(out, 0o755)


_IN_NAMESPACE = r"""
import json, os, subprocess, sys
cfg, out, mode = sys.argv[1], sys.argv[2], sys.argv[3]
guardgen = sys.argv[4]
def snap():
    res = {}
    for d, ds, fs in os.walk(out):
        for f in fs:
            if f != ".guardgen.lock":
                p = os.path.join(d, f)
                res[os.path.relpath(p, out)] = open(p, "rb").read().hex()
    return res
before = snap()
if mode == "ro":
    subprocess.run(["mount", "-o", "remount,ro", os.path.dirname(os.path.dirname(cfg))], check=True)
r = subprocess.run([guardgen, "generate", "-c", cfg], capture_output=True, text=True)
print(json.dumps({"rc": r.returncode, "stderr": r.stderr, "same": snap() == before}))
"""


@pytest.mark.parametrize("mode", ["full", "ro"])
def test_a_full_or_read_only_file_system(tmp_path: Path, mode: str) -> None:
    """A real small tmpfs in a private mount namespace (skipped where namespaces are off)."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    script = tmp_path / "inside.py"
    script.write_text(_IN_NAMESPACE)
    repo = mnt / "repo"
    big = ACME.read_text().replace("  - name: Workloads", "".join(
        f"  - name: Extra{i}\n    guardrails: [deny-root-user]\n" for i in range(60))
        + "  - name: Workloads")
    shell = (f"mount -t tmpfs -o size=300k tmpfs {mnt} && mkdir {repo} && "
             f"cp {ACME} {repo}/guardgen.yaml && {GUARDGEN} generate -q -c {repo}/guardgen.yaml && "
             f"cat > {repo}/guardgen.yaml <<'EOF'\n{big}EOF\n"
             f"{sys.executable} {script} {repo}/guardgen.yaml {repo}/terraform {mode} {GUARDGEN}")
    r = subprocess.run(["unshare", "-rm", "sh", "-c", shell], capture_output=True, text=True)
    if r.returncode != 0 or not r.stdout.strip():
        pytest.skip(f"cannot mount a tmpfs in a user namespace here: {r.stderr.strip()[:200]}")
    import json

    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["rc"] == 2 and "Traceback" not in res["stderr"], res
    assert sum(line.startswith("error:") for line in res["stderr"].splitlines()) == 1, res
    assert ("No space left on device" if mode == "full" else "Read-only file system") in res["stderr"]
    assert res["same"], res


def test_check_reports_an_interrupted_write_instead_of_a_diff(cli, acme: Path) -> None:
    assert cli("generate", "-c", acme).exit_code == 0
    out = acme.parent / "terraform"
    acme.write_text(acme.read_text().replace("shop-prod", "shop-production"))
    from guardgen import pipeline

    res = pipeline.run(acme)
    assert crash_child("_exchange", 1, lambda: generate(out, {
        k: v for k, v in res.files.items() if k != output.MANIFEST}))
    r = cli("check", "-c", acme)
    assert r.exit_code == 1
    assert "interrupted before it replaced" in r.output and "still the complete tree" in r.output
    assert "+++ b/" not in r.output  # no diff against a tree that is about to be replaced
    assert cli("generate", "-c", acme).exit_code == 0
    assert cli("check", "-c", acme).exit_code == 0


@given(st.dictionaries(st.text(min_size=1, max_size=30), st.text(max_size=20), max_size=20))
def test_the_manifest_is_exactly_what_json_dumps_writes(files: dict[str, str]) -> None:
    manifest = {"generator": "guardgen", "version": 1,
                "files": {p: output.digest(t) for p, t in files.items()}}
    written = output.with_manifest(files)[output.MANIFEST]
    assert written == json.dumps(manifest, indent=2, sort_keys=True) + "\n"


# The expression _unsafe replaced: an empty, "." or ".." component, a backslash or a NUL.
_UNSAFE_BEFORE = re.compile(r"(?:^|/)\.{0,2}(?:/|$)|[\\\0]")


@given(st.text(alphabet="a./\\\0-_", max_size=12))
def test_unsafe_paths_are_exactly_those_the_regular_expression_refused(rel: str) -> None:
    from guardgen.output import tree

    assert tree._unsafe(rel) == bool(_UNSAFE_BEFORE.search(rel))
    for bad in ("", "/a", "a//b", "a/", ".", "..", "a/./b", "a/../b", "../a", "a\\b", "a\0"):
        assert tree._unsafe(bad)
    for good in ("a", "a/b.tf", ".hidden/x", "a/..b", "...", "a/.b/c"):
        assert not tree._unsafe(good)
