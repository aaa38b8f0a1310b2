"""The build-table command on a tiny model saved to a local directory (CliRunner)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bridgex_chain.cli.commands_build import _languages
from bridgex_chain.cli.main import app, entry_app
from bridgex_chain.errors import BridgeXError
from bridgex_chain.store.precomputed import read_table_file
from bridgex_chain.store.table import BridgeTable

# A narrow terminal wraps rich tables; a wide one keeps each row on one line.
runner = CliRunner(env={"COLUMNS": "200", "HF_HUB_OFFLINE": "1"})


@pytest.fixture(scope="module")
def model_dir(
    tmp_path_factory: pytest.TempPathFactory, save_tiny_lm: Callable[[str, Path], Path]
) -> Path:
    return save_tiny_lm("qwen2", tmp_path_factory.mktemp("tiny-qwen2"))


@pytest.fixture
def lexicon(tmp_path: Path) -> Path:
    """A MUSE-format directory: sw-en, en-sw, sw-fr (100 synthetic pairs each)."""
    root = tmp_path / "muse"
    root.mkdir()
    for name, (a, b) in {"sw-en": ("neno", "word"), "en-sw": ("word", "neno"),
                         "sw-fr": ("neno", "mot"), "en-fr": ("word", "mot")}.items():  # fmt: skip
        lines = [f"{a}{i} {b}{i}" for i in range(100)]
        (root / f"{name}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def _args(model_dir: Path, tmp_path: Path, *extra: str) -> list[str]:
    return [
        "build-table",
        "--model",
        str(model_dir),
        "--bridges",
        "en,fr",
        "--max-prompts",
        "6",
        "--top-rate",
        "0.1",
        "--layers",
        "0-2",
        "--threads",
        "1",
        "--database-url",
        f"sqlite:///{tmp_path / 'bridges.db'}",
        "--cache-dir",
        str(tmp_path / "cache"),
        *extra,
    ]


def test_build_table_command_builds_exports_and_reports(
    model_dir: Path, lexicon: Path, tmp_path: Path
) -> None:
    out = tmp_path / "exported.json"
    args = _args(model_dir, tmp_path, "--languages", "sw", "--pairs", "sw-en")
    result = runner.invoke(app, [*args, "--lexicon", str(lexicon), "--export", str(out)])
    assert result.exit_code == 0, result.output
    assert "swh_Latn → eng_Latn" in result.output
    assert "best bridge" in result.output and "Run 1 built in sqlite:///" in result.output
    assert f"Exported to {out}" in result.output and "Intermediates:" in result.output
    ((record, rows),) = read_table_file(out)
    assert record.probe_set == f"muse:{lexicon.name}"
    assert record.params["entries"] == [["swh_Latn", "swh_Latn"], ["swh_Latn", "eng_Latn"]]
    assert record.params["max_prompts_per_direction"] == 6
    assert record.params["layer_window"] == [0, 2] and record.bridges == ["eng_Latn", "fra_Latn"]
    with BridgeTable(f"sqlite:///{tmp_path / 'bridges.db'}") as table:
        (run,) = table.runs()
        assert run.status == "complete" and len(table.scores(run.run_id or 0)) == len(rows)
        best = table.best(run.profile.model, "sw")
        assert best.bridge in {"eng_Latn", "fra_Latn"}
    # the same command again finds the complete run and does nothing
    again = runner.invoke(app, [*args, "--lexicon", str(lexicon)])
    assert again.exit_code == 0, again.output
    assert "Run 1 already complete" in again.output


def test_dry_run_prints_the_plan_and_writes_nothing(model_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, [*_args(model_dir, tmp_path, "--languages", "sw,id", "--pairs", "id-tl"), "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    for text in ("Build plan", "entry swh_Latn", "ind_Latn → tgl_Latn", "forward passes",
                 "estimated time", "estimated peak memory", "0–2"):  # fmt: skip
        assert text in result.output
    assert not (tmp_path / "bridges.db").exists() and not (tmp_path / "cache").exists()


@pytest.mark.parametrize(
    ("option", "value", "hint"),
    [
        ("--pairs", "sw", "--pairs"),
        ("--layers", "9-3", "--layers"),
        ("--layers", "0-3", "--layers: The layer window 0-3 does not fit"),  # 3 layers: 0-2
        ("--languages", "xx-not-a-language", "--languages"),
        ("--bridges", "en,xx-nope", "--bridges"),
        ("--hsic-mode", "fancy", "--hsic-mode"),
        ("--dtype", "int8", "--dtype: Unknown dtype 'int8'"),
        ("--device", "tpu", "--device: Unknown device 'tpu'"),
        ("--top-rate", "0", "--top-rate must be in (0, 1]"),
        ("--shard", "3/2", "--shard: shard 3/2: K must be between 1 and N"),
        ("--shard", "half", "--shard: shard 'half': write K/N"),
        ("--exclude", "sw,xx-nope", "--exclude"),
    ],
)
def test_bad_options_are_an_error_naming_the_option(
    model_dir: Path, tmp_path: Path, option: str, value: str, hint: str
) -> None:
    args = [*_args(model_dir, tmp_path), option, value]
    for extra in (["--dry-run"], []):  # checked before planning and before loading alike
        result = runner.invoke(entry_app, [*args, *extra])
        assert result.exit_code == 2, result.output
        assert result.output.startswith("error: ") and hint in " ".join(result.output.split())
        assert not (tmp_path / "bridges.db").exists() and not (tmp_path / "cache").exists()
    raw = runner.invoke(app, [*args, "--dry-run"])  # `app` lets the BridgeXError through
    assert isinstance(raw.exception, ValueError | BridgeXError)


def test_help_fits_a_100_column_terminal() -> None:
    out = runner.invoke(app, ["build-table", "--help"], env={"COLUMNS": "100"}).output
    assert "<bool>" not in out and "<str>" not in out and "--no-dry-run" not in out
    for panel in ("Model", "What to build", "Probing"):
        assert f"─ {panel} ─" in out


def test_languages_option_values() -> None:
    assert _languages(None) is None and _languages("study") is None
    assert _languages("none") == []
    assert _languages("sw, id,") == ["sw", "id"]
    assert _languages("ALL") == "all"


def test_dry_run_of_every_language_lists_the_probe_sources(model_dir: Path, tmp_path: Path) -> None:
    args = _args(model_dir, tmp_path, "--languages", "all", "--exclude", "study")
    result = runner.invoke(app, [*args, "--shard", "1/40", "--dry-run"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    sources = re.search(
        r"probe sources\s+│\s+(\d+) cldr, (\d+) parallel, (\d+) none", result.output
    )
    assert sources is not None, result.output
    cldr, parallel, none = map(int, sources.groups())
    assert parallel == 0 and none > 0  # no --parallel corpus: the CLDR-less are skipped
    assert cldr + none == len(range(0, 190, 40))  # 190 non-study languages, every 40th
