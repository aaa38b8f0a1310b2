"""What a new user feeds the chain and the detector in the first hour (issue 19).

Odd text (lone surrogates, control characters, markup, bytes), odd shapes (a string where a list
belongs, keywords on ``invoke``, a string to the tool), empty queries and English queries: each
gives an answer, a documented fallback or a ``BridgeXError`` that says what to pass. The
property-based tests feed arbitrary text to the detector, ``as_detector``, ``parse_input`` and
the chain (with fake models, offline).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import cache
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableLambda

from bridgex_chain.chain import BridgeXChain
from bridgex_chain.chain.request import ChainRequest, parse_input
from bridgex_chain.chain.route import Fallback
from bridgex_chain.detect import Detection, FastTextDetector, as_detector
from bridgex_chain.errors import BridgeXError, InvalidInput, NoBridgeFound
from bridgex_chain.store.records import Bridge

SWAHILI = "Habari za asubuhi rafiki yangu, unaendeleaje leo?"
KEY = "demo/model"


class Table:
    """A dict-backed BridgeLookup: French bridges Swahili, Spanish bridges Indonesian."""

    def __init__(self, bridges: dict[str, str] | None = None) -> None:
        default = {"swh_Latn": "fra_Latn", "ind_Latn": "spa_Latn", "zsm_Latn": "spa_Latn"}
        self.bridges = default if bridges is None else bridges
        self.asked: list[str] = []

    def best(self, model: str, src: str, trg: str | None = None) -> Bridge:
        self.asked.append(src)
        if src not in self.bridges:
            raise NoBridgeFound(f"no row for {model} {src}")
        return Bridge(model, src, trg or src, self.bridges[src], 1e-8, 2e-9, 1)


class Recording:
    """A completion model that records its prompts and checks they are valid UTF-8."""

    def __init__(self, replies: tuple[str, ...] = ("Rendered text.", "Sawa sawa.")) -> None:
        self.prompts: list[str] = []
        self.replies = replies

    def __call__(self, prompt: Any) -> str:
        text = str(prompt)
        text.encode("utf-8")  # a tokenizer or a provider's client needs encodable text
        self.prompts.append(text)
        return self.replies[(len(self.prompts) - 1) % len(self.replies)]


def make_chain(
    llm: Any = None, detector: Any = None, table: Any = None, **kwargs: Any
) -> BridgeXChain:
    return BridgeXChain(
        llm=RunnableLambda(llm if llm is not None else Recording()),
        detector=detector,
        table=table if table is not None else Table(),
        model=KEY,
        render_cache_size=0,  # every rendering is a call: the fake's replies alternate
        **kwargs,
    )


def meta(reply: AIMessage) -> dict[str, Any]:
    found: dict[str, Any] = reply.response_metadata["bridgex"]
    return found


@cache
def fasttext() -> FastTextDetector:
    return FastTextDetector()


# ------------------------------------------------------------------------- 1. lone surrogates
def test_lone_surrogates_are_replaced_before_detection_and_before_the_model() -> None:
    detection = fasttext().detect("Habari za asubuhi \udcff\udcfe")
    assert detection.lang == "swh_Latn"
    assert fasttext().detect("\udcff\udcfe \ud800").reason == "no-letters"  # U+FFFD: no letter
    llm = Recording()
    chain = make_chain(llm, detector=fasttext())
    reply = chain.invoke("\udcff " + SWAHILI)
    assert meta(reply)["lang"] == "swh_Latn" and meta(reply)["bridge"] == "fra_Latn"
    assert llm.prompts and all("\ufffd " + SWAHILI in p for p in llm.prompts)
    history = [HumanMessage("Jambo \udcff"), AIMessage("Jambo!"), HumanMessage(SWAHILI)]
    chunks = list(chain.stream(history))
    assert "".join(str(c.content) for c in chunks) == "Sawa sawa."
    assert "Jambo \ufffd" in llm.prompts[-1]  # the history is made encodable too


# ------------------------------------------------------------------------- 2. bytes
def test_bytes_input_is_decoded_as_utf8_or_refused_with_what_to_pass() -> None:
    chain = make_chain(detector=fasttext())
    by_bytes = chain.invoke(SWAHILI.encode("utf-8"))
    assert meta(by_bytes)["lang"] == "swh_Latn" and by_bytes.content == "Sawa sawa."
    assert meta(chain.invoke({"query": "\ufeffHabari".encode(), "lang": "sw"}))["lang"] == (
        "swh_Latn"
    )
    for bad in (b"Habari \xff\xfe", {"query": SWAHILI.encode("utf-16")}):
        with pytest.raises(InvalidInput, match=r"not UTF-8 .*decode them yourself"):
            chain.invoke(bad)


# ------------------------------------------------------------------------- 3. the tool
class Runs(BaseCallbackHandler):
    """Records every run's parent."""

    def __init__(self) -> None:
        self.parents: dict[str, UUID | None] = {}
        self.ids: dict[str, UUID] = {}

    def _seen(self, name: str, run_id: UUID, parent_run_id: UUID | None) -> None:
        self.parents[name], self.ids[name] = parent_run_id, run_id

    def on_tool_start(self, serialized: Any, input_str: str, **kw: Any) -> None:
        self._seen("tool", kw["run_id"], kw.get("parent_run_id"))

    def on_chain_start(self, serialized: Any, inputs: Any, **kw: Any) -> None:
        self._seen(kw.get("name") or "chain", kw["run_id"], kw.get("parent_run_id"))


def test_tool_takes_a_plain_string_as_the_query_and_nests_the_chain_runs() -> None:
    tool = make_chain(detector=lambda _: "sw").as_tool()
    assert tool.invoke(SWAHILI) == "Sawa sawa."
    assert asyncio.run(tool.ainvoke(SWAHILI)) == "Sawa sawa."
    for given_input in (SWAHILI, {"type": "tool_call", "id": "c1", "name": tool.name,
                                  "args": {"query": SWAHILI, "lang": "sw"}}):  # fmt: skip
        runs = Runs()
        out = tool.invoke(given_input, {"callbacks": [runs]})
        assert runs.parents["BridgeXChain"] == runs.ids["tool"]  # the chain nests under the tool
        assert runs.parents["detect"] == runs.ids["BridgeXChain"]
        if isinstance(out, ToolMessage):
            assert out.artifact["bridge"] == "fra_Latn"


# ------------------------------------------------------------------------- 4. string labels
@pytest.mark.parametrize(
    "request_",
    [
        {"query": SWAHILI, "task": "classify", "labels": "sports"},
        {"query": "Mji mkuu?", "task": "reading", "passage": SWAHILI, "options": "Nairobi"},
        {"query": SWAHILI, "task": "classify", "labels": [1, 2]},
    ],
    ids=["labels-string", "options-string", "labels-not-strings"],
)
def test_a_string_where_a_list_of_labels_or_options_belongs_is_invalid_input(
    request_: dict[str, Any],
) -> None:
    llm = Recording()
    with pytest.raises(InvalidInput, match=r"must be a list of strings.*\['"):
        make_chain(llm, detector=lambda _: "sw").invoke(request_)
    assert llm.prompts == []
    ok = {"query": SWAHILI, "task": "classify", "labels": ["sports", "politics"]}
    reply = make_chain(Recording(("Habari", "sports")), detector=lambda _: "sw").invoke(ok)
    assert reply.content == "sports"


# ------------------------------------------------------------------------- 5. call keywords
def test_call_keywords_are_used_everywhere_and_unknown_ones_refused() -> None:
    chain = make_chain(detector=lambda _: "tl")  # the detector would say Tagalog
    assert meta(chain.invoke("Apa kabar?", lang="id"))["lang"] == "ind_Latn"
    assert meta(asyncio.run(chain.ainvoke("Apa kabar?", lang="id")))["lang"] == "ind_Latn"
    assert meta(next(iter(chain.stream("Apa kabar?", lang="id"))))["lang"] == "ind_Latn"

    async def first_chunk() -> AIMessage:
        async for chunk in chain.astream("Apa kabar?", lang="id"):
            return chunk
        raise AssertionError("no chunk")

    assert meta(asyncio.run(first_chunk()))["lang"] == "ind_Latn"
    batch = chain.batch(["Apa kabar?", "Selamat pagi"], lang="id")
    assert [meta(r)["lang"] for r in batch] == ["ind_Latn", "ind_Latn"]
    bound = chain.bind(lang="id", answer_language="en")
    assert (meta(bound.invoke("Apa kabar?"))["answer_language"]) == "eng_Latn"
    translated = chain.invoke("Apa kabar?", task="translate", answer_language="en")
    assert meta(translated)["task"] == "translate"
    with pytest.raises(InvalidInput, match=r"does not take the keyword argument\(s\) temp.*lang="):
        chain.invoke("Apa kabar?", temperature=0.2)
    with pytest.raises(InvalidInput, match=r"'lang' is given twice"):
        chain.invoke({"query": "Apa kabar?", "lang": "ms"}, lang="id")
    with pytest.raises(InvalidInput, match=r"Unknown task 'summarise'"):
        chain.invoke("Apa kabar?", task="summarise")


# ------------------------------------------------------------------------- 6. empty rendering
def test_empty_rendering_fallback_reports_no_bridge_and_the_bridge_tried() -> None:
    llm = Recording(("\n", "Sawa."))
    info = meta(make_chain(llm, detector=lambda _: "id").invoke("Apa kabar hari ini?"))
    assert (info["fallback"], info["bridge"], info["bridge_tried"]) == (
        "empty_rendering",
        None,
        "spa_Latn",
    )
    assert (info["bridge_name"], info["score"], info["route_rule"]) == (None, None, "direct")
    assert len(llm.prompts) == 2 and "Spanish" not in llm.prompts[1]  # the answer went direct


# ------------------------------------------------------------------------- 7. bridge languages
@pytest.mark.parametrize("lang", ["eng_Latn", "fra_Latn", "spa_Latn", "deu_Latn"])
def test_query_in_a_bridge_language_is_prompted_as_is(lang: str) -> None:
    llm, table = Recording(), Table({lang: "ita_Latn"})  # even a table row is not taken
    reply = make_chain(llm, detector=lambda _: lang, table=table).invoke("How do I cook rice?")
    info = meta(reply)
    assert (info["fallback"], info["bridge"], info["route_rule"]) == (
        "query_is_a_bridge_language",
        None,
        "direct",
    )
    assert "candidate bridge language" in info["fallback_detail"]
    assert len(llm.prompts) == 1 and table.asked == []  # one direct call, the table unread
    english = make_chain(Recording(), detector=fasttext()).invoke(
        "How do I cook rice at home with a pot?"
    )
    assert meta(english)["fallback"] == "query_is_a_bridge_language"


# ------------------------------------------------------------------------- 8. empty queries
def _never(*_: Any) -> Any:
    raise AssertionError("nothing may be called for an empty query")


@pytest.mark.parametrize(
    "query",
    ["", " \n\t  ", [HumanMessage("Jambo"), AIMessage("Jambo!"), HumanMessage("  ")],
     {"query": "", "lang": "sw"}, b"   "],
    ids=["empty", "whitespace", "empty-last-message", "dict-with-lang", "bytes"],
)  # fmt: skip
def test_empty_or_whitespace_query_is_answered_empty_without_any_model_call(query: Any) -> None:
    chain = make_chain(_never, detector=_never, table=None)
    reply = chain.invoke(query)
    assert isinstance(reply, AIMessage) and reply.content == ""
    info = meta(reply)
    assert (info["fallback"], info["bridge"], info["model_calls"]) == ("empty_input", None, 0)
    assert "nothing to answer" in info["fallback_detail"]
    assert (info["lang"] == "swh_Latn") == isinstance(query, dict)
    chunks = list(chain.stream(query))
    assert len(chunks) == 1 and meta(chunks[0])["fallback"] == "empty_input"
    assert asyncio.run(chain.ainvoke(query)).content == ""
    assert not {"llm", "detector", "table"} & set(chain.router.built_parts())


# ------------------------------------------------------------------------- 9. any text
_TRICKY = [
    "\udcff", "\ud800", "\ud83d\ude00", "\x00", "\x1b[31m", "\r\n", "\u2028", "\ufeff", "\u200b",
    "[bold red]", "[/]", "[link=file:///etc/passwd]x[/link]", "<script>alert(1)</script>",
    "{query}", "{{", "}}", "%s", "User:", "Assistant:", "\n\nSwahili:", "Habari za asubuhi ",
    "Apa kabar? ", "How are you? ", "😀", "早上好", "\U0010ffff", "\t", "  ",
]  # fmt: skip
_ANY_CHAR = st.characters(exclude_categories=())  # surrogates and control characters included
TEXT = st.one_of(
    st.text(_ANY_CHAR, max_size=40),
    st.lists(st.one_of(st.sampled_from(_TRICKY), st.text(_ANY_CHAR, max_size=8)), max_size=12).map(
        "".join
    ),
    st.tuples(st.sampled_from(_TRICKY), st.integers(2_000, 20_000)).map(lambda t: t[0] * t[1]),
)
FALLBACKS = {str(f) for f in Fallback} | {None}
_FAST = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@_FAST
@given(text=TEXT)
def test_any_text_to_the_detectors_gives_a_detection(text: str) -> None:
    detection = fasttext().detect(text)
    assert detection.lang == "unknown" or detection.lang.count("_") == 1
    assert 0.0 <= detection.confidence <= 1.0
    results: tuple[Detection | str, ...] = (text, Detection("swh_Latn", 0.9), "unknown")
    for result in results:
        found = as_detector(_returning(result))
        try:
            assert isinstance(found.detect(text), Detection)
        except BridgeXError:  # a text that is not a language code: UnknownLanguage
            assert result is text


def _returning(result: Detection | str) -> Callable[[str], Detection | str]:
    return lambda _text: result


VALUES = st.one_of(
    TEXT,
    st.binary(max_size=40),
    st.lists(st.one_of(TEXT, st.tuples(st.sampled_from(["human", "ai", "x"]), TEXT)), max_size=4),
    st.fixed_dictionaries(
        {"query": st.one_of(TEXT, st.binary(max_size=20), st.integers())},
        optional={
            "lang": st.sampled_from(["sw", "id", "en", ""]),
            "labels": st.one_of(TEXT, st.lists(TEXT, max_size=3)),
            "options": st.one_of(TEXT, st.lists(TEXT, max_size=3)),
            "history": st.one_of(TEXT, st.lists(TEXT, max_size=3)),
            "passage": st.one_of(TEXT, st.binary(max_size=10)),
            "task": st.sampled_from(["chat", "classify", "reading", "translate", "other"]),
        },
    ),
)


@_FAST
@given(value=VALUES)
def test_any_input_to_parse_input_is_an_encodable_request_or_invalid_input(value: Any) -> None:
    try:
        request = parse_input(value)
    except InvalidInput:
        return
    assert isinstance(request, ChainRequest)
    request.query.encode("utf-8")
    for message in (*request.history, *request.trailing):
        message.text.encode("utf-8")
    for key in ("labels", "options"):
        if key in request.fields:
            assert isinstance(request.fields[key], list)


@cache
def _any_text_chain() -> tuple[BridgeXChain, Recording]:
    llm = Recording(("Rendered.", "", "[bold]Jibu[/bold] \x1b[0m", "Sawa.\nUser: more"))
    return make_chain(llm, detector=fasttext()), llm


@_FAST
@given(text=TEXT, task=st.sampled_from([{}, {"task": "translate", "answer_language": "en"}]))
def test_any_text_to_the_chain_is_an_answer_or_a_documented_fallback(
    text: str, task: dict[str, Any]
) -> None:
    chain, _ = _any_text_chain()  # every prompt it sends is checked to be valid UTF-8
    call: Callable[[], Any]
    for call in (lambda: chain.invoke(text, None, **task),
                 lambda: list(chain.stream(text, None, **task))):  # fmt: skip
        try:
            result = call()
        except BridgeXError:
            continue
        replies = result if isinstance(result, list) else [result]
        assert all(isinstance(r, AIMessage | AIMessageChunk) for r in replies)
        assert meta(replies[0])["fallback"] in FALLBACKS
