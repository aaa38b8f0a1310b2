"""Tests for bridgex_chain.paths: data and cache directories and the default database URL."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bridgex_chain import paths

linux_only = pytest.mark.skipif(
    sys.platform != "linux", reason="platformdirs reads XDG_* variables on Linux only"
)


@pytest.fixture(autouse=True)
def _no_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Start every test without bridgex overrides, with XDG dirs in the test's tmp dir."""
    for var in ("BRIDGEX_DATA_DIR", "BRIDGEX_CACHE_DIR", "BRIDGEX_DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


# --------------------------------------------------------------------------- data_dir


def test_data_dir_override_is_used_and_created(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = tmp_path / "not" / "yet" / "data"
    monkeypatch.setenv("BRIDGEX_DATA_DIR", str(target))
    assert paths.data_dir() == target
    assert target.is_dir()
    assert paths.data_dir() == target  # an existing directory is fine


@linux_only
def test_data_dir_defaults_to_the_platform_user_data_dir(tmp_path: Path) -> None:
    assert paths.data_dir() == tmp_path / "xdg-data" / "bridgex-chain"
    assert (tmp_path / "xdg-data" / "bridgex-chain").is_dir()


@linux_only
def test_an_empty_data_dir_override_means_the_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BRIDGEX_DATA_DIR", "")
    assert paths.data_dir() == tmp_path / "xdg-data" / "bridgex-chain"


def test_data_dir_reads_the_environment_at_call_time(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BRIDGEX_DATA_DIR", str(tmp_path / "first"))
    assert paths.data_dir() == tmp_path / "first"
    monkeypatch.setenv("BRIDGEX_DATA_DIR", str(tmp_path / "second"))
    assert paths.data_dir() == tmp_path / "second"


# --------------------------------------------------------------------------- cache_dir


def test_cache_dir_override_is_used_and_created(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = tmp_path / "deep" / "cache"
    monkeypatch.setenv("BRIDGEX_CACHE_DIR", str(target))
    assert paths.cache_dir() == target
    assert target.is_dir()


@linux_only
def test_cache_dir_defaults_to_the_platform_user_cache_dir(tmp_path: Path) -> None:
    assert paths.cache_dir() == tmp_path / "xdg-cache" / "bridgex-chain"
    assert (tmp_path / "xdg-cache" / "bridgex-chain").is_dir()


@linux_only
def test_an_empty_cache_dir_override_means_the_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BRIDGEX_CACHE_DIR", "")
    assert paths.cache_dir() == tmp_path / "xdg-cache" / "bridgex-chain"


def test_data_and_cache_overrides_are_independent(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BRIDGEX_CACHE_DIR", str(tmp_path / "cache-only"))
    assert paths.cache_dir() == tmp_path / "cache-only"
    assert paths.data_dir() != tmp_path / "cache-only"


# --------------------------------------------------------------------------- default_database_url


def test_database_url_from_the_environment_is_returned_verbatim(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = "postgresql+psycopg://me:secret@db.example/bridges"
    monkeypatch.setenv("BRIDGEX_DATABASE_URL", url)
    monkeypatch.setenv("BRIDGEX_DATA_DIR", str(tmp_path / "unused"))
    assert paths.default_database_url() == url
    assert not (tmp_path / "unused").exists(), "the data dir is not created for a given URL"


def test_default_database_is_a_sqlite_file_in_the_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BRIDGEX_DATA_DIR", str(tmp_path / "data"))
    assert paths.default_database_url() == f"sqlite:///{tmp_path / 'data' / 'bridges.db'}"
    assert (tmp_path / "data").is_dir()


def test_an_empty_database_url_means_the_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BRIDGEX_DATABASE_URL", "")
    monkeypatch.setenv("BRIDGEX_DATA_DIR", str(tmp_path / "data"))
    assert paths.default_database_url() == f"sqlite:///{tmp_path / 'data' / 'bridges.db'}"


def test_the_default_database_url_opens_with_sqlalchemy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from sqlalchemy import create_engine, text

    monkeypatch.setenv("BRIDGEX_DATA_DIR", str(tmp_path / "data"))
    engine = create_engine(paths.default_database_url())
    try:
        with engine.connect() as conn:
            assert conn.execute(text("select 1")).scalar() == 1
    finally:
        engine.dispose()
    assert (tmp_path / "data" / "bridges.db").is_file()
