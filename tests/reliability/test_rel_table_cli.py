"""The ``table`` and ``db`` commands a new user meets first (issue 19): typer's CliRunner.

Shipped tables visible to every read command, re-imports that say what they skipped, concurrent
imports with one outcome, aggregates checked on import, export targets refused with a reason,
escaped output, 80-column tables, and arbitrary text that never ends in a traceback.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from bridgex_chain.cli.main import app, run
from bridgex_chain.errors import (
    DatabaseError,
    InvalidOption,
    NoBridgeFound,
    SchemaError,
)
from bridgex_chain.store.precomputed import read_table_file, shipped_tables, write_table_file
from bridgex_chain.store.records import ScoreRow
from bridgex_chain.store.table import BridgeTable

Snapshot = Callable[[str], dict[str, list[tuple[Any, ...]]]]
GEMMA = "google/gemma-3-270m"


def _cli(*args: str, columns: int = 200) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": str(columns)})


def _shipped() -> BridgeTable:
    table = BridgeTable("sqlite://")
    table.import_shipped()
    return table


def _scaled(rows: list[ScoreRow], factor: float) -> list[ScoreRow]:
    return [
        ScoreRow(r.src, r.trg, r.bridge, r.layer, r.score * factor, r.layers_scored) for r in rows
    ]


# ------------------------------------------------------------------------------ item 2
def test_read_commands_see_the_shipped_tables_on_a_fresh_database(
    sqlite_url: str, tmp_path: Path
) -> None:
    with _shipped() as memory:
        expected = memory.ranking(GEMMA, "swh_Latn")
    out = _cli("table", "show", "--model", "gemma", "--src", "sw", "--database-url", sqlite_url)
    assert out.exit_code == 0, out.output
    assert expected[0].bridge in out.output and f"{expected[0].score:.2e}" in out.output
    assert "run shipped" in out.output and "build-table" not in out.output

    out = _cli("table", "show", "--model", "gemma", "--database-url", sqlite_url)
    assert out.exit_code == 0, out.output
    assert "(every entry)" in out.output and "eng_Latn (English)" in out.output

    out = _cli("table", "list", "--database-url", sqlite_url)
    assert out.exit_code == 0, out.output
    assert GEMMA in out.output and "shipped" in out.output

    target = tmp_path / "gemma.json"
    out = _cli("table", "export", str(target), "--model", "gemma", "--database-url", sqlite_url)
    assert out.exit_code == 0, out.output
    assert [r.profile.model for r, _ in read_table_file(target)] == [GEMMA]

    with BridgeTable(sqlite_url) as table:  # the read commands wrote nothing
        assert table.runs() == [] and table.models() == []

    # A model without any run: the message says so (it used to say "from eng_Latn").
    out = _cli("table", "show", "--model", "nobody/none", "--database-url", sqlite_url)
    assert isinstance(out.exception, NoBridgeFound)
    message = str(out.exception)
    assert "No complete probe run of model 'nobody/none'" in message and "eng_Latn" not in message
    assert GEMMA in message


# ------------------------------------------------------------------------------ item 3
def test_reimport_with_different_scores_is_skipped_and_told_and_replace_overwrites(
    store_url: str, tmp_path: Path, make_sample_run: Any
) -> None:
    run, rows = make_sample_run("demo/model")
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    write_table_file(first, [(run, rows)], tool_version="0.1.0")
    write_table_file(second, [(run, _scaled(rows, 2.0))], tool_version="0.1.0")

    out = _cli("table", "import", str(first), "--database-url", store_url)
    assert out.exit_code == 0 and "1 added" in out.output, out.output
    with BridgeTable(store_url) as table:
        stored = table.scores(table.runs()[0].run_id or 0)

    out = _cli("table", "import", str(first), "--database-url", store_url)
    assert out.exit_code == 0 and "0 added" in out.output
    assert "already stored with the same scores; skipped" in out.output

    out = _cli("table", "import", str(second), "--database-url", store_url)
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert "0 added" in text and "already stored with different scores; skipped" in text
    assert "table import --replace" in text
    with BridgeTable(store_url) as table:
        assert table.scores(table.runs()[0].run_id or 0) == stored  # the old scores were kept

    out = _cli("table", "import", "--replace", str(second), "--database-url", store_url)
    assert out.exit_code == 0 and "replaced the stored run" in out.output, out.output
    with BridgeTable(store_url) as table:
        assert len(table.runs()) == 1
        new = table.scores(table.runs()[0].run_id or 0)
    assert sorted(new, key=repr) == sorted(read_table_file(second)[0][1], key=repr)


def test_concurrent_imports_of_one_run_key_have_one_defined_outcome(
    store_url: str, tmp_path: Path, make_sample_run: Any
) -> None:
    run, rows = make_sample_run("demo/model")
    files = []
    for number, factor in enumerate((1.0, 2.0, 3.0, 1.0, 2.0, 3.0)):
        path = tmp_path / f"variant-{number}.json"
        write_table_file(path, [(run, _scaled(rows, factor))], tool_version="0.1.0")
        files.append((path, factor))
    BridgeTable(store_url).close()  # schema first: the race is about the run, not the migration
    barrier = threading.Barrier(len(files))
    results: dict[int, Any] = {}

    def worker(index: int) -> None:
        with BridgeTable(store_url) as table:
            barrier.wait()
            try:
                results[index] = table.import_file(files[index][0])[0]
            except BaseException as err:
                results[index] = err

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(files))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    outcomes = [results[i] for i in range(len(files))]
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    winners = [i for i, o in enumerate(outcomes) if o.action == "added"]
    assert len(winners) == 1, outcomes  # exactly one import added the run
    winning_factor = files[winners[0]][1]
    for i, outcome in enumerate(outcomes):
        if i != winners[0]:  # every loser was told: same scores, or different ones kept
            assert outcome.action == ("unchanged" if files[i][1] == winning_factor else "kept")
            assert outcome.run_id == outcomes[winners[0]].run_id
    with BridgeTable(store_url) as table:  # the stored scores are the winner's, whole
        (stored_run,) = table.runs()
        stored = table.scores(stored_run.run_id or 0)
    assert sorted(stored, key=repr) == sorted(read_table_file(files[winners[0]][0])[0][1], key=repr)


# ------------------------------------------------------------------------------ item 4
def test_inconsistent_aggregate_is_refused_naming_the_entry(
    store_url: str, tmp_path: Path, make_sample_run: Any, snapshot: Snapshot
) -> None:
    (shipped,) = shipped_tables()
    document = json.loads(shipped.path.read_text(encoding="utf-8"))
    document["runs"][0]["entries"][2]["bridges"][1]["score"] = 1e9
    bad = tmp_path / "bad-aggregate.json"
    bad.write_text(json.dumps(document), encoding="utf-8")

    no_window = tmp_path / "no-window.json"  # a run without params.layer_window: range check
    write_table_file(no_window, [make_sample_run("demo/model")], tool_version="0.1.0")
    document = json.loads(no_window.read_text(encoding="utf-8"))
    entry = next(e for e in document["runs"][0]["entries"] if e["src"] == "hau_Latn")
    entry["bridges"][0]["score"] = 1e9
    no_window.write_text(json.dumps(document), encoding="utf-8")

    with BridgeTable(store_url) as table:
        before = snapshot(store_url)
        with pytest.raises(SchemaError, match=r"entries\.2\.bridges\.1 .*is not what aggregation"):
            table.import_json(bad)
        with pytest.raises(SchemaError, match=r"hau_Latn.*outside the range"):
            table.import_json(no_window)
        assert snapshot(store_url) == before
    out = _cli("table", "import", str(bad), "--database-url", store_url)
    assert isinstance(out.exception, SchemaError)


# ------------------------------------------------------------------------------ item 5
def test_export_refuses_unknown_models_and_bad_targets(sqlite_url: str, tmp_path: Path) -> None:
    target = tmp_path / "mistral.json"
    out = _cli("table", "export", str(target), "--model", "mistral", "--database-url", sqlite_url)
    assert isinstance(out.exception, NoBridgeFound) and "Mistral" in str(out.exception)
    assert not target.exists()

    directory = tmp_path / "adir"
    directory.mkdir()
    out = _cli("table", "export", str(directory), "--database-url", sqlite_url)
    assert isinstance(out.exception, InvalidOption) and "is a directory" in str(out.exception)

    missing = tmp_path / "missing" / "dir" / "out.json"
    out = _cli("table", "export", str(missing), "--database-url", sqlite_url)
    assert isinstance(out.exception, InvalidOption) and "--parents" in str(out.exception)
    assert not (tmp_path / "missing").exists()
    out = _cli("table", "export", str(missing), "--parents", "--database-url", sqlite_url)
    assert out.exit_code == 0 and missing.is_file(), out.output

    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for unwritable in (blocker / "out.json", Path("/proc/bridges.json")):
        out = _cli("table", "export", str(unwritable), "--database-url", sqlite_url)
        assert isinstance(out.exception, InvalidOption), out.exception
        assert "Cannot write" in str(out.exception)


def test_db_current_on_a_missing_file_says_so_and_creates_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'not' / 'there.db'}"
    out = _cli("db", "current", "--database-url", url)
    assert isinstance(out.exception, DatabaseError)
    assert "does not exist (nothing was created)" in str(out.exception)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------ item 6
def test_markup_and_control_characters_are_printed_escaped(
    sqlite_url: str, tmp_path: Path, make_sample_run: Any
) -> None:
    evil = tmp_path / "[bold]x.json"
    runs = [make_sample_run(model, seed=i) for i, model in enumerate(("[/bad]", "ev\x1b[31mil"))]
    write_table_file(evil, runs, tool_version="0.1.0")
    out = _cli("table", "import", str(evil), "--database-url", sqlite_url)
    assert out.exit_code == 0, out.output
    assert "[bold]x.json" in out.output

    out = _cli("table", "list", "--database-url", sqlite_url)
    assert out.exit_code == 0, out.output
    assert "[/bad]" in out.output and "ev\\x1b[31mil" in out.output
    assert "\x1b" not in out.output

    out = _cli("table", "show", "--model", "[/bad]", "--database-url", sqlite_url)
    assert out.exit_code == 0, out.output
    assert "Best bridges for [/bad]" in out.output


# ------------------------------------------------------------------------------ item 7
def test_table_list_and_show_are_readable_at_80_columns(
    sqlite_url: str, make_sample_run: Any
) -> None:
    with BridgeTable(sqlite_url) as table:
        table.upsert_run(*make_sample_run("meta-llama/Llama-3.2-1B-Instruct"))
    with _shipped() as memory:
        best = memory.best(GEMMA, "swh_Latn")
    outputs = [
        _cli("table", "list", "--database-url", sqlite_url, columns=80),
        _cli("table", "show", "--model", "gemma", "--database-url", sqlite_url, columns=80),
        _cli("table", "show", "--model", "gemma", "--src", "sw", "--database-url", sqlite_url,
             columns=80),
    ]  # fmt: skip
    for out in outputs:
        assert out.exit_code == 0, out.output
        assert "…" not in out.output  # nothing cut
        assert max(len(line) for line in out.output.splitlines()) <= 80
    listing = outputs[0].output
    assert re.search(rf"–\s+{re.escape(GEMMA)}\s+shipped\s+cldr-starter-v1\s", listing)
    assert "meta-llama/" in listing and "starter" in listing
    assert f"{best.score:.2e}" in outputs[1].output  # 4.05e-08, not 0.000000
    # Every column of the eight fits (interval, win rate, margin, run), "shipped" included.
    assert re.search(r"\d+\.\d%\s+\S+\s+shipped\s*\n", outputs[1].output)  # win rate, margin
    assert f"{best.score:.2e}" in outputs[2].output
    wide = _cli("table", "list", "--wide", "--database-url", sqlite_url, columns=200)
    assert wide.exit_code == 0 and "eng_Latn, fra_Latn" in wide.output


# ------------------------------------------------------------------------------ item 8
_text = st.text(
    st.characters(codec=None, exclude_categories=()),  # surrogates and controls included
    max_size=30,
) | st.sampled_from(["[bold]", "[/]", "[/bad]", "\x1b[31m", "\udcff", "sw", "gemma", "\x00"])


def _main(args: list[str]) -> tuple[int, str]:
    """Run the real entry point (``bridgex_chain.cli.main.run``) in CliRunner's isolation."""
    runner = CliRunner()
    with (
        runner.isolation(env={"COLUMNS": "100"}) as (_out, _err, mixed),
        mock.patch.object(sys, "argv", ["bridgex-chain", *args]),
    ):
        try:
            run()
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        return code, mixed.getvalue().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def fuzz_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}"
    BridgeTable(url).close()
    return url


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    command=st.sampled_from(
        ["show", "show-src", "import", "export", "list", "db-current", "db-upgrade"]
    ),
    value=_text,
)
def test_arbitrary_text_to_the_table_and_db_commands_never_traces_back(
    fuzz_db: str, tmp_path: Path, command: str, value: str
) -> None:
    path = str(tmp_path / (value.replace("/", "_").replace("\x00", "_").lstrip(".") or "x"))
    args = {
        "show": ["table", "show", "--model", value, "--database-url", fuzz_db],
        "show-src": ["table", "show", "--model", "gemma", "--src", value, "--trg", value,
                     "--database-url", fuzz_db],
        "import": ["table", "import", value or "x", "--database-url", fuzz_db],
        "export": ["table", "export", path, "--model", value, "--database-url", fuzz_db],
        "list": ["table", "list", "--model", value, "--database-url", fuzz_db],
        "db-current": ["db", "current", "--database-url", value],
        "db-upgrade": ["db", "upgrade", "--database-url", f"sqlite:///{path}.db"],
    }[command]  # fmt: skip
    code, output = _main(args)
    assert "Traceback" not in output
    assert code in {0, 2}, output
    if code == 2:  # ours ("error: …") or click's usage error ("Error" box)
        assert "error" in output.lower(), output
