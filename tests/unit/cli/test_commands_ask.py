"""The ``ask`` and ``chat`` commands, with the local model replaced by a recording fake."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.runnables import RunnableLambda
from typer.testing import CliRunner

from bridgex_chain.cli.commands_ask import route_line
from bridgex_chain.cli.main import app
from bridgex_chain.models import langchain as llm_mod

MODEL = "tiny/test-model"  # a key no shipped table uses
SWAHILI = "Ninataka kujua hali ya hewa ya kesho katika mji wa Mombasa."
ENV = {"COLUMNS": "200", "HF_HUB_OFFLINE": "1", "NO_COLOR": "1"}


@pytest.fixture
def db(make_bridge_db: Callable[..., str]) -> str:
    scores = {("swh_Latn", "swh_Latn"): {"fra_Latn": 0.412}}
    return make_bridge_db(MODEL, scores, profile=("r1", "llama", 3, 64))


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Replace the local model: renders as 'RENDERED', answers 'Nzuri sana.'; records prompts."""
    seen: dict[str, Any] = {"prompts": [], "loads": []}

    def reply(prompt: Any) -> str:
        text = prompt if isinstance(prompt, str) else prompt.to_string()
        seen["prompts"].append(text)
        if text.startswith("Translate"):
            return " RENDERED"
        if text.endswith("Label:"):
            return " Sports"
        return " Nzuri sana.\nUser: more"

    def load(name: str | None, **kwargs: Any) -> Any:
        seen["loads"].append((name, kwargs))
        return RunnableLambda(reply)

    monkeypatch.setattr(llm_mod, "local_model", load)
    return seen


def run(*args: str, stdin: str | None = None) -> Any:
    """Run the CLI; ask and chat under the table policy unless the test names one (the
    fixture's table has no render checks, so the default evidence policy goes direct)."""
    argv = list(args)
    if argv[0] in ("ask", "chat") and "--route-policy" not in argv:
        argv += ["--route-policy", "table"]
    result = CliRunner().invoke(app, argv, input=stdin, env=ENV)
    return result


def test_ask_under_the_default_evidence_policy_says_why_it_goes_direct(
    db: str, fake_model: dict[str, Any]
) -> None:
    result = run(
        "ask", SWAHILI, "--model", MODEL, "--database-url", db, "--route-policy", "evidence"
    )
    assert result.exit_code == 0, result.output
    assert "→ direct (no_evidence: the bridge table holds no competence" in result.output
    bad = run("ask", SWAHILI, "--model", MODEL, "--database-url", db, "--route-policy", "often")
    assert bad.exit_code == 2 and "evidence, table, english, direct" in bad.output


def test_ask_prints_route_then_answer(db: str, fake_model: dict[str, Any]) -> None:
    result = run("ask", SWAHILI, "--model", MODEL, "--database-url", db, "--max-new-tokens", "64")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert re.match(r"swh_Latn \(Swahili, confidence (0\.9\d|1\.00)\)", lines[0]), lines[0]
    assert lines[0].endswith("→ bridge fra_Latn (French), score 0.412, run 1")
    assert lines[1] == "Nzuri sana."
    assert fake_model["loads"] == [(MODEL, {"max_new_tokens": 64})]
    assert "User (French): RENDERED\nAssistant (Swahili):" in fake_model["prompts"][1]


def test_ask_json_and_language_options(db: str, fake_model: dict[str, Any]) -> None:
    result = run("ask", "ok", "--lang", "sw", "--model", MODEL, "--database-url", db, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["answer"] == "Nzuri sana."
    assert (out["bridgex"]["lang"], out["bridgex"]["bridge"]) == ("swh_Latn", "fra_Latn")
    assert out["bridgex"]["detection_source"] == "override"


def test_ask_shows_a_fallback(db: str, fake_model: dict[str, Any]) -> None:
    result = run("ask", "Sannu, yaya kake?", "--lang", "ha", "--model", MODEL, "--database-url", db)
    assert result.exit_code == 0, result.output
    assert "hau_Latn (Hausa, confidence 1.00) → direct (no_bridge:" in result.output
    assert len(fake_model["prompts"]) == 1


def test_ask_classify_with_labels(db: str, fake_model: dict[str, Any]) -> None:
    result = run(
        "ask",
        "Timu yetu ilishinda",
        "--lang",
        "sw",
        "--task",
        "classify",
        "--label",
        "politics",
        "--label",
        "sports",
        "--model",
        MODEL,
        "--database-url",
        db,
        "--json",
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert (out["answer"], out["bridgex"]["choice_index"]) == ("sports", 1)
    assert "labels: politics, sports" in fake_model["prompts"][-1]


def test_ask_rejects_an_unknown_task(db: str, fake_model: dict[str, Any]) -> None:
    result = run("ask", "x", "--task", "summarise", "--database-url", db)
    assert result.exit_code == 2
    assert "chat, translate, classify" in result.output


def test_chat_keeps_history_and_shows_each_route(db: str, fake_model: dict[str, Any]) -> None:
    stdin = "Habari yako?\n\n/reset\nHabari za kazi?\nAsante sana\n/exit\n"
    result = run("chat", "--lang", "sw", "--model", MODEL, "--database-url", db, stdin=stdin)
    assert result.exit_code == 0, result.output
    assert result.output.count("→ bridge fra_Latn (French)") == 3
    assert result.output.count("Nzuri sana.") == 3
    assert "conversation cleared" in result.output
    answers = [p for p in fake_model["prompts"] if not p.startswith("Translate")]
    assert "User: Habari yako?" not in answers[1]  # forgotten by /reset
    assert answers[2].endswith(
        "User: Habari za kazi?\nAssistant: Nzuri sana.\nUser (Swahili): Asante sana\n"
        "User (French): RENDERED\nAssistant (Swahili):"
    )


def test_chat_ends_on_end_of_input(db: str, fake_model: dict[str, Any]) -> None:
    result = run("chat", "--lang", "sw", "--model", MODEL, "--database-url", db, stdin="Habari?\n")
    assert result.exit_code == 0, result.output
    assert "Nzuri sana." in result.output


def test_route_line_escapes_what_it_did_not_write_and_shows_small_scores() -> None:
    line = route_line({"lang": "swh_Latn", "lang_name": "[bold]x", "confidence": 0.9,
                       "bridge": "fra_Latn", "bridge_name": "French", "score": 4e-9,
                       "run_id": "[/x]"})  # fmt: skip
    assert "\\[bold]x" in line and "run \\[/x]" in line and "score 4.000e-09" in line
    fallback = route_line({"lang": "unknown", "confidence": 0.1, "fallback": "unknown_language",
                           "fallback_detail": "[red]\nx"})  # fmt: skip
    assert fallback.endswith("(unknown_language: \\[red]\\x0ax)")


def test_chat_help_and_unknown_commands_stay_local(db: str, fake_model: dict[str, Any]) -> None:
    stdin = "/help\n/nope\n/lang fr\n/lang auto\n/exit\n"
    result = run("chat", "--model", MODEL, "--database-url", db, stdin=stdin)
    assert result.exit_code == 0, result.output
    assert "/lang CODE" in result.output and "unknown command /nope" in result.output
    assert "language: fra_Latn (French)" in result.output
    assert "language: detected per message" in result.output
    assert fake_model["prompts"] == []
