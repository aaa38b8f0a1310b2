"""The CLI's first hour (issue 19): detect, ask, chat and build-table with hostile input.

Commands run through typer's CliRunner on :data:`bridgex_chain.cli.main.entry_app` (what the
``bridgex-chain`` entry point runs: a ``BridgeXError`` prints ``error: …`` and exits 2) or in a
subprocess with raw bytes in argv. The local model is replaced by a fake (``local_model`` is
patched, as in tests/unit/cli/test_commands_ask.py); no download, no weights.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.runnables import RunnableLambda
from typer.testing import CliRunner, Result

from bridgex_chain.cli.main import app, entry_app
from bridgex_chain.models import langchain as llm_mod

MODEL = "tiny/test-model"
SWAHILI = "Habari za asubuhi rafiki yangu, habari ya kazi?"
ENV = {"COLUMNS": "100", "HF_HUB_OFFLINE": "1", "NO_COLOR": "1"}
ANSI = re.compile("\x1b")
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
#: Text that breaks naive terminals: markup, ANSI escapes, controls, lone surrogates, bidi.
HOSTILE = st.lists(
    st.one_of(
        st.text(st.characters(exclude_categories=()), max_size=6),  # lone surrogates included
        st.sampled_from(["[", "]", "[/x]", "[bold]", "\x1b[31m", "\x1b]0;t\x07", "\x00", "\r",
                         "\u202e", "/", "\\", "-", "sw", "Habari za asubuhi"]),
    ),
    max_size=6,
).map("".join)  # fmt: skip


def invoke(*args: str, stdin: str | None = None) -> Result:
    """Run the CLI as the entry point does."""
    return CliRunner().invoke(entry_app, list(args), input=stdin, env=ENV)


def assert_clean(result: Result, *, allowed: tuple[int, ...] = (0, 2)) -> None:
    """Exit 0 or 2; 2 means ``error: …`` (or click's usage error); never a traceback."""
    assert result.exit_code in allowed, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    assert not ANSI.search(result.output), result.output
    if result.exit_code == 2:
        out = result.output
        assert out.startswith("error: ") or "Usage:" in out or "\nerror: " in out, out


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The local model: renders as 'RENDERED', answers 'Nzuri sana.', records each prompt.

    A prompt containing ``STOP`` raises KeyboardInterrupt (the user pressing Ctrl-C).
    """
    seen: dict[str, Any] = {"prompts": []}

    def reply(prompt: Any) -> str:
        text = prompt if isinstance(prompt, str) else prompt.to_string()
        seen["prompts"].append(text)
        if text.startswith("Translate"):
            return " RENDERED"
        if "STOP" in text:
            raise KeyboardInterrupt
        return " Nzuri sana."

    monkeypatch.setattr(llm_mod, "local_model", lambda name, **kw: RunnableLambda(reply))
    return seen


def _bridge_db(tmp_path: Path, score: float) -> str:
    from bridgex_chain.store.records import ModelProfile, RunRecord, ScoreRow
    from bridgex_chain.store.table import BridgeTable

    url = f"sqlite:///{tmp_path / 'bridges.db'}"
    sw, fr = "swh_Latn", "fra_Latn"
    run = RunRecord(
        ModelProfile(MODEL, "r1", "llama", 3, 64), "unit", "h1", [sw, fr], [fr], {},
        status="complete",
    )  # fmt: skip
    with BridgeTable(url) as table:
        table.upsert_run(run, [ScoreRow(sw, sw, fr, None, score)])
    return url


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A bridge table whose Swahili chat bridge is French with an HSIC-sized score."""
    return _bridge_db(tmp_path, 3.2e-08)


@pytest.fixture(scope="module")
def model_dir(
    tmp_path_factory: pytest.TempPathFactory, save_tiny_lm: Callable[[str, Path], Path]
) -> Path:
    """A tiny 3-layer Llama saved to a local directory."""
    return save_tiny_lm("llama", tmp_path_factory.mktemp("tiny-llama"))


def _build_args(model_dir: Path, tmp_path: Path, *extra: str) -> list[str]:
    return [
        "build-table", "--model", str(model_dir), "--languages", "sw", "--bridges", "en,fr",
        "--max-prompts", "4", "--database-url", f"sqlite:///{tmp_path / 'b.db'}",
        "--cache-dir", str(tmp_path / "cache"), *extra,
    ]  # fmt: skip


# --------------------------------------------------------------------------- 1. rich markup


def test_markup_and_escapes_in_values_print_verbatim(fake_model: dict[str, Any], db: str) -> None:
    out = invoke("detect", "Habari za asubuhi", "--allowed", "[/x]")
    assert_clean(out)
    assert out.exit_code == 2 and out.output.startswith("error: Unknown language '[/x]'")
    ansi = invoke("detect", "Habari za asubuhi", "--allowed", "\x1b[2J[bold]sw")
    assert_clean(ansi)
    assert "\\x1b[2J[bold]sw" in ansi.output  # shown, not executed, not styled
    lang = invoke("ask", "x", "--lang", "[red]sw[/red]", "--model", MODEL, "--database-url", db)
    assert_clean(lang)
    assert "Unknown language '[red]sw[/red]'" in lang.output
    asked = invoke("ask", "Habari [bold]x[/bold] \x1b[31m", "--lang", "sw", "--model", MODEL,
                   "--database-url", db)  # fmt: skip
    assert_clean(asked, allowed=(0,))
    assert "Nzuri sana." in asked.output


def test_entry_point_prints_markup_in_an_error_verbatim() -> None:
    env = {**os.environ, **ENV}
    proc = subprocess.run(
        [sys.executable, "-m", "bridgex_chain.cli", "detect", "Habari za asubuhi", "--allowed",
         "[/x]"],
        capture_output=True, text=True, env=env, check=False, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: Unknown language '[/x]'")
    assert "Traceback" not in proc.stderr and "MarkupError" not in proc.stderr


# --------------------------------------------------------------------------- 2. non-UTF-8 text


def test_non_utf8_argv_bytes_are_read_as_replacement_characters() -> None:
    env = {**os.environ, **ENV}
    text = SWAHILI.encode() + b" \xff\xfe"
    for extra in ([], ["--json"]):
        proc = subprocess.run(
            [sys.executable.encode(), b"-m", b"bridgex_chain.cli", b"detect", text,
             *(e.encode() for e in extra)],
            capture_output=True, env=env, check=False, timeout=120,
        )  # fmt: skip
        stdout, stderr = proc.stdout.decode(), proc.stderr.decode()
        assert proc.returncode == 0, stderr
        assert "Traceback" not in stderr
        assert "swh_Latn" in stdout
        assert "not valid UTF-8" in stderr


def test_lone_surrogates_reach_detect_and_ask_as_replacement_characters(
    fake_model: dict[str, Any], db: str
) -> None:
    for text in ("Habari za asubuhi \udcff\udcfe", "\ud800", "\udfff Habari"):
        detected = invoke("detect", text)
        assert_clean(detected, allowed=(0,))
        as_json = invoke("detect", text, "--json")
        assert_clean(as_json, allowed=(0,))
        asked = invoke("ask", text, "--model", MODEL, "--database-url", db, "--json")
        assert_clean(asked, allowed=(0,))
    assert not any(re.search("[\ud800-\udfff]", p) for p in fake_model["prompts"])
    assert any("\ufffd" in p for p in fake_model["prompts"])


# --------------------------------------------------------------------------- 3. build options


def test_build_table_options_are_checked_before_planning_or_loading(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    import bridgex_chain.models as models

    def no_load(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the model was loaded before the options were checked")

    monkeypatch.setattr(models, "load_causal_lm", no_load)
    cases = {
        ("--layers", "30-40"): "--layers: The layer window 30-40 does not fit",
        ("--device", "cuda:99"): "--device: Device 'cuda:99' is not available",
        ("--device", "quantum"): "--device: Unknown device 'quantum'",
        ("--dtype", "int8"): "--dtype: Unknown dtype 'int8'",
    }
    if not torch.cuda.is_available():
        cases[("--device", "cuda")] = "--device: Device 'cuda' is not available"
    for (option, value), message in cases.items():
        for dry in (["--dry-run"], []):
            result = invoke(*_build_args(model_dir, tmp_path, option, value, *dry))
            assert_clean(result, allowed=(2,))
            assert message in " ".join(result.output.split()), result.output
    assert not (tmp_path / "b.db").exists() and not (tmp_path / "cache").exists()
    plan = invoke(*_build_args(model_dir, tmp_path, "--layers", "1-2", "--dry-run"))
    assert plan.exit_code == 0, plan.output
    assert "1–2" in plan.output


def test_missing_hub_model_names_the_current_download_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bridgex_chain.errors import ModelNotAvailable
    from bridgex_chain.models import load_causal_lm

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = CliRunner().invoke(
        entry_app, ["build-table", "--model", "mistral", "--dry-run"],
        env={**ENV, "HF_HUB_CACHE": str(tmp_path / "empty-hub")},
    )  # fmt: skip
    assert_clean(result, allowed=(2,))
    flat = " ".join(result.output.split())
    assert "hf download mistralai/Mistral-7B-Instruct-v0.3" in flat
    assert "huggingface-cli" not in flat
    with pytest.raises(ModelNotAvailable) as info:
        load_causal_lm("mistral")
    assert "'hf download mistralai/Mistral-7B-Instruct-v0.3'" in str(info.value)
    assert "huggingface-cli" not in str(info.value)


# --------------------------------------------------------------------------- 5. readable output


def test_ask_prints_hsic_sized_scores_readably(fake_model: dict[str, Any], db: str) -> None:
    result = invoke(
        "ask",
        SWAHILI,
        "--lang",
        "sw",
        "--model",
        MODEL,
        "--database-url",
        db,
        "--route-policy",
        "table",
    )
    assert_clean(result, allowed=(0,))
    assert "score 3.200e-08" in result.output and "score 0.000" not in result.output


def _description_starts(out: str, helps: list[str]) -> list[tuple[str, int, int]]:
    """(help, column where it starts, width of the description column) per option row."""
    found = []
    for line in out.splitlines():
        for text in helps:
            start = line.find(text[:14])
            if start > 0 and line.startswith("│"):
                found.append((text, start, len(line.rstrip()) - 1 - start))
    return found


@pytest.mark.parametrize(
    "command",
    [
        ("build-table",),
        ("ask",),
        ("chat",),
        ("detect",),
        ("eval",),
        ("table", "show"),
        ("table", "list"),
        ("table", "import"),
        ("table", "export"),
        ("db", "current"),
        ("db", "upgrade"),
    ],
)
def test_help_at_100_columns_is_readable(command: tuple[str, ...]) -> None:
    out = CliRunner().invoke(app, [*command, "--help"], env={**ENV, "COLUMNS": "100"}).output
    for metavar in ("{text}", "<bool>", "<str>", "<path>", "<int>"):
        assert metavar not in out, out
    found: Any = typer.main.get_command(app)
    for name in command:
        found = found.commands[name]
    params = found.params
    helps = [p.help for p in params if getattr(p, "help", None)]
    rows = _description_starts(out, helps)
    assert len(rows) >= len(helps) - 1, (rows, out)  # every option's help is on its row
    narrow = [(text[:20], width) for text, _, width in rows if width < 40]
    assert narrow == [], out


# --------------------------------------------------------------------------- 6. chat


def test_chat_slash_commands_are_handled_locally(fake_model: dict[str, Any], db: str) -> None:
    stdin = "/help\n/lang\n/lang [bold]nope\n/lang sw\n/frobnicate\n//etc ni njia\nHabari\n/quit\n"
    result = invoke("chat", "--model", MODEL, "--database-url", db, stdin=stdin)
    assert_clean(result, allowed=(0,))
    out = result.output
    assert "/lang CODE" in out and "/quit" in out  # the help
    assert "language: detected per message" in out
    assert "Unknown language '[bold]nope'" in out
    assert "language: swh_Latn (Swahili)" in out
    assert "unknown command /frobnicate" in out
    answers = [p for p in fake_model["prompts"] if not p.startswith("Translate")]
    assert len(answers) == 2  # '//etc ni njia' (sent as '/etc ni njia') and 'Habari'
    assert all("/help" not in p and "/lang" not in p and "frobnicate" not in p for p in answers)
    assert "/etc ni njia" in answers[0]


def test_ctrl_c_during_a_turn_cancels_only_that_turn(fake_model: dict[str, Any], db: str) -> None:
    stdin = "Habari yako?\nSTOP tafadhali\nAsante sana\n"
    result = invoke("chat", "--lang", "sw", "--model", MODEL, "--database-url", db, stdin=stdin)
    assert_clean(result, allowed=(0,))
    assert "turn cancelled" in result.output
    assert result.output.count("Nzuri sana.") == 2
    last = [p for p in fake_model["prompts"] if not p.startswith("Translate")][-1]
    assert "Habari yako?" in last and "STOP" not in last  # the cancelled turn left no trace


def test_ctrl_c_or_ctrl_d_at_the_prompt_ends_the_chat(
    fake_model: dict[str, Any], db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rich.console import Console

    eof = invoke("chat", "--lang", "sw", "--model", MODEL, "--database-url", db, stdin="")
    assert_clean(eof, allowed=(0,))

    def ctrl_c(self: Console, *args: Any, **kwargs: Any) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(Console, "input", ctrl_c)
    interrupted = invoke("chat", "--lang", "sw", "--model", MODEL, "--database-url", db)
    assert_clean(interrupted, allowed=(0,))
    assert "Aborted" not in interrupted.output
    assert fake_model["prompts"] == []


# --------------------------------------------------------------------------- 7. properties


@FUZZ
@given(text=HOSTILE, allowed=st.one_of(st.none(), HOSTILE))
def test_any_text_to_detect_exits_cleanly(text: str, allowed: str | None) -> None:
    args = ["detect", text] if allowed is None else ["detect", text, "--allowed", allowed]
    for extra in ([], ["--json"]):
        assert_clean(invoke(*args, *extra))


@FUZZ
@given(text=HOSTILE, lang=st.one_of(st.none(), st.just("sw"), HOSTILE))
def test_any_text_to_ask_exits_cleanly(
    fake_model: dict[str, Any], db: str, text: str, lang: str | None
) -> None:
    args = ["ask", text, "--model", MODEL, "--database-url", db]
    if lang is not None:
        args += ["--lang", lang]
    assert_clean(invoke(*args))
    assert_clean(invoke(*args, "--json"))


_BUILD_OPTIONS = ["--languages", "--bridges", "--pairs", "--layers", "--device", "--dtype",
                  "--hsic-mode", "--top-rate", "--batch-size", "--max-prompts"]  # fmt: skip


@pytest.fixture
def no_planning(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """``plan_build`` replaced: the property checks the options, not the model's config."""
    import bridgex_chain.probing.plan as plan_mod

    calls: list[Any] = []

    def fake_plan(model: Any, *, options: Any) -> Any:
        calls.append(options)
        raise typer.Exit(0)

    monkeypatch.setattr(plan_mod, "plan_build", fake_plan)
    yield calls


@FUZZ
@given(values=st.dictionaries(st.sampled_from(_BUILD_OPTIONS), HOSTILE, max_size=3))
def test_any_build_table_option_values_exit_cleanly(
    no_planning: list[Any], values: dict[str, str]
) -> None:
    args = ["build-table", "--dry-run"]
    for option, value in values.items():
        args += [option, value]
    assert_clean(invoke(*args))


@FUZZ
@given(lines=st.lists(HOSTILE, max_size=4))
def test_any_lines_to_chat_exit_cleanly(
    fake_model: dict[str, Any], db: str, lines: list[str]
) -> None:
    # stdin carries bytes: a lone surrogate arrives as the bytes no UTF-8 decoder accepts
    text = "".join(line.replace("\n", " ") + "\n" for line in lines) + "/quit\n"
    stdin = text.encode("utf-8", "surrogatepass")
    args = ["chat", "--model", MODEL, "--database-url", db]
    result = CliRunner().invoke(entry_app, args, input=stdin, env=ENV)
    assert_clean(result, allowed=(0,))


def _inside(root: Path, name: str) -> str:
    """A path under ``root`` named after arbitrary text (no separators, no dots: stays inside)."""
    return str(root / ("x" + "".join(c if c not in "/\\.\x00" else "_" for c in name)))


@FUZZ
@given(sib200=HOSTILE, out=HOSTILE, languages=HOSTILE, table_json=HOSTILE)
def test_any_paths_and_values_to_eval_exit_cleanly(
    fake_model: dict[str, Any],
    tmp_path: Path,
    sib200: str,
    out: str,
    languages: str,
    table_json: str,
) -> None:
    args = ["eval", "classify", "--sib200", sib200 or "none", "--out", _inside(tmp_path, out)]
    args += ["--languages", languages or "sw", "--limit", "2", "--table-json", table_json or "no"]
    assert_clean(invoke(*args))


_BUILD_PATHS = ["--model", "--lexicon", "--corpus", "--cache-dir", "--export", "--database-url"]


@FUZZ
@given(values=st.dictionaries(st.sampled_from(_BUILD_PATHS), HOSTILE, min_size=1, max_size=3))
def test_any_build_table_paths_exit_cleanly(
    no_planning: list[Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    values: dict[str, str],
) -> None:
    monkeypatch.chdir(tmp_path)  # relative paths land in the test's own directory
    args = ["build-table", "--dry-run"]
    for option, value in values.items():
        args += [option, value]
    assert_clean(invoke(*args))
