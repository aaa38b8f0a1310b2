"""The ``bridgex-chain`` entry point: the root app, its command groups and :func:`run`.

The ``--version`` output itself is checked in tests/unit/test_package.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bridgex_chain import __version__
from bridgex_chain.cli.main import app, entry_app, run
from bridgex_chain.errors import UnknownLanguage

COMMANDS = ("detect", "ask", "chat", "eval", "build-table", "db", "table")


def test_help_lists_every_command_group() -> None:
    out = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert "Route prompts for low-resource languages" in out.output
    listed = {line.split()[1] for line in out.output.splitlines() if line.startswith("│ ")}
    assert set(COMMANDS) <= listed
    assert "--version" in out.output


def test_no_arguments_show_the_help() -> None:
    out = CliRunner().invoke(app, [], env={"COLUMNS": "200"})
    assert out.exit_code == 2  # click's no_args_is_help exits like a usage error
    assert "Usage: bridgex-chain [OPTIONS] COMMAND [ARGS]..." in out.output
    assert all(command in out.output for command in COMMANDS)


def test_version_is_eager_and_runs_no_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRIDGEX_DATABASE_URL", f"sqlite:///{tmp_path / 'never.db'}")
    out = CliRunner().invoke(app, ["--version", "db", "upgrade"])
    assert out.exit_code == 0, out.output
    assert out.output == f"bridgex-chain {__version__}\n"
    assert not (tmp_path / "never.db").exists()


def test_an_unknown_command_is_a_usage_error() -> None:
    out = CliRunner().invoke(app, ["no-such-command"], env={"COLUMNS": "200"})
    assert out.exit_code == 2
    assert "No such command 'no-such-command'" in out.output


def test_run_turns_a_bridgex_error_into_a_message_and_exit_code_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database " * 100)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(
        sys, "argv", ["bridgex-chain", "db", "current", "--database-url", f"sqlite:///{garbage}"]
    )
    with pytest.raises(SystemExit) as exited:
        run()
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: Cannot open the bridge table")
    assert "Traceback" not in captured.err
    assert captured.out == ""


def test_run_exits_0_after_a_successful_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["bridgex-chain", "--version"])
    with pytest.raises(SystemExit) as exited:
        run()
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"bridgex-chain {__version__}\n"


def test_entry_point_prints_a_clean_error(sqlite_url: str) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "bridgex_chain.cli", "table", "show", "--model", "demo/model",
         "--src", "sw", "--database-url", sqlite_url],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "No bridge for model 'demo/model'" in proc.stderr
    assert "bridgex-chain build-table --model demo/model" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_entry_app_prints_a_bridgex_error_safely_and_app_lets_it_through() -> None:
    args = ["detect", "Habari za asubuhi", "--allowed", "[/x]\x1b[2J"]
    out = CliRunner().invoke(entry_app, args, env={"COLUMNS": "200"})
    assert out.exit_code == 2
    assert out.output.startswith("error: Unknown language '[/x]\\x1b[2J'")
    assert "\x1b" not in out.output and out.exception is not None
    assert isinstance(out.exception, SystemExit)
    raw = CliRunner().invoke(app, args)
    assert isinstance(raw.exception, UnknownLanguage)


def test_entry_app_has_the_same_commands_as_app() -> None:
    import typer

    assert set(typer.main.get_command(entry_app).commands) == set(  # type: ignore[attr-defined]
        typer.main.get_command(app).commands  # type: ignore[attr-defined]
    )
    out = CliRunner().invoke(entry_app, ["--help"], env={"COLUMNS": "100"})
    assert out.exit_code == 0 and "<bool>" not in out.output
