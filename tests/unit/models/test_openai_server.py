"""openai_compatible: the chain on an OpenAI-compatible server (a fake one, in a thread).

The fake server speaks the parts of the OpenAI API that vLLM, llama.cpp's server and TGI serve:
``/v1/completions`` and ``/v1/chat/completions``, whole or as server-sent events, ``/v1/models``.
Its replies depend on the request (a small table of translations and answers, found in the
prompt), it honours stop strings as a server does (the text ends before the first one), it
refuses more than 4 stop strings as OpenAI and TGI do, and it records every request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel, BaseLLM
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from bridgex_chain.chain import BridgeXChain
from bridgex_chain.chain.policies import FixedBridge
from bridgex_chain.detect import Detection
from bridgex_chain.errors import (
    BridgeXError,
    InvalidOption,
    MissingDependency,
    ModelCallError,
    PromptTooLong,
)
from bridgex_chain.models.openai_server import (
    DEFAULT_MAX_STOP_SEQUENCES,
    PLACEHOLDER_API_KEY,
    check_base_url,
    openai_compatible,
)

pytest.importorskip("langchain_openai")

MODEL = "gemma-3-270m"
RICE = "Habari, ninawezaje kupika wali?"
MATCH = "Timu ya taifa ilishinda mechi jana usiku."
FRIEND = "Habari za leo, rafiki yangu?"
#: (text, language name) -> the server's rendering of the text in that language.
TRANSLATIONS = {
    ("maji", "English"): "water",
    (RICE, "English"): "Hello, how do I cook rice?",
    (RICE, "Spanish"): "Hola, ¿cómo cocino arroz?",
    (MATCH, "English"): "The national team won the match last night.",
    (FRIEND, "English"): "How are you today, my friend?",
}
#: rendering -> the server's answer in Swahili.
ANSWERS = {
    "Hello, how do I cook rice?": "Pika wali kwa maji na chumvi.",
    "Hola, ¿cómo cocino arroz?": "Pika wali kwa maji na chumvi.",
    "How are you today, my friend?": "Nzuri sana, asante.",
}
COUNT = "one two three four five six seven"
SIX_STOPS = ["ten", "nine", "eight", "zero", "six", "seven"]  # only the 5th occurs


# --------------------------------------------------------------------------- the fake server


def complete(prompt: str) -> str:
    """What the fake base model writes after ``prompt`` (before the server cuts at ``stop``)."""
    if "COUNT" in prompt:
        return COUNT
    if prompt.endswith("Label:"):
        return " sports\nSwahili: Rais alihutubia bunge."
    rendered = re.search(r"\n(?:Swahili): (.+)\n(\w+):$", prompt)
    if rendered:
        text = TRANSLATIONS.get((rendered.group(1), rendered.group(2)), "?")
        return f" {text}\n\nSwahili: Asante."
    if prompt.endswith("Assistant (Swahili):"):
        seen = re.findall(r"User \((?!Swahili)[^)]+\): (.+)\n", prompt)
        return f" {ANSWERS.get(seen[-1] if seen else '', 'Sawa.')}\nUser: Asante!"
    return f" {prompt.splitlines()[-1]}"


def chat(messages: list[dict[str, Any]]) -> str:
    """What the fake instruct model answers to ``messages``."""
    system = next((m["content"] for m in messages if m["role"] == "system"), "")
    user = [m["content"] for m in messages if m["role"] == "user"][-1]
    if "COUNT" in user:
        return COUNT
    language = re.match(r"Translate the user's text from \w+ into (\w+)", system)
    if language:
        return TRANSLATIONS.get((user, language.group(1)), "?")
    if system.startswith("Classify"):
        return "Sports"
    bridged = re.search(r"\(\w+: (.+)\)$", user)
    return ANSWERS.get(bridged.group(1) if bridged else "", "Sawa.")


def cut(text: str, stop: list[str] | str | None) -> str:
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    found = [i for i in (text.find(s) for s in stops if s) if i >= 0]
    return text[: min(found)] if found else text


@dataclass
class Request:
    path: str
    body: dict[str, Any]
    auth: str | None


@dataclass
class FakeServer:
    """An OpenAI-compatible server on 127.0.0.1 (a free port), recording what it was sent."""

    models: tuple[str, ...] = (MODEL, "google/gemma-3-270m", "instruct")
    max_stop: int = 4
    api_key: str | None = None
    piece: int = 5  # characters per streamed chunk
    requests: list[Request] = field(default_factory=list)
    url: str = ""

    def start(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def bodies(self, endpoint: str = "completions") -> list[dict[str, Any]]:
        return [r.body for r in self.requests if r.path == f"/v1/{endpoint}"]

    def prompts(self) -> list[str]:
        """Every completions prompt, in order (a batched request contributes each of its own)."""
        out: list[str] = []
        for body in self.bodies():
            prompt = body["prompt"]
            out += prompt if isinstance(prompt, list) else [prompt]
        return out

    # ---------------------------------------------------------------- answering

    def answer(self, path: str, body: dict[str, Any], auth: str | None) -> tuple[int, Any]:
        """(status, JSON body) or (200, list of SSE events)."""
        self.requests.append(Request(path, body, auth))
        if path == "/v1/models":
            return 200, {
                "object": "list",
                "data": [{"id": m, "object": "model"} for m in self.models],
            }
        if self.api_key is not None and auth != f"Bearer {self.api_key}":
            return 401, {"error": {"message": "Unauthorized: invalid API key", "code": 401}}
        if path not in ("/v1/completions", "/v1/chat/completions"):
            return 404, {"detail": "Not Found"}
        if body.get("model") not in self.models:
            return 404, _error(f"The model `{body.get('model')}` does not exist.", 404)
        stop = body.get("stop") or []
        if len(stop) > self.max_stop:
            return 400, _error(f"stop: at most {self.max_stop} stop sequences are allowed", 400)
        prompts = body.get("prompt", "")
        texts = prompts if isinstance(prompts, list) else [prompts]
        if any("TOO LONG" in str(t) for t in [*texts, body.get("messages")]):
            return 400, _error(
                "This model's maximum context length is 32768 tokens. However, you requested "
                "40000 tokens. Please reduce the length of the messages or completion.",
                400,
            )
        if any("SLOW" in str(t) for t in [*texts, body.get("messages")]):
            time.sleep(1.5)
        if path == "/v1/completions":
            replies = [cut(complete(p), stop) for p in texts]
            return 200, self._completions(body, replies)
        return 200, self._chat(body, cut(chat(body["messages"]), stop))

    def _completions(self, body: dict[str, Any], replies: list[str]) -> Any:
        head = {"id": "cmpl-1", "object": "text_completion", "created": 0, "model": body["model"]}
        if not body.get("stream"):
            choices = [
                {"index": i, "text": t, "logprobs": None, "finish_reason": "stop"}
                for i, t in enumerate(replies)
            ]
            return {**head, "choices": choices, "usage": _usage()}
        events = [
            {**head, "choices": [{"index": 0, "text": p, "logprobs": None, "finish_reason": None}]}
            for p in self._pieces(replies[0])
        ]
        end = {"index": 0, "text": "", "logprobs": None, "finish_reason": "stop"}
        return [*events, {**head, "choices": [end]}]

    def _chat(self, body: dict[str, Any], reply: str) -> Any:
        head = {"id": "chatcmpl-1", "created": 0, "model": body["model"]}
        if not body.get("stream"):
            message = {"role": "assistant", "content": reply}
            choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}
            return {**head, "object": "chat.completion", "choices": [choice], "usage": _usage()}
        head = {**head, "object": "chat.completion.chunk"}
        deltas = [{"role": "assistant", "content": ""}]
        deltas += [{"content": p} for p in self._pieces(reply)]
        events = [
            {**head, "choices": [{"index": 0, "delta": d, "logprobs": None, "finish_reason": None}]}
            for d in deltas
        ]
        end = {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
        return [*events, {**head, "choices": [end]}]

    def _pieces(self, text: str) -> list[str]:
        return [text[i : i + self.piece] for i in range(0, len(text), self.piece)]


def _error(message: str, code: int) -> dict[str, Any]:
    return {"error": {"message": message, "type": "BadRequestError", "code": code}}


def _usage() -> dict[str, int]:
    return {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}


def _handler(state: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            self._send(*state.answer(self.path, {}, self.headers.get("Authorization")))

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.loads(raw or b"{}")
            self._send(*state.answer(self.path, body, self.headers.get("Authorization")))

        def _send(self, status: int, payload: Any) -> None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # client gone
                self._write(status, payload)

        def _write(self, status: int, payload: Any) -> None:
            if isinstance(payload, list):  # server-sent events; the connection closes at the end
                self.send_response(status)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for event in [*map(json.dumps, payload), "[DONE]"]:
                    self.wfile.write(f"data: {event}\n\n".encode())
                    self.wfile.flush()
                return
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@pytest.fixture(scope="module")
def running() -> Iterator[FakeServer]:
    fake = FakeServer()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def server(running: FakeServer) -> FakeServer:
    """The module's fake server, with its request log and settings reset."""
    running.requests.clear()
    running.api_key, running.max_stop = None, 4
    return running


def free_port() -> int:
    """A port nobody listens on (bound, then released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def swahili(text: str) -> Detection:
    return Detection("swh_Latn", 0.97, (("swh_Latn", 0.97),), "fake")


def make_chain(server: FakeServer, **fields: Any) -> BridgeXChain:
    llm = fields.pop("llm", None) or openai_compatible(server.url, MODEL, max_retries=0)
    fields.setdefault("table", FixedBridge("eng_Latn"))
    return BridgeXChain(llm=llm, model=MODEL, detector=swahili, **fields)


# --------------------------------------------------------------------------- the clients


def test_completions_client_is_greedy_and_points_at_the_server(server: FakeServer) -> None:
    from langchain_openai import OpenAI

    llm = openai_compatible(server.url + "/", MODEL)
    assert isinstance(llm, OpenAI) and isinstance(llm, BaseLLM)
    assert (llm.model_name, llm.temperature, llm.max_tokens) == (MODEL, 0.0, 128)
    assert llm.openai_api_base == server.url
    assert not hasattr(llm, "score_choices")  # no log-likelihoods over the API
    prompt = "Translate the following text from Swahili into English.\n\nSwahili: maji\nEnglish:"
    assert llm.invoke(prompt, stop=["\n"]) == " water"
    (body,) = server.bodies()
    assert body["model"] == MODEL and body["temperature"] == 0 and body["max_tokens"] == 128
    assert body["stop"] == ["\n"] and body["prompt"] == [prompt]


def test_chat_client_sends_max_tokens_and_no_stop_by_default(server: FakeServer) -> None:
    from langchain_openai import ChatOpenAI

    llm = openai_compatible(server.url, "instruct", chat=True, max_tokens=64)
    assert isinstance(llm, ChatOpenAI) and isinstance(llm, BaseChatModel)
    reply = llm.invoke([SystemMessage("Be brief."), HumanMessage("Habari?")])
    assert isinstance(reply, AIMessage) and reply.content == "Sawa."
    (body,) = server.bodies("chat/completions")
    assert body["max_tokens"] == 64 and "max_completion_tokens" not in body
    assert body["temperature"] == 0 and body["model"] == "instruct" and "stop" not in body
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Habari?"},
    ]


def test_the_key_is_a_placeholder_and_openai_api_key_is_never_sent(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-meant-for-api-openai-com")
    openai_compatible(server.url, MODEL).invoke("Habari")
    openai_compatible(server.url, MODEL, chat=True).invoke("Habari")
    assert [r.auth for r in server.requests] == [f"Bearer {PLACEHOLDER_API_KEY}"] * 2


def test_a_server_started_with_a_key_takes_api_key(server: FakeServer) -> None:
    server.api_key = "s3cret"
    assert openai_compatible(server.url, MODEL, api_key="s3cret").invoke("Habari") == " Habari"
    with pytest.raises(ModelCallError, match=r"refused the API key \(HTTP 401.*api_key="):
        openai_compatible(server.url, MODEL, max_retries=0).invoke("Habari")
    assert [r.auth for r in server.requests] == ["Bearer s3cret", f"Bearer {PLACEHOLDER_API_KEY}"]


@pytest.mark.parametrize("chat_endpoint", [False, True])
def test_more_stop_strings_than_the_server_takes_are_cut_client_side(
    server: FakeServer, chat_endpoint: bool
) -> None:
    llm = openai_compatible(server.url, MODEL, chat=chat_endpoint)
    whole = llm.invoke("COUNT", stop=SIX_STOPS)
    streamed = list(llm.stream("COUNT", stop=SIX_STOPS))
    text = whole.content if isinstance(whole, AIMessage) else whole
    pieces = [p.content if isinstance(p, AIMessage) else p for p in streamed]
    assert text == "".join(str(p) for p in pieces) == "one two three four five "
    endpoint = "chat/completions" if chat_endpoint else "completions"
    sent = [body["stop"] for body in server.bodies(endpoint)]
    assert sent == [SIX_STOPS[:DEFAULT_MAX_STOP_SEQUENCES]] * 2


def test_max_stop_sequences_none_sends_them_all_and_a_refusal_says_what_to_do(
    server: FakeServer,
) -> None:
    llm = openai_compatible(server.url, MODEL, max_stop_sequences=None, max_retries=0)
    with pytest.raises(ModelCallError, match=r"HTTP 400.*max_stop_sequences="):
        llm.invoke("COUNT", stop=SIX_STOPS)
    assert server.bodies()[-1]["stop"] == SIX_STOPS
    server.max_stop = 8  # vLLM, llama.cpp: any number
    assert llm.invoke("COUNT", stop=SIX_STOPS) == "one two three four five "


def test_a_batch_of_prompts_is_one_completions_request(server: FakeServer) -> None:
    llm = openai_compatible(server.url, MODEL, batch_size=2)
    assert llm.batch(["a", "b", "c"], stop=["\n"]) == [" a", " b", " c"]
    assert [body["prompt"] for body in server.bodies()] == [["a", "b"], ["c"]]


# --------------------------------------------------------------------------- through the chain


def test_invoke_renders_in_the_bridge_then_answers(server: FakeServer) -> None:
    reply = make_chain(server).invoke(RICE)
    assert reply.content == "Pika wali kwa maji na chumvi."
    meta = reply.response_metadata["bridgex"]
    assert (meta["lang"], meta["bridge"], meta["prompt_style"]) == (
        "swh_Latn",
        "eng_Latn",
        "completion",
    )
    assert meta["rendering"] == "Hello, how do I cook rice?" and meta["model_calls"] == 2
    assert meta.get("fallback") is None
    render, answer = server.bodies()
    assert render["prompt"][0].startswith("Translate the following text from Swahili into English.")
    assert render["prompt"][0].endswith(f"Swahili: {RICE}\nEnglish:")
    assert render["stop"] == ["\n"]
    assert (
        f"User (Swahili): {RICE}\nUser (English): Hello, how do I cook rice?\n"
        in (answer["prompt"][0])
    )
    assert answer["prompt"][0].endswith("Assistant (Swahili):")
    assert answer["stop"] == ["\nUser", "\nAssistant", "\n\n"]  # the server cut its " User: ..."
    for body in (render, answer):
        assert (body["model"], body["temperature"], body["max_tokens"]) == (MODEL, 0, 128)
        assert not body.get("stream")


def test_the_shipped_table_picks_the_bridge(server: FakeServer, tmp_path: Path) -> None:
    from bridgex_chain.store.table import BridgeTable

    table = BridgeTable(f"sqlite:///{tmp_path}/t.db")
    table.ensure_shipped()
    bridge = table.best("google/gemma-3-270m", "swh_Latn").bridge
    chain = make_chain(server, table=table, route_policy="table")
    reply = chain.invoke(RICE)
    meta = reply.response_metadata["bridgex"]
    assert meta["model"] == "google/gemma-3-270m" and meta["bridge"] == bridge == "spa_Latn"
    assert meta["rendering"] == "Hola, ¿cómo cocino arroz?"
    assert reply.content == "Pika wali kwa maji na chumvi."
    assert server.prompts()[0].endswith(f"Swahili: {RICE}\nSpanish:")


def test_stream_yields_the_route_then_the_answer_as_it_is_written(server: FakeServer) -> None:
    chain = make_chain(server)
    chunks = list(chain.stream(RICE))
    assert (
        chunks[0].content == "" and chunks[0].response_metadata["bridgex"]["bridge"] == "eng_Latn"
    )
    assert len(chunks) > 3  # the answer came in pieces
    assert "".join(str(c.content) for c in chunks) == chain.invoke(RICE).content
    render, answer = server.bodies()[:2]
    assert not render.get("stream") and answer["stream"] is True
    assert answer["stop"] == ["\nUser", "\nAssistant", "\n\n"]


def test_batch_sends_each_round_of_calls_as_one_request(server: FakeServer) -> None:
    replies = make_chain(server).batch([RICE, FRIEND])
    assert [r.content for r in replies] == ["Pika wali kwa maji na chumvi.", "Nzuri sana, asante."]
    assert [r.response_metadata["bridgex"]["rendering"] for r in replies] == [
        "Hello, how do I cook rice?",
        "How are you today, my friend?",
    ]
    renders, answers = server.bodies()
    assert [p.rsplit("\n", 2)[-2] for p in renders["prompt"]] == [
        f"Swahili: {RICE}",
        f"Swahili: {FRIEND}",
    ]
    assert len(answers["prompt"]) == 2 and answers["stop"] == ["\nUser", "\nAssistant", "\n\n"]


def test_classify_parses_the_generated_label(server: FakeServer) -> None:
    labels = ["sports", "politics", "health"]
    query = {"query": MATCH, "task": "classify", "labels": labels, "lang": "swh_Latn"}
    reply = make_chain(server).invoke(query)
    meta = reply.response_metadata["bridgex"]
    assert reply.content == "sports"
    assert (meta["choice"], meta["choice_index"], meta["choice_method"]) == (
        "sports",
        0,
        "generate",
    )
    assert meta["raw_answer"] == "sports" and meta["task"] == "classify"
    assert meta["rendering"] == "The national team won the match last night."
    _, answer = server.bodies()
    prompt = answer["prompt"][0]
    assert prompt.startswith(
        "Classify each text into one of these labels: sports, politics, health."
    )
    assert prompt.endswith(
        f"Swahili: {MATCH}\nEnglish: The national team won the match last night.\nLabel:"
    )
    assert answer["stop"] == ["\n"]


def test_a_chat_model_gets_messages_and_its_label_is_parsed(server: FakeServer) -> None:
    llm = openai_compatible(server.url, "instruct", chat=True, max_retries=0)
    chain = make_chain(server, llm=llm)
    reply = chain.invoke(RICE)
    assert reply.content == "Pika wali kwa maji na chumvi."
    assert reply.response_metadata["bridgex"]["prompt_style"] == "chat"
    assert reply.response_metadata["model_name"] == "instruct"  # the client's own metadata
    render, answer = server.bodies("chat/completions")
    assert render["messages"][0]["content"].startswith(
        "Translate the user's text from Swahili into English."
    )
    assert answer["messages"][-1] == {
        "role": "user",
        "content": f"{RICE}\n\n(English: Hello, how do I cook rice?)",
    }
    streamed = "".join(str(c.content) for c in chain.stream(FRIEND))
    assert streamed == "Nzuri sana, asante." and server.bodies("chat/completions")[-1]["stream"]
    query = {"query": MATCH, "task": "classify", "labels": ["sports", "politics"]}
    classified = chain.invoke(query)
    assert classified.content == "sports"
    assert classified.response_metadata["bridgex"]["raw_answer"] == "Sports"


def test_async_invoke_and_stream(server: FakeServer) -> None:
    chain = make_chain(server)

    async def run() -> tuple[AIMessage, list[AIMessage]]:
        return await chain.ainvoke(FRIEND), [c async for c in chain.astream(RICE)]

    reply, chunks = asyncio.run(run())
    assert reply.content == "Nzuri sana, asante."
    assert "".join(str(c.content) for c in chunks) == "Pika wali kwa maji na chumvi."


def test_async_cut_of_more_stop_strings(server: FakeServer) -> None:
    llm = openai_compatible(server.url, MODEL)

    async def run() -> tuple[str, str]:
        whole = await llm.ainvoke("COUNT", stop=SIX_STOPS)
        pieces = [p async for p in llm.astream("COUNT", stop=SIX_STOPS)]
        return str(whole), "".join(str(p) for p in pieces)

    assert asyncio.run(run()) == ("one two three four five ",) * 2


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("localhost:8000/v1", "http(s)://host[:port]/path"),
        ("ftp://localhost/v1", "http(s)://host[:port]/path"),
        ("http:///v1", "http(s)://host[:port]/path"),
        ("http://localhost:99999/v1", "port"),
        ("http://localhost:8000", "pass 'http://localhost:8000/v1'"),
        ("http://localhost:8000/", "pass 'http://localhost:8000/v1'"),
        (
            "http://localhost:8000/v1/chat/completions",
            "pass the API root above it, 'http://localhost:8000/v1'",
        ),
        ("http://localhost:8000/v1/completions", "'http://localhost:8000/v1'"),
        ("http://localhost:8000/v1?key=x", "no query"),
        ("", "got ''"),
    ],
)
def test_a_bad_base_url_says_what_to_pass(url: str, says: str) -> None:
    with pytest.raises(InvalidOption) as err:
        openai_compatible(url, MODEL)
    assert says in str(err.value) and "http://localhost:8000/v1" in str(err.value)


def test_good_base_urls() -> None:
    assert check_base_url(" https://gpu-box.lan:8443/api/v1/ ") == "https://gpu-box.lan:8443/api/v1"
    assert check_base_url("http://[::1]:8080/v1") == "http://[::1]:8080/v1"


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"max_tokens": 0}, "max_tokens"),
        ({"timeout": 0}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_stop_sequences": 0}, "max_stop_sequences"),
    ],
)
def test_options_out_of_range(options: dict[str, Any], says: str) -> None:
    with pytest.raises(InvalidOption, match=says):
        openai_compatible("http://localhost:8000/v1", MODEL, **options)
    with pytest.raises(InvalidOption, match="GET http://localhost:8000/v1/models"):
        openai_compatible("http://localhost:8000/v1", " ")


def test_without_langchain_openai_the_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "langchain_openai", None)  # import now fails
    with pytest.raises(MissingDependency) as err:
        openai_compatible("http://localhost:8000/v1", MODEL)
    assert "pip install 'bridgex-chain[openai]'" in str(err.value)
    assert "langchain-openai" in str(err.value) and isinstance(err.value, ImportError)


@pytest.mark.parametrize("chat_endpoint", [False, True])
def test_a_server_that_is_down_says_so(chat_endpoint: bool) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    llm = openai_compatible(url, MODEL, chat=chat_endpoint, max_retries=0)
    chain = BridgeXChain(llm=llm, model=MODEL, detector=swahili, table=FixedBridge("eng_Latn"))
    calls: tuple[Callable[[], Any], ...] = (
        lambda: chain.invoke(RICE),
        lambda: list(chain.stream(RICE)),
        lambda: list(llm.stream("Habari")),
        lambda: asyncio.run(llm.ainvoke("Habari")),
    )
    for call in calls:
        with pytest.raises(ModelCallError) as err:
            call()
        message = str(err.value)
        assert f"Cannot reach the OpenAI-compatible server at {url}" in message
        assert "Is it running?" in message and "vllm serve" in message
        assert isinstance(err.value.__cause__, Exception)


def test_an_unknown_model_points_at_the_models_list(server: FakeServer) -> None:
    for chat_endpoint in (False, True):
        llm = openai_compatible(server.url, "mistral", chat=chat_endpoint, max_retries=0)
        with pytest.raises(ModelCallError, match=r"404 Not Found for model 'mistral'.*/models"):
            llm.invoke("Habari")


def test_a_prompt_over_the_context_window_is_prompt_too_long(server: FakeServer) -> None:
    for chat_endpoint in (False, True):
        llm = openai_compatible(server.url, MODEL, chat=chat_endpoint, max_retries=0)
        with pytest.raises(PromptTooLong, match=r"context window.*--max-model-len"):
            llm.invoke("TOO LONG")


def test_a_slow_server_times_out_with_a_hint(server: FakeServer) -> None:
    llm = openai_compatible(server.url, MODEL, timeout=0.3, max_retries=0)
    with pytest.raises(ModelCallError, match=r"in time.*timeout=") as err:
        llm.invoke("SLOW")
    assert isinstance(err.value, BridgeXError)
