"""The record of the last generation (guardgen.output.cache): an unchanged input is answered
without planning, and anything that could make the tree differ from that answer sends the run
down the full path."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from guardgen import output, pipeline
from guardgen.output import cache

TICK = 0.05  # longer than a file-system clock tick

CONFIG = """\
version: 1
organization:
  name: t
  management_account_id: "111111111111"
  home_region: eu-west-1
  break_glass_principals: ["arn:aws:iam::*:role/BreakGlassAdmin"]
  guardrails: [deny-leave-organization, protect-vaults]
units:
  - name: Apps
    accounts:
      - { name: app, id: "222222222222" }
permission_boundaries:
  - name: app-boundary
    accounts: [app]
    allow_services: [s3]
custom_guardrails:
  - id: protect-vaults
    title: Vaults stay
    description: Denies deleting vaults.
    file: policies/vaults.json
"""
POLICY = {"Version": "2012-10-17", "Statement": {
    "Sid": "ProtectVaults", "Effect": "Deny", "Action": "backup:DeleteBackupVault",
    "Resource": "arn:aws:backup:*:*:backup-vault:{prefix}*"}}


def _policy(prefix: str) -> str:
    return json.dumps(POLICY).replace("{prefix}", prefix)


@pytest.fixture
def org(tmp_path: Path) -> Path:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies/vaults.json").write_text(_policy("acme-"), encoding="utf-8")
    cfg = tmp_path / "guardgen.yaml"
    cfg.write_text(CONFIG, encoding="utf-8")
    return cfg


def _generated(cli: Callable[..., object], cfg: Path) -> Path:
    res = cli("generate", "-c", cfg)
    assert res.exit_code == 0, res.output  # type: ignore[attr-defined]
    time.sleep(TICK)  # past the clock tick: a record made now proves something
    res = cli("generate", "-c", cfg)  # records the settled tree
    assert res.exit_code == 0, res.output  # type: ignore[attr-defined]
    return cfg.parent / "terraform"


def _known(cfg: Path) -> str | None:
    loaded = pipeline.load(cfg)
    out = pipeline.output_dir(loaded)
    return cache.unchanged(out, pipeline.inputs_digest(loaded, out))


def test_an_unchanged_tree_is_known_and_reported_like_a_full_run(
        cli: Callable[..., object], org: Path) -> None:
    _generated(cli, org)
    known = _known(org)
    assert known is not None and known.endswith(" files")
    res = cli("generate", "-c", org)
    assert res.exit_code == 0
    assert f"up to date, nothing written ({known})" in res.output  # type: ignore[attr-defined]
    # The summary a full run prints for the same tree.
    os.environ[cache.CACHE_ENV], before = "off", os.environ[cache.CACHE_ENV]
    try:
        full = cli("generate", "-c", org)
    finally:
        os.environ[cache.CACHE_ENV] = before
    assert full.output == res.output  # type: ignore[attr-defined]


def test_a_same_size_edit_with_its_old_mtime_is_still_refused(
        cli: Callable[..., object], org: Path) -> None:
    out = _generated(cli, org)
    target = out / "accounts/app/main.tf"
    st = target.stat()
    text = target.read_text(encoding="utf-8")
    target.write_text(text.replace("guardgen", "GUARDGEN", 1), encoding="utf-8")
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))  # the change time still moves
    assert target.stat().st_size == st.st_size
    assert _known(org) is None
    res = cli("generate", "-c", org)
    assert res.exit_code == 2
    assert "accounts/app/main.tf (edited by hand" in res.output  # type: ignore[attr-defined]


@pytest.mark.parametrize("change", ["delete", "add-user-file", "edit-config", "edit-policy-file",
                                    "edit-manifest", "chmod"])
def test_anything_that_could_change_the_answer_takes_the_full_path(
        cli: Callable[..., object], org: Path, change: str) -> None:
    out = _generated(cli, org)
    assert _known(org) is not None
    if change == "delete":
        (out / "accounts/app/outputs.tf").unlink()
    elif change == "add-user-file":
        (out / "accounts/app/extra.tf").write_text("# mine\n", encoding="utf-8")
    elif change == "edit-config":
        org.write_text(CONFIG.replace("allow_services: [s3]", "allow_services: [s3, ec2]"),
                       encoding="utf-8")
    elif change == "edit-policy-file":
        (org.parent / "policies/vaults.json").write_text(_policy("corp-"), encoding="utf-8")
    elif change == "edit-manifest":
        manifest = out / output.MANIFEST
        manifest.write_text(manifest.read_text(encoding="utf-8") + " ", encoding="utf-8")
    else:
        (out / "README.md").chmod(0o600)
    assert _known(org) is None
    res = cli("generate", "-c", org, "--force")
    assert res.exit_code == 0, res.output  # type: ignore[attr-defined]
    if change in ("edit-config", "edit-policy-file"):
        assert "updated" in res.output  # type: ignore[attr-defined]
    if change == "edit-policy-file":
        assert "corp-" in (out / "management/policies/scp_root_1.json").read_text(encoding="utf-8")


def test_no_record_vouches_for_a_file_someone_else_wrote(
        cli: Callable[..., object], org: Path) -> None:
    out = _generated(cli, org)
    loaded = pipeline.load(org)
    inputs = pipeline.inputs_digest(loaded, out)
    files = pipeline.build(loaded, out).files
    assert cache.unchanged(out, inputs) is not None
    # A generated file changed between the write and the record: read back, it differs.
    target = out / "accounts/app/main.tf"
    target.write_text(files["accounts/app/main.tf"] + "# mine\n", encoding="utf-8")
    with output.OutputLock(out, exclusive=True):  # as generate does
        cache.remember(out, inputs, "x", files, time.time_ns())
    assert cache.unchanged(out, inputs) is None
    target.write_text(files["accounts/app/main.tf"], encoding="utf-8")
    # A file of the user's that appeared while the run planned: planning did not see it.
    since = time.time_ns()
    (out / "accounts/app/extra.tf").write_text("# mine\n", encoding="utf-8")
    with output.OutputLock(out, exclusive=True):
        cache.remember(out, inputs, "x", files, since)
    assert cache.unchanged(out, inputs) is None
    # One that was there before the run is the user's own business.
    with output.OutputLock(out, exclusive=True):
        cache.remember(out, inputs, "x", files, time.time_ns())
    assert cache.unchanged(out, inputs) == "x"


@pytest.mark.parametrize("change", ["none", "same-size-edit", "delete", "replace", "add-file",
                                    "add-top-folder"])
def test_a_stamp_vouches_only_for_a_file_nobody_touched_since_it_was_written(
        cli: Callable[..., object], org: Path, monkeypatch: pytest.MonkeyPatch,
        change: str) -> None:
    out = _generated(cli, org)
    loaded = pipeline.load(org)
    inputs = pipeline.inputs_digest(loaded, out)
    files = pipeline.build(loaded, out).files
    for child in out.iterdir():  # every file is written again
        if child.is_dir():
            shutil.rmtree(child)
        elif child.name != output.LOCK:
            child.unlink()
    read_back: list[str] = []
    holds = cache._holds

    def counted(o: Path, f: dict[str, str], rels: list[str]) -> bool:
        read_back.extend(rels)
        return holds(o, f, rels)

    monkeypatch.setattr(cache, "_holds", counted)
    rel = "accounts/app/main.tf"
    target, text = out / rel, files[rel]
    with output.OutputLock(out, exclusive=True):
        stamps: dict[str, output.Stamp | None] = {}
        output.write(out, files, output.compare(out, files), stamps=stamps)
        # Every path of the new tree: what was written, its folders, and the lock file, which
        # is the only thing carried over.
        made = {rel for rel, st in stamps.items() if st is not None}
        assert made == set(stamps) - {output.LOCK} and set(files) <= made
        assert {rel for rel in made if (out / rel).is_dir()} == {
            rel.rsplit("/", i)[0] for rel in files for i in range(1, rel.count("/") + 1)}
        st = target.stat()
        if change == "same-size-edit":  # the old modification time back: the change time tells
            target.write_text(text[:-2] + "#\n", encoding="utf-8")
            os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
        elif change == "delete":
            target.unlink()
        elif change == "replace":  # another file of the same size in its place
            (out / "x").write_text(text[:-2] + "#\n", encoding="utf-8")
            os.replace(out / "x", target)
        elif change == "add-file":  # a file of yours in a root, which planning would read
            (target.parent / "extra.tf").write_text("# mine\n", encoding="utf-8")
        elif change == "add-top-folder":
            (out / "more").mkdir()
        cache.remember(out, inputs, "x", files, time.time_ns(), stamps)
        # Later, the same edit as above: the record must not match either.
        if change == "none":
            assert cache.unchanged(out, inputs) == "x"
            target.write_text(text[:-2] + "#\n", encoding="utf-8")
            os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert read_back == []
    assert cache.unchanged(out, inputs) is None


def test_no_cache_folder_and_a_damaged_record_mean_the_full_path(
        cli: Callable[..., object], org: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = _generated(cli, org)
    record = cache._record_path(out)
    assert record is not None and record.is_file()
    record.write_bytes(record.read_bytes()[:40])
    assert _known(org) is None
    record.write_bytes(b"\x00garbage")
    assert _known(org) is None
    monkeypatch.setenv(cache.CACHE_ENV, "off")
    assert cache._record_path(out) is None
    assert _known(org) is None


def test_the_inputs_digest_covers_the_installation_and_the_flags(org: Path) -> None:
    loaded = pipeline.load(org)
    out = pipeline.output_dir(loaded)
    base = pipeline.inputs_digest(loaded, out)
    assert pipeline.inputs_digest(loaded, out) == base
    assert pipeline.inputs_digest(loaded, out, prune_moves=True) != base
    assert pipeline.inputs_digest(loaded, out.parent / "elsewhere") != base


def _fields(cmp: output.Comparison) -> tuple[list[str], ...]:
    return (cmp.create, cmp.update, cmp.delete, cmp.hand_edited, cmp.foreign, cmp.blocked)


@pytest.mark.parametrize("edit", ["none", "same-size-edit", "touch-manifest"])
def test_files_the_record_vouches_for_are_not_read_again_and_compare_the_same(
        cli: Callable[..., object], org: Path, monkeypatch: pytest.MonkeyPatch, edit: str) -> None:
    out = _generated(cli, org)
    target = out / "accounts/app/main.tf"
    if edit == "same-size-edit":  # the old modification time back: the change time tells
        st = target.stat()
        text = target.read_text(encoding="utf-8")
        target.write_text(text.replace("guardgen", "GUARDGEN", 1), encoding="utf-8")
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    elif edit == "touch-manifest":
        os.utime(out / output.MANIFEST)
    # Another generation: the boundary's document and the files naming it change.
    org.write_text(CONFIG.replace("allow_services: [s3]", "allow_services: [s3, ec2]"),
                   encoding="utf-8")
    res = pipeline.build(pipeline.load(org), out)
    known = cache.vouched(out)
    assert (not known) == (edit == "touch-manifest")
    assert ("accounts/app/main.tf" in known) == (edit == "none")
    from guardgen.output import tree

    read: list[str] = []
    probe = tree._Disk.probe

    def counted(self: tree._Disk, rel: str) -> tuple[str, bytes | None]:
        read.append(rel)
        return probe(self, rel)

    monkeypatch.setattr(tree._Disk, "probe", counted)
    fast = output.compare(out, res.files, keep_text=False, known=known, digests=res.digests)
    fast_reads, read[:] = list(read), []
    slow = output.compare(out, res.files, keep_text=False)
    assert _fields(fast) == _fields(slow)
    assert slow.update and set(slow.update) <= set(res.files)
    owned = output.read_manifest(out)
    if edit == "touch-manifest":
        assert fast_reads == read
    else:
        # Only what the record cannot vouch for is read: the manifest, and the edited file.
        assert set(fast_reads) == {output.MANIFEST} | (
            {"accounts/app/main.tf"} if edit == "same-size-edit" else set())
        assert set(owned) - set(fast_reads) <= set(known)
    if edit == "same-size-edit":
        assert fast.hand_edited == ["accounts/app/main.tf"]


def test_the_generate_that_writes_a_tree_records_it(cli: Callable[..., object], org: Path) -> None:
    for _ in range(2):  # a first tree, then one written over the first
        res = cli("generate", "-c", org)
        assert res.exit_code == 0, res.output  # type: ignore[attr-defined]
        assert "written" not in res.output  # type: ignore[attr-defined]
        assert _known(org) is not None
        org.write_text(CONFIG.replace("allow_services: [s3]", "allow_services: [s3, ec2]"),
                       encoding="utf-8")
