"""The example scripts run end to end with the local model replaced by an instant fake."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bridgex_chain.chain import BridgeXChain

GEMMA = "google/gemma-3-270m"
Loader = Callable[[str], ModuleType]  # the load_example fixture


@pytest.fixture
def db(make_bridge_db: Callable[..., str]) -> str:
    scores = {
        ("swh_Latn", "swh_Latn"): {"fra_Latn": 0.41},
        ("ind_Latn", "ind_Latn"): {"eng_Latn": 0.39},
    }
    return make_bridge_db(GEMMA, scores, profile=("r", "gemma3_text", 18, 2048), probe_set_hash="h")


@pytest.fixture
def prompts(fake_example_model: Callable[[str], list[str]]) -> list[str]:
    """Replace the embedded model everywhere with the instant fake; return the prompts seen."""
    return fake_example_model("water")


def test_app_script(
    db: str, prompts: list[str], monkeypatch: pytest.MonkeyPatch, capsys: Any, load_example: Loader
) -> None:
    monkeypatch.setattr(sys, "argv", ["app.py", "--database-url", db, "--route-policy", "table"])
    load_example("app").main()
    out = capsys.readouterr().out
    assert "[swh_Latn → bridge fra_Latn (score 0.410, run 1)]" in out
    assert "[ind_Latn → bridge eng_Latn (score 0.390, run 1)]" in out
    assert "Jibu zuri." in out and "\nwater\n" in out and "\nsports\n" in out


def test_chatbot_keeps_a_thread_per_user_with_its_hint(
    db: str, prompts: list[str], load_example: Loader
) -> None:
    chatbot = load_example("chatbot")
    bot = chatbot.Chatbot(BridgeXChain(database_url=db, route_policy="table"))
    first = bot.reply("amina", "Asante")
    assert first.response_metadata["bridgex"]["detection_source"] == "override"  # the user's hint
    bot.reply("budi", "Terima kasih")
    bot.reply("amina", "Kwaheri")
    assert [m.type for m in bot.history("amina")] == ["human", "ai", "human", "ai"]
    assert len(bot.history("budi")) == 2
    assert "User: Asante\nAssistant: Jibu zuri.\nUser (Swahili): Kwaheri" in prompts[-1]


def test_chatbot_history_survives_a_restart(
    db: str, prompts: list[str], load_example: Loader, tmp_path: Path
) -> None:
    """Two bots, one after the other, on the same SQLite file: the second sees the first's turn."""
    chatbot = load_example("chatbot")
    history = str(tmp_path / "history" / "chat.sqlite")
    with chatbot.open_bot(BridgeXChain(database_url=db, route_policy="table"), history) as bot:
        bot.reply("amina", "Asante")
    with chatbot.open_bot(BridgeXChain(database_url=db, route_policy="table"), history) as bot:
        bot.reply("amina", "Kwaheri")
        assert [m.content for m in bot.history("amina")][::2] == ["Asante", "Kwaheri"]
    assert "User: Asante\nAssistant: Jibu zuri.\nUser (Swahili): Kwaheri" in prompts[-1]


def test_a_failed_turn_leaves_no_trace_in_the_thread(
    db: str, prompts: list[str], load_example: Loader, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first turn and a later one fail: the thread is as it was before each."""
    chatbot = load_example("chatbot")
    bot = chatbot.Chatbot(BridgeXChain(database_url=db, route_policy="table"))
    real = BridgeXChain.invoke

    def failing(self: BridgeXChain, request: Any, *args: Any, **kwargs: Any) -> Any:
        if "Kwaheri" in str(request):
            raise KeyboardInterrupt
        return real(self, request, *args, **kwargs)

    monkeypatch.setattr(BridgeXChain, "invoke", failing)
    with pytest.raises(KeyboardInterrupt):
        bot.reply("amina", "Kwaheri")
    assert bot.history("amina") == []
    bot.reply("amina", "Asante")
    with pytest.raises(KeyboardInterrupt):
        bot.reply("amina", "Kwaheri rafiki")
    assert [m.content for m in bot.history("amina")] == ["Asante", "Jibu zuri."]
    bot.reply("amina", "Habari")
    assert [m.content for m in bot.history("amina")][::2] == ["Asante", "Habari"]


def test_chatbot_legacy_history_is_runnable_with_message_history(
    db: str, prompts: list[str], load_example: Loader
) -> None:
    chatbot = load_example("chatbot")
    with chatbot.open_bot(BridgeXChain(database_url=db, route_policy="table"), "legacy") as bot:
        assert isinstance(bot, chatbot.HistoryChatbot)
        bot.reply("amina", "Asante")
        bot.reply("amina", "Kwaheri")
        assert [m.type for m in bot.histories["amina"].messages] == ["human", "ai", "human", "ai"]
    assert "User: Asante\nAssistant: Jibu zuri.\nUser (Swahili): Kwaheri" in prompts[-1]


def test_chatbot_one_message_and_a_bad_history_url(
    db: str,
    prompts: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
    load_example: Loader,
    tmp_path: Path,
) -> None:
    argv = ["chatbot.py", "--database-url", db, "--route-policy", "table", "--message", "Asante"]
    monkeypatch.setattr(sys, "argv", [*argv, "--history", str(tmp_path / "h.sqlite")])
    load_example("chatbot").main()
    assert capsys.readouterr().out == "bot [swh_Latn via fra_Latn]> Jibu zuri.\n"
    monkeypatch.setattr(sys, "argv", [*argv, "--history", "mysql://db/chat"])
    with pytest.raises(SystemExit) as exit_info:
        load_example("chatbot").main()
    assert exit_info.value.code == 2
    assert "error: Cannot keep chat history at 'mysql://db/chat'" in capsys.readouterr().err


def test_chatbot_demo_script(
    db: str, prompts: list[str], monkeypatch: pytest.MonkeyPatch, capsys: Any, load_example: Loader
) -> None:
    monkeypatch.setattr(
        sys,
        "argv",
        [
            "chatbot.py",
            "--user",
            "budi",
            "--demo",
            "--database-url",
            db,
            "--route-policy",
            "table",
            "--history",
            "memory",
        ],
    )
    load_example("chatbot").main()
    out = capsys.readouterr().out
    assert out.count("bot [ind_Latn via eng_Latn]> Jibu zuri.") == 3


def test_web_chat(db: str, prompts: list[str], load_example: Loader) -> None:
    web = load_example("web_chat")
    client = TestClient(web.create_app(BridgeXChain(database_url=db, route_policy="table")))
    assert "<form" in client.get("/").text
    first = client.post(
        "/chat", json={"session": "s1", "message": "Habari za asubuhi rafiki", "lang": "sw"}
    ).json()
    line = "Swahili (swh_Latn, p=1.00) → bridge French (fra_Latn), score 0.410, run 1"
    assert first == {"answer": "Jibu zuri.", "route": first["route"], "route_line": line}
    assert (first["route"]["bridge"], first["route"]["rendering"]) == ("fra_Latn", "RENDERED")
    lines = client.post("/chat/stream", json={"session": "s1", "message": "Asante", "lang": "sw"})
    events = [json.loads(line) for line in lines.text.splitlines()]
    assert events[0]["route"]["bridge"] == "fra_Latn" and events[0]["route_line"] == line
    assert "".join(e["delta"] for e in events[1:]) == "Jibu zuri."
    assert "User: Habari za asubuhi rafiki\nAssistant: Jibu zuri.\n" in prompts[-1]
    third = client.post("/chat", json={"session": "s1", "message": "Kwaheri", "lang": "sw"})
    assert "User: Asante\nAssistant: Jibu zuri.\n" in prompts[-1] and third.status_code == 200


def test_web_chat_route_line_says_why_the_evidence_policy_chose(load_example: Loader) -> None:
    web = load_example("web_chat")
    base = {"lang": "ind_Latn", "lang_name": "Indonesian", "confidence": 0.99}
    reads = {"rule": "reads_well", "competence": -4.1, "thresholds": {"max_competence": -5.38}}
    line = web.route_line({**base, "fallback": "evidence_direct", "evidence": reads})
    assert line == (
        "Indonesian (ind_Latn, p=0.99) → direct prompting (evidence_direct: the model reads "
        "Indonesian well, competence -4.10 > -5.38)"
    )
    bridged = {**base, "bridge": "eng_Latn", "bridge_name": "English", "score": 0.41, "run_id": 2}
    line = web.route_line({**bridged, "evidence": {"rule": "best_rendered"}})
    assert line.endswith("score 0.410, run 2: the best-rendered candidate (scores not separable)")
    assert web.route_line({**base, "fallback": "no_bridge"}).endswith("(no_bridge)")  # table policy
