"""Work on a second core (guardgen.forked): the child's value or its exception comes back, a
child that dies is reported, and rendering gives the same files either way."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from guardgen import forked, pipeline, plan
from guardgen.errors import ConfigError
from guardgen.render import terraform
from support import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import synthetic  # noqa: E402

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


def test_the_child_value_comes_back() -> None:
    data = list(range(100_000))
    with forked.Forked(lambda: [x * 2 for x in data]) as child:
        mine = sum(data)
        assert child.result() == [x * 2 for x in data]
    assert mine == sum(range(100_000))


def test_the_child_exception_is_raised_here() -> None:
    def fail() -> None:
        raise ConfigError(["guardgen.yaml:3:1: bad"])

    with forked.Forked(fail) as child, pytest.raises(ConfigError, match="3:1: bad"):
        child.result()


def test_a_child_that_dies_is_an_error_not_a_hang() -> None:
    with forked.Forked(lambda: os._exit(3)) as child, pytest.raises(RuntimeError, match="died"):
        child.result()


def test_a_result_never_asked_for_still_reaps_the_child() -> None:
    big = "x" * 1_000_000  # more than a pipe holds: the child blocks writing until reaped
    with forked.Forked(lambda: big) as child:
        pid = child._pid
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def test_rendering_in_two_processes_writes_the_same_files(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "guardgen.yaml"
    cfg.write_text(synthetic.make_config(terraform._FORK_FROM + 50), encoding="utf-8")
    p = plan.build(pipeline.load(cfg).config)
    assert len(p.accounts) >= terraform._FORK_FROM
    calls: list[int] = []
    real = forked.Forked

    def counted(fn):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(fn)

    monkeypatch.setattr(forked, "Forked", counted)
    monkeypatch.setattr(forked, "available", lambda: True)  # one CPU still forks, only slower
    both = terraform.render(p, "../guardgen.yaml")
    assert calls == [1]
    monkeypatch.setattr(forked, "available", lambda: False)
    assert terraform.render(p, "../guardgen.yaml") == both
    assert calls == [1]


def test_no_fork_while_another_thread_runs() -> None:
    import threading

    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not forked.available()
    finally:
        stop.set()
        other.join()


def test_maybe_without_a_second_core_does_the_work_here_when_asked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forked, "available", lambda: False)
    ran: list[str] = []
    with forked.maybe(lambda: ran.append("fn") or 1, instead=lambda: ran.append("instead") or 2) as w:
        assert ran == []  # nothing yet: the work waits for result()
        assert w.result() == 2
    assert ran == ["instead"]
    with forked.maybe(lambda: os.getpid()) as w:
        assert w.result() == os.getpid()


def test_maybe_forks_only_when_asked_to_and_a_core_is_there(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forked, "available", lambda: True)
    with forked.maybe(lambda: os.getpid()) as w:
        assert w.result() != os.getpid()
    with forked.maybe(lambda: os.getpid(), when=False) as w:
        assert w.result() == os.getpid()
