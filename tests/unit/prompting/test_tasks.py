"""Exact prompts of every task kind, bridged and direct, completion and chat style."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from bridgex_chain.errors import BridgeXError
from bridgex_chain.prompting.demos import Demo, DemoPool
from bridgex_chain.prompting.tasks import plan_prompts
from bridgex_chain.prompting.templates import Lang, ModelPrompt, PromptPlan, PromptRequest

SW = Lang("swh_Latn", "Swahili")
FR = Lang("fra_Latn", "French")
EN = Lang("eng_Latn", "English")

POOL = DemoPool(
    [
        Demo(
            "d1",
            {
                "swh_Latn": "Timu ilishinda mechi",
                "fra_Latn": "L'équipe a gagné le match",
                "eng_Latn": "The team won the match",
            },
            "sports",
        ),
        Demo(
            "d2",
            {
                "swh_Latn": "Bunge lilipitisha sheria",
                "fra_Latn": "Le parlement a adopté la loi",
                "eng_Latn": "Parliament passed the law",
            },
            "politics",
        ),
    ]
)


def one_demo(text: str, langs: Sequence[str], labelled: bool) -> list[Demo]:
    return POOL.select(text, 1, langs=langs, labelled=labelled, query_lang="swh_Latn")


def run(req: PromptRequest, replies: Sequence[str] = ()) -> tuple[list[ModelPrompt], PromptPlan]:
    """Drive the planner, answering each rendering call with the next reply."""
    planner = plan_prompts(req)
    calls: list[ModelPrompt] = []
    answers = iter(replies)
    try:
        prompt = next(planner)
        while True:
            calls.append(prompt)
            prompt = planner.send(next(answers))
    except StopIteration as done:
        return calls, done.value


def messages(prompt: Any) -> list[tuple[str, str]]:
    assert isinstance(prompt, list)
    return [(m.type, m.text) for m in prompt]


def req(task: str, style: str = "completion", **kw: Any) -> PromptRequest:
    base: dict[str, Any] = {"query": "Habari yako?", "src": SW, "answer": SW, "bridge": FR}
    base.update(kw)
    return PromptRequest(task=task, style=style, **base)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- chat


def test_chat_completion_bridged_two_calls_with_history() -> None:
    history = (HumanMessage("Jambo"), AIMessage("Jambo! Karibu."))
    calls, plan = run(req("chat", history=history, demos=one_demo), [" Comment vas-tu ?\nx"])
    assert len(calls) == 1 and calls[0].purpose == "render"
    assert calls[0].prompt == (
        "Translate the following text from Swahili into French.\n\n"
        "Swahili: Bunge lilipitisha sheria\nFrench: Le parlement a adopté la loi\n\n"
        "Swahili: Habari yako?\nFrench:"
    )
    assert calls[0].stop == ("\n",)
    assert plan.rendering == "Comment vas-tu ?"
    assert plan.demo_ids == ["d2"]
    assert plan.answer.prompt == (
        "The following is a conversation between a user and a helpful assistant. "
        "The assistant replies in Swahili.\n\n"
        "User: Jambo\nAssistant: Jambo! Karibu.\n"
        "User (Swahili): Habari yako?\nUser (French): Comment vas-tu ?\nAssistant (Swahili):"
    )
    assert plan.answer.stop == ("\nUser", "\nAssistant", "\n\n")
    assert plan.note is None


def test_chat_completion_direct_known_and_unknown_language() -> None:
    calls, plan = run(req("chat", bridge=None))
    assert calls == []
    assert plan.answer.prompt == (
        "The following is a conversation between a user and a helpful assistant. "
        "The assistant replies in Swahili.\n\nUser: Habari yako?\nAssistant (Swahili):"
    )
    _, plan = run(req("chat", src=None, answer=None, bridge=None))
    assert plan.answer.prompt == (
        "The following is a conversation between a user and a helpful assistant.\n\n"
        "User: Habari yako?\nAssistant:"
    )


def test_chat_empty_rendering_falls_back_to_direct_with_a_note() -> None:
    _, plan = run(req("chat"), ["\n"])
    assert plan.note == "empty_rendering"
    assert "User (French)" not in str(plan.answer.prompt)


def test_chat_style_bridged_merges_system_and_keeps_trailing_tool_turn() -> None:
    history = (SystemMessage("You are Juma, a farming assistant."), HumanMessage("Jambo"))
    trailing: tuple[BaseMessage, ...] = (
        AIMessage("", tool_calls=[{"name": "weather", "args": {}, "id": "c1"}]),
        ToolMessage("sunny", tool_call_id="c1"),
    )
    calls, plan = run(req("chat", "chat", history=history, trailing=trailing), ["Comment vas-tu ?"])
    assert messages(calls[0].prompt) == [
        (
            "system",
            "Translate the user's text from Swahili into French. Reply with the translation only.",
        ),
        ("human", "Habari yako?"),
    ]
    assert calls[0].stop == ()
    got = messages(plan.answer.prompt)
    assert got[0] == (
        "system",
        "Reply in Swahili. The user's last message is followed by its French translation to "
        "help you understand it.\n\nYou are Juma, a farming assistant.",
    )
    assert got[1:3] == [("human", "Jambo"), ("human", "Habari yako?\n\n(French: Comment vas-tu ?)")]
    assert got[3][0] == "ai" and got[4] == ("tool", "sunny")


def test_chat_style_direct_passes_messages_unchanged_when_language_unknown() -> None:
    _, plan = run(req("chat", "chat", src=None, answer=None, bridge=None))
    assert messages(plan.answer.prompt) == [("human", "Habari yako?")]
    _, plan = run(req("chat", "chat", bridge=None))
    assert messages(plan.answer.prompt) == [
        ("system", "Reply in Swahili."),
        ("human", "Habari yako?"),
    ]


# --------------------------------------------------------------------------- translate


def test_translate_word_two_hop_form() -> None:
    calls, plan = run(req("translate", query="maji", answer=EN), ['eau" means water'])
    assert calls[0].prompt == 'Swahili:"maji"→French:"'
    assert calls[0].stop == ('"', "\n", "→")
    assert plan.rendering == "eau"
    assert plan.answer.prompt == 'Swahili:"maji"→French:"eau"→English:"'
    assert plan.answer.stop == ('"', "\n", "→")
    _, direct = run(req("translate", query="maji", answer=EN, bridge=None))
    assert direct.answer.prompt == 'Swahili:"maji"→English:"'


def test_translate_sentence_with_parallel_demos() -> None:
    calls, plan = run(
        req("translate", query="Timu yetu ilishinda jana", answer=EN, demos=one_demo),
        [" Notre équipe a gagné hier"],
    )
    assert calls[0].prompt == (
        "Translate the following text from Swahili into French.\n\n"
        "Swahili: Timu ilishinda mechi\nFrench: L'équipe a gagné le match\n\n"
        "Swahili: Timu yetu ilishinda jana\nFrench:"
    )
    assert plan.answer.prompt == (
        "Translate the following text from Swahili into English.\n\n"
        "Swahili: Timu ilishinda mechi\nFrench: L'équipe a gagné le match\n"
        "English: The team won the match\n\n"
        "Swahili: Timu yetu ilishinda jana\nFrench: Notre équipe a gagné hier\nEnglish:"
    )
    assert plan.demo_ids == ["d1"]


def test_translate_sentence_direct_and_unknown_source_and_chat_style() -> None:
    _, plan = run(req("translate", query="Timu yetu ilishinda jana", answer=EN, bridge=None))
    assert plan.answer.prompt == (
        "Translate the following text from Swahili into English.\n\n"
        "Swahili: Timu yetu ilishinda jana\nEnglish:"
    )
    _, plan = run(req("translate", query="Timu yetu", answer=EN, src=None, bridge=None))
    assert (
        plan.answer.prompt
        == "Translate the following text into English.\n\nText: Timu yetu\nEnglish:"
    )
    _, plan = run(req("translate", "chat", query="maji", answer=EN), ["l'eau"])
    assert messages(plan.answer.prompt) == [
        (
            "system",
            "Translate the user's text from Swahili into English. A French translation is given "
            "to help you. Reply with the English translation only.",
        ),
        ("human", "Swahili: maji\nFrench: l'eau"),
    ]


def test_translate_needs_a_different_target() -> None:
    with pytest.raises(BridgeXError, match="answer_language"):
        run(req("translate", query="maji"))


# --------------------------------------------------------------------------- classify


def test_classify_completion_bridged_demos_in_bridge_language() -> None:
    calls, plan = run(
        req(
            "classify",
            query="Timu yetu ilishinda jana",
            demos=one_demo,
            fields={"labels": ["sports", "politics"]},
        ),
        [" Notre équipe a gagné hier"],
    )
    assert calls[0].purpose == "render"
    assert plan.answer.prompt == (
        "Classify each text into one of these labels: sports, politics.\n\n"
        "French: L'équipe a gagné le match\nLabel: sports\n\n"
        "Swahili: Timu yetu ilishinda jana\nFrench: Notre équipe a gagné hier\nLabel:"
    )
    assert plan.choices == ("sports", "politics") and not plan.letters
    assert plan.demo_ids == ["d1"]
    assert plan.content_free == (
        "Classify each text into one of these labels: sports, politics.\n\n"
        "French: L'équipe a gagné le match\nLabel: sports\n\n"
        "Swahili: N/A\nFrench: N/A\nLabel:"
    )


def test_classify_direct_demos_in_query_language_and_chat_style() -> None:
    fields = {"labels": ["sports", "politics"]}
    _, plan = run(req("classify", query="Bunge jipya", bridge=None, demos=one_demo, fields=fields))
    assert plan.answer.prompt == (
        "Classify each text into one of these labels: sports, politics.\n\n"
        "Text: Bunge lilipitisha sheria\nLabel: politics\n\nText: Bunge jipya\nLabel:"
    )
    _, plan = run(
        req("classify", "chat", query="Bunge jipya", demos=one_demo, fields=fields),
        ["Nouveau parlement"],
    )
    assert messages(plan.answer.prompt) == [
        (
            "system",
            "Classify the user's text into exactly one of these labels: sports, politics. "
            "Reply with the label only.",
        ),
        ("human", "French: Le parlement a adopté la loi"),
        ("ai", "politics"),
        ("human", "Swahili: Bunge jipya\nFrench: Nouveau parlement"),
    ]


def test_classify_needs_labels() -> None:
    with pytest.raises(BridgeXError, match="labels"):
        run(req("classify", bridge=None))


# --------------------------------------------------------------------------- reading


def test_reading_renders_the_passage_then_asks_with_options() -> None:
    fields = {"passage": "Timu ilishinda mechi jana.", "options": ["Timu", "Bunge"]}
    calls, plan = run(
        req("reading", query="Nani alishinda?", fields=fields), [" L'équipe a gagné le match hier."]
    )
    assert calls[0].prompt == (
        "Translate the following text from Swahili into French.\n\n"
        "Swahili: Timu ilishinda mechi jana.\nFrench:"
    )
    assert plan.answer.prompt == (
        "Read the passage and answer the question.\n\n"
        "Passage: L'équipe a gagné le match hier.\n\n"
        "Question: Nani alishinda?\nA. Timu\nB. Bunge\nAnswer:"
    )
    assert plan.choices == ("Timu", "Bunge") and plan.letters
    assert plan.content_free == (
        "Read the passage and answer the question.\n\nPassage: N/A\n\n"
        "Question: N/A\nA. Timu\nB. Bunge\nAnswer:"
    )
    _, plan = run(req("reading", "chat", query="Nani alishinda?", bridge=None, fields=fields))
    assert messages(plan.answer.prompt) == [
        (
            "system",
            "Read the passage and answer the question. Reply with the letter of the "
            "correct option only.",
        ),
        (
            "human",
            "Passage: Timu ilishinda mechi jana.\n\nQuestion: Nani alishinda?\nA. Timu\nB. Bunge",
        ),
    ]


def test_reading_multiline_passage_stops_at_blank_line() -> None:
    fields = {"passage": "Mstari wa kwanza.\nMstari wa pili.", "options": ["a", "b"]}
    calls, _ = run(req("reading", query="Swali?", fields=fields), ["Ligne un.\nLigne deux."])
    assert calls[0].stop == ("\n\n",)


def test_reading_needs_passage_and_options() -> None:
    with pytest.raises(BridgeXError, match="passage"):
        run(req("reading", fields={"passage": "x"}))


def test_unknown_task() -> None:
    with pytest.raises(BridgeXError, match="Unknown task"):
        run(req("summarise"))
