"""Fixtures for the AWS tests: one real ``moto_server`` per test session, reset before each test.

Without moto installed these tests skip, unless GUARDGEN_REQUIRE_ALL=1 (CI) where they fail: a
suite that silently skipped its AWS tests would pass without testing anything.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from motoharness import FAKE_ENV, FOREIGN_ENV, MotoServer, moto_server_path


def _missing(what: str) -> None:
    message = f"{what} is not installed: pip install 'moto[server]' boto3 (the test extra)"
    if os.environ.get("GUARDGEN_REQUIRE_ALL") == "1":
        pytest.fail(message + " [GUARDGEN_REQUIRE_ALL=1]", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """A real ``moto_server -H 127.0.0.1 -p <free port>`` with AWS managed policies loaded."""
    executable = moto_server_path()
    if executable is None:
        _missing("moto_server")
    try:
        import boto3  # noqa: F401
    except ImportError:
        _missing("boto3")
    assert executable is not None
    server = MotoServer(executable, tmp_path_factory.mktemp("moto") / "moto_server.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials, and nothing from the developer's own AWS configuration."""
    for key in FOREIGN_ENV:
        monkeypatch.delenv(key, raising=False)
    for key, value in FAKE_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def moto(moto_server: MotoServer, aws_env: None) -> Iterator[MotoServer]:
    """The session's moto_server, emptied (POST /moto-api/reset) before the test."""
    moto_server.reset()
    try:
        yield moto_server
    finally:
        moto_server.enforce_iam(False)  # never leave enforcement on for the next test
