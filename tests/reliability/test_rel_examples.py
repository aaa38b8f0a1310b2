"""The examples and the README as a new user meets them in the first hour (issue 19).

Every example runs on an instant fake model (``local_model`` patched, or an external fake LLM)
and on the bridge table shipped for Gemma-3-270m (imported into a temporary SQLite file on first
use), whose real scores are ~1e-8. The README's example queries go through the real default
detector (it loads offline from the package).
"""

from __future__ import annotations

import ast
import io
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import RunnableLambda

from bridgex_chain.chain import BridgeXChain
from bridgex_chain.detect import FastTextDetector
from bridgex_chain.errors import ModelCallError, PromptTooLong
from bridgex_chain.languages import language_name, normalize
from bridgex_chain.models import langchain as llm_mod

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
README = ROOT / "README.md"
PYTHON = sys.executable
FIXTURES = HealthCheck.function_scoped_fixture  # the fixtures hold no state between examples
Loader = Callable[[str], ModuleType]  # the load_example fixture
SCORE = re.compile(r"\d\.\d{3}e-\d\d")  # how format_score writes a ~1e-8 HSIC score


@pytest.fixture
def fake_local_model(fake_example_model: Callable[[str], list[str]]) -> list[str]:
    """The embedded model replaced everywhere by an instant fake; the prompts it saw."""
    return fake_example_model("maji")


@pytest.fixture
def shipped_db(tmp_path: Path) -> str:
    """A fresh SQLite file: the chain imports the shipped Gemma table into it on first use."""
    return f"sqlite:///{tmp_path / 'bridges.db'}"


def _no_traceback(text: str) -> None:
    assert "Traceback" not in text, text


# ---------------------------------------------------------------------------------------------
# examples/chatbot.py


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_chatbot(db: str) -> tuple[subprocess.Popen[str], str]:
    """Start the interactive chatbot on a pipe; return it and what it wrote up to its prompt."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [PYTHON, str(EXAMPLES / "chatbot.py"), "--database-url", db, "--history", "memory"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=_default_sigint,  # as in a terminal, even when the tests run in the background
    )
    assert proc.stdout is not None
    fd, seen, deadline = proc.stdout.fileno(), b"", time.monotonic() + 60
    while not seen.endswith(b"amina> ") and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            chunk = os.read(fd, 4096)  # below the text wrapper, which has read nothing yet
            if not chunk:
                break
            seen += chunk
    return proc, seen.decode("utf-8")


def test_chatbot_ctrl_c_at_the_prompt_exits_with_one_line(shipped_db: str) -> None:
    proc, seen = _start_chatbot(shipped_db)
    try:
        assert seen.endswith("amina> "), seen
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    _no_traceback(err)
    assert proc.returncode == 130
    assert (seen + out).splitlines()[-1] == "Interrupted: bye."
    assert err == ""


def test_chatbot_ctrl_d_exits_cleanly(shipped_db: str) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [PYTHON, str(EXAMPLES / "chatbot.py"), "--database-url", shipped_db, "--history", "memory"],
        input="",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    _no_traceback(done.stderr)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.endswith("amina> \n")  # the prompt's line is ended, nothing else


@pytest.mark.slow
def test_chatbot_history_survives_a_restart_of_the_process(shipped_db: str, tmp_path: Path) -> None:
    """Two processes, one turn each, the real embedded model: the second answers in thread."""
    from bridgex_chain.chain.chat_graph import open_checkpointer

    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    history = tmp_path / "history.sqlite"
    for text in ("Habari za asubuhi!", "Asante sana!"):
        done = subprocess.run(
            [
                PYTHON, str(EXAMPLES / "chatbot.py"), "--database-url", shipped_db,
                "--history", str(history), "--user", "amina", "--message", text,
            ],
            capture_output=True, text=True, env=env, timeout=300,
        )  # fmt: skip
        _no_traceback(done.stderr)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("bot [swh_Latn via "), done.stdout
    with open_checkpointer(history) as saver:
        state = saver.get_tuple({"configurable": {"thread_id": "amina"}})
    assert state is not None
    messages = state.checkpoint["channel_values"]["messages"]
    assert [m.type for m in messages] == ["human", "ai", "human", "ai"]
    assert [m.content for m in messages][::2] == ["Habari za asubuhi!", "Asante sana!"]
    assert state.checkpoint["channel_values"]["lang"] == "sw"


class _Keys:
    """``input()`` replaced by a script: strings are typed lines, exceptions are keys."""

    def __init__(self, *keys: str | BaseException) -> None:
        self.keys = list(keys)
        self.prompts: list[str] = []

    def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        key = self.keys.pop(0) if self.keys else EOFError()
        if isinstance(key, BaseException):
            raise key
        return key


def test_chatbot_ctrl_c_during_a_reply_cancels_only_that_turn(
    shipped_db: str,
    monkeypatch: pytest.MonkeyPatch,
    load_example: Loader,
    example_reply: Callable[[Any, str], str],
) -> None:
    def reply(prompt: Any) -> str:
        text = prompt if isinstance(prompt, str) else prompt.to_string()
        if "Ninataka kujua hali ya hewa" in text:
            raise KeyboardInterrupt  # Ctrl-C while the model is writing this answer
        return example_reply(prompt, "maji")

    monkeypatch.setattr(llm_mod, "local_model", lambda name=None, **kw: RunnableLambda(reply))
    chatbot = load_example("chatbot")
    bot = chatbot.Chatbot(BridgeXChain(database_url=shipped_db, route_policy="table"))
    out: list[str] = []
    keys = _Keys(
        "Habari za asubuhi!",
        "Ninataka kujua hali ya hewa ya kesho Mombasa.",  # cancelled
        "Asante sana rafiki yangu!",
        KeyboardInterrupt(),  # Ctrl-C at the prompt
    )
    assert chatbot.chat_loop(bot, "amina", read=keys, write=out.append) == 130
    assert out[1].startswith("bot [swh_Latn via spa_Latn]> Jibu zuri.")
    assert out[2].startswith("(reply cancelled")
    assert out[3].startswith("bot [swh_Latn via spa_Latn]> Jibu zuri.")
    assert out[-1] == "\nInterrupted: bye."
    # the cancelled turn is not in the history; the two answered turns are
    history = [m.content for m in bot.history("amina")]
    assert history == [
        "Habari za asubuhi!",
        "Jibu zuri.",
        "Asante sana rafiki yangu!",
        "Jibu zuri.",
    ]


def test_chatbot_prints_the_users_line_once(
    shipped_db: str, fake_local_model: list[str], load_example: Loader
) -> None:
    chatbot = load_example("chatbot")
    bot = chatbot.Chatbot(BridgeXChain(database_url=shipped_db, route_policy="table"))
    out: list[str] = []
    keys = _Keys("Habari za asubuhi!", "/exit")
    assert chatbot.chat_loop(bot, "amina", read=keys, write=out.append) == 0
    assert keys.prompts == ["amina> ", "amina> "]  # the terminal shows the typed line once
    assert not any("Habari za asubuhi!" in line for line in out), out
    assert out[1] == "bot [swh_Latn via spa_Latn]> Jibu zuri.\n"


def test_chatbot_errors_and_non_text_lines_are_one_line_each(
    shipped_db: str, monkeypatch: pytest.MonkeyPatch, load_example: Loader
) -> None:
    def reply(prompt: Any) -> str:
        raise PromptTooLong("The prompt has 99 tokens but the model reads at most 64: shorten it")

    monkeypatch.setattr(llm_mod, "local_model", lambda name=None, **kw: RunnableLambda(reply))
    chatbot = load_example("chatbot")
    bot = chatbot.Chatbot(BridgeXChain(database_url=shipped_db, route_policy="table"))
    out: list[str] = []
    bad = UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")
    keys = _Keys("Habari za asubuhi!", bad, "Habari \udcff", EOFError())
    assert chatbot.chat_loop(bot, "amina", read=keys, write=out.append) == 0
    assert out[1] == "error: The prompt has 99 tokens but the model reads at most 64: shorten it\n"
    assert out[2] == out[3] == chatbot.NOT_TEXT
    assert out[4] == ""  # Ctrl-D ends the prompt's line


_TEXT = st.lists(  # any code point, lone surrogates and control characters made likely
    st.characters(codec=None, categories=None)
    | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, categories=["Cs"])
    | st.characters(categories=["Cc"]),
    max_size=60,
).map("".join)  # (st.text would merge the alphabets and drop the surrogates)
_MARKUP = st.sampled_from(["[bold]x[/]", "[/]", "<script>alert(1)</script>", "\x1b[31m", "\x00"])
_MESSAGES = st.lists(
    st.one_of(_TEXT, _MARKUP, _TEXT.map(lambda t: f"[red]{t}"), st.text(max_size=100)), max_size=4
)


@settings(max_examples=60, deadline=None, suppress_health_check=[FIXTURES])
@given(lines=_MESSAGES)
def test_chatbot_arbitrary_lines_get_an_answer_or_one_error_line(
    lines: list[str], shipped_db: str, fake_local_model: list[str], load_example: Loader
) -> None:
    chatbot = load_example("chatbot")
    bot = chatbot.Chatbot(BridgeXChain(database_url=shipped_db, route_policy="table"))
    out: list[str] = []
    assert chatbot.chat_loop(bot, "juan", read=_Keys(*lines), write=out.append) == 0
    for line in out[1:-1]:
        assert line.startswith(("bot [", "error: ")), line
        line.encode("utf-8")  # printable on a UTF-8 terminal


# ---------------------------------------------------------------------------------------------
# examples/web_chat.py


class _Flaky(BaseChatModel):
    """An external model: renders fine, then its answer stream breaks after one chunk."""

    error: Any = None
    prompts: list[str] = []  # noqa: RUF012 - a pydantic field: copied per instance

    @property
    def _llm_type(self) -> str:
        return "flaky"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        self.prompts.append("\n".join(str(m.content) for m in messages))
        return ChatResult(generations=[ChatGeneration(message=AIMessage("rendered"))])

    def _stream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> Iterator[ChatGenerationChunk]:
        yield ChatGenerationChunk(message=AIMessageChunk(content="Nzuri "))
        raise self.error


@pytest.fixture
def web_client(load_example: Loader) -> Callable[..., TestClient]:
    """``make(db, llm=None)``: a client of examples/web_chat.py's app, on the local model or llm."""

    def make(db: str, llm: Any = None) -> TestClient:
        web = load_example("web_chat")
        chain = (  # the table policy: these tests show a bridged route (and its failures)
            BridgeXChain(database_url=db, route_policy="table")
            if llm is None
            else BridgeXChain(llm=llm, model="gemma-3-270m", database_url=db, route_policy="table")
        )
        return TestClient(web.create_app(chain))

    return make


def _post(client: TestClient, path: str, body: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body)  # ensure_ascii: \\ud800 stays
    return client.post(path, content=content, headers={"content-type": "application/json"})


def test_web_chat_unknown_lang_is_422_with_the_message(
    shipped_db: str, fake_local_model: list[str], web_client: Callable[..., TestClient]
) -> None:
    client = web_client(shipped_db)
    for path in ("/chat", "/chat/stream"):
        reply = _post(client, path, {"session": "s", "message": "Habari za leo?", "lang": "xx"})
        assert reply.status_code == 422
        assert reply.json()["detail"].startswith("lang: Unknown language 'xx'. Use an ISO 639")
    assert fake_local_model == []  # refused before the model ran


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b'{"session": "s", "message": "Habari \xff"}', "The request body is not UTF-8 (byte 0xff"),
        ({"session": "s", "message": "Habari \ud800 za leo"}, "message: holds a lone surrogate"),
        ({"session": "\udfff", "message": "Habari"}, "session: holds a lone surrogate (U+DFFF"),
        ({"session": "s", "message": "Habari", "lang": "\ud83d"}, "lang: holds a lone surrogate"),
        (b'{"session": "s", "message": ', "The request body is not JSON"),
        (b"[" * 100_000, "The request body is not JSON"),
        ({"session": "s"}, "message: Field required"),
        (["Habari"], "body: Input should be a valid dictionary"),
    ],
)
def test_web_chat_body_that_is_not_text_is_422(
    body: Any,
    detail: str,
    shipped_db: str,
    fake_local_model: list[str],
    web_client: Callable[..., TestClient],
) -> None:
    client = web_client(shipped_db)
    for path in ("/chat", "/chat/stream"):
        reply = _post(client, path, body)
        assert reply.status_code == 422, reply.text
        assert reply.json()["detail"].startswith(detail), reply.json()
    assert fake_local_model == []


def test_web_chat_stream_errors_are_sent_in_the_stream(
    shipped_db: str, web_client: Callable[..., TestClient]
) -> None:
    message = {"session": "s", "message": "Habari za leo, rafiki yangu?", "lang": "sw"}
    cases = [
        (ModelCallError("gemma failed to generate: out of memory"), 503),
        (PromptTooLong("The prompt has 9000 tokens: shorten the history"), 422),
        (ConnectionResetError("the provider closed the stream"), 500),
    ]
    for error, status in cases:
        flaky = _Flaky(error=error)
        client = web_client(shipped_db, flaky)
        reply = _post(client, "/chat/stream", message)
        assert reply.status_code == 200  # the answer had started: the status line was sent
        events = [json.loads(line) for line in reply.text.splitlines()]
        assert "route" in events[0] and events[1] == {"delta": "Nzuri "}
        assert events[-1]["status"] == status and str(error) in events[-1]["error"]
        # the broken turn is not remembered: the next answer's prompt holds no history
        again = _post(client, "/chat", {**message, "message": "Asante sana rafiki yangu"})
        assert again.status_code == 200 and again.json()["answer"] == "rendered"
        assert "Nzuri" not in flaky.prompts[-1] and "rafiki yangu?" not in flaky.prompts[-1]


def test_web_chat_errors_before_the_answer_get_their_status_code(
    shipped_db: str, web_client: Callable[..., TestClient]
) -> None:
    class _Refuses(_Flaky):
        def _generate(
            self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
        ) -> Any:
            raise self.error

    message = {"session": "s", "message": "Habari za leo, rafiki yangu?", "lang": "sw"}
    for error, status in [(PromptTooLong("shorten it"), 422), (ModelCallError("no GPU"), 503)]:
        client = web_client(shipped_db, _Refuses(error=error))  # the bridge rendering fails
        for path in ("/chat", "/chat/stream"):
            reply = _post(client, path, message)
            assert reply.status_code == status
            assert reply.json() == {"detail": str(error)}


def test_web_chat_page_labels_each_reply_and_shows_its_route(
    shipped_db: str, fake_local_model: list[str], web_client: Callable[..., TestClient]
) -> None:
    client = web_client(shipped_db)
    page = client.get("/").text
    assert '"bot:"' in page and '"you:"' in page  # every reply carries a visible label
    assert '"route: " + ev.route_line' in page  # the route on the line under it
    assert "innerHTML" not in page and "insertAdjacentHTML" not in page  # user text stays text
    message = {"session": "s", "message": "Habari za leo, rafiki yangu?"}
    route = json.loads(_post(client, "/chat/stream", message).text.splitlines()[0])
    line = route["route_line"]
    assert line.startswith("Swahili (swh_Latn, p=0.98) → bridge Spanish (spa_Latn), score ")
    assert SCORE.search(line) and "0.000" not in line, line
    assert _post(client, "/chat", message).json()["route_line"] == line


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_web_chat_serves_on_host_and_port(shipped_db: str, load_example: Loader) -> None:
    web = load_example("web_chat")
    defaults = web.parse_args([])
    assert (defaults.host, defaults.port) == ("127.0.0.1", 8000)
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cmd = [PYTHON, str(EXAMPLES / "web_chat.py"), "--port", str(port), "--database-url", shipped_db]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        page, deadline = None, time.monotonic() + 60
        while page is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
            except httpx.TransportError:
                time.sleep(0.2)
        assert page is not None and page.status_code == 200, proc.poll()
        assert "bridgex web chat" in page.text
        bad = httpx.post(f"http://127.0.0.1:{port}/chat", json={"session": "s"}, timeout=10)
        assert bad.status_code == 422
    finally:
        proc.send_signal(signal.SIGINT)  # uvicorn's own clean shutdown
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
    assert f"http://127.0.0.1:{port}" in out
    _no_traceback(err)


def test_web_extra_installs_fastapi_and_uvicorn() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"][
        "optional-dependencies"
    ]
    names = {re.split(r"[<>=\[ ]", dep)[0] for dep in extras["web"]}
    assert names == {"fastapi", "uvicorn"}
    assert "web" in re.search(r"\[(.*)\]", extras["all"][0]).group(1).split(",")  # type: ignore[union-attr]
    dev = {re.split(r"[<>=\[ ]", dep)[0] for dep in extras["dev"]}
    assert {"fastapi", "uvicorn", "httpx"} <= dev  # the tests' TestClient needs httpx
    assert "pip install 'bridgex-chain[web]'" in (EXAMPLES / "web_chat.py").read_text("utf-8")


_FIELD = st.one_of(_TEXT, _MARKUP, st.text(max_size=300))


@settings(max_examples=100, deadline=None, suppress_health_check=[FIXTURES])
@given(
    message=_FIELD | st.text(max_size=100).map(lambda t: f"Habari za leo, rafiki {t}"),
    session=st.one_of(st.just("s1"), _FIELD),
    lang=st.integers(0, 3).flatmap(
        lambda i: (
            [_FIELD, st.sampled_from(["xx", ""]), st.sampled_from(["sw", "Swahili"])][i]
            if i < 3
            else st.none()
        )
    ),
    raw=st.integers(0, 4).flatmap(lambda i: st.binary(max_size=80) if i == 0 else st.none()),
    path=st.sampled_from(["/chat", "/chat/stream"]),
)
def test_web_chat_arbitrary_text_is_answered_or_refused_never_500(
    message: str,
    session: str,
    lang: str | None,
    raw: bytes | None,
    path: str,
    shipped_db: str,
    fake_local_model: list[str],
    web_client: Callable[..., TestClient],
) -> None:
    client = web_client(shipped_db)  # raises the server's exception if a request had one
    body = raw if raw is not None else {"session": session, "message": message, "lang": lang}
    reply = _post(client, path, body)
    event(
        f"status {reply.status_code} "
        + (reply.json()["detail"][:20] if reply.status_code == 422 else "")
    )
    assert reply.status_code == 200 or 400 <= reply.status_code < 500, reply.text
    if reply.status_code != 200:
        assert reply.json()["detail"]
    elif path == "/chat":
        assert set(reply.json()) == {"answer", "route", "route_line"}
    else:
        events = [json.loads(line) for line in reply.text.splitlines()]
        assert "route" in events[0] and not any("error" in e for e in events)


# ---------------------------------------------------------------------------------------------
# examples/app.py and examples/demo.py: scores


def test_app_and_demo_print_readable_scores(
    shipped_db: str,
    fake_local_model: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
    load_example: Loader,
) -> None:
    monkeypatch.setattr(
        sys, "argv", ["app.py", "--database-url", shipped_db, "--route-policy", "table"]
    )
    load_example("app").main()
    out = capsys.readouterr().out
    routes = re.findall(r"\[(\w+) → bridge (\w+) \(score (\S+), run \d+\)\]", out)
    assert len(routes) == 4, out  # all four questions bridged by the shipped table's best
    assert all(SCORE.fullmatch(score) for _, _, score in routes), routes
    assert "0.000" not in out
    # the default evidence policy: each question direct, and the line says which rule
    monkeypatch.setattr(sys, "argv", ["app.py", "--database-url", shipped_db])
    load_example("app").main()
    out = capsys.readouterr().out
    assert out.count("→ direct (evidence_direct: reads_well)]") == 4, out

    demo = load_example("demo")
    demo.console = type(demo.console)(file=io.StringIO(), width=200)
    demo.step_table(shipped_db)
    shown = demo.console.file.getvalue()
    hsic = re.findall(r"\b(\d\.\d{3}e-\d\d) \[\S+, \S+\]", shown)  # score [interval]
    assert len(hsic) == 12 and all(SCORE.fullmatch(s) for s in hsic), shown  # 2 × 6 bridges
    assert "0.0000" not in shown and "render gain" in shown
    assert shown.count("→ reads_well: direct") == 2, shown
    demo.step_chain(shipped_db)
    shown = demo.console.file.getvalue()
    assert shown.count("→ direct (evidence_direct: the model reads") == 2, shown


# ---------------------------------------------------------------------------------------------
# README.md: its example queries, labelled by the real default detector


@dataclass(frozen=True)
class Example:
    """One query of the README: its text, the language the README says, explicit fields."""

    query: str
    claim: str | None  # the language the README's comment names ("# Swahili: ...")
    fields: dict[str, Any]  # a dict example's other keys ("lang", "task", ...)
    where: str  # the README line


_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
_CALL = re.compile(r'chain\.(?:invoke|stream)\(\s*"([^"]+)"')
_QUERY_KEY = re.compile(r'^\s*"query":\s*"([^"]+)"')
_CLI = re.compile(r'bridgex-chain (?:detect|ask) "([^"]+)"')
_DICT = re.compile(r'\{"query":[^{}\n]*\}')
_CLAIM = re.compile(r"\s*([A-Z][a-z]+(?: [A-Z][a-z]+)*)\b")


def readme_examples() -> list[Example]:
    """Every example query of README.md: in its python and bash blocks, and inline dicts.

    A query's language is claimed by a comment on its line (``# Swahili`` or ``# Swahili: …``);
    a dict example with ``"lang"`` needs none. The request-time diagram (a block without a
    language) is checked on its own.
    """
    text = README.read_text("utf-8")
    found: list[Example] = []
    for info, block in _FENCE.findall(text):
        if info not in {"python", "bash"}:
            continue
        for line in block.splitlines():
            if any(d in line for d in _DICT.findall(line)):
                continue  # a dict example: below
            claim = _CLAIM.match(line.split("#", 1)[1]) if "#" in line else None
            for pattern in (_CALL, _QUERY_KEY, _CLI):
                for query in pattern.findall(line):
                    found.append(Example(query, claim and claim.group(1), {}, line.strip()))
    for line in text.splitlines():  # dicts, in code or in prose
        for literal in _DICT.findall(line):
            fields = ast.literal_eval(literal)
            found.append(Example(fields.pop("query"), None, fields, line.strip()))
    return found


def test_readme_example_queries_are_labelled_as_the_readme_says() -> None:
    examples = readme_examples()
    assert len(examples) >= 8, examples
    detector = FastTextDetector()
    for example in examples:
        if "lang" in example.fields:
            normalize(example.fields["lang"])  # explicit: no detection, but a real code
            continue
        assert example.claim, f"say the query's language in a '# Language' comment: {example}"
        detection = detector.detect(example.query)
        assert detection.lang == normalize(example.claim), (
            f"{example.query!r}: the README says {example.claim}, the detector says "
            f"{detection.lang} ({detection.confidence:.2f})"
        )
    # the request-time diagram shows a detection too: its language and confidence hold
    text = README.read_text("utf-8")
    shown = re.search(r'chain\.invoke\("([^"]+)"\)\n.*fastText → (\w+) \(p=([\d.]+)\)', text)
    assert shown is not None
    detection = detector.detect(shown.group(1))
    assert detection.lang == shown.group(2)
    assert abs(detection.confidence - float(shown.group(3))) < 0.015


def test_readme_examples_are_bridged_or_fall_back_as_the_readme_says(
    shipped_db: str, fake_local_model: list[str]
) -> None:
    chain = BridgeXChain(database_url=shipped_db)  # the default route policy: evidence
    text = README.read_text("utf-8")
    for example in readme_examples():
        route = chain.route({"query": example.query, **example.fields})
        paragraph = text[text.index(example.where) :].split("\n- ", 1)[0]
        said = re.search(r'fallback="(\w+)"', paragraph)  # the README says it goes direct, why
        if said:
            assert route.fallback is not None and route.fallback.value == said.group(1), (
                example,
                route.fallback,
            )
        else:
            assert route.fallback is None, (example, route.fallback)


def test_example_scripts_sentences_are_labelled_as_their_language(load_example: Loader) -> None:
    detector = FastTextDetector()
    demo = load_example("demo")
    labels = [detector.detect(text).lang for text in demo.SAMPLES]
    # "detects the language of sample messages in 12 languages": 12 different, none unsure
    assert len(set(labels)) == len(demo.SAMPLES) == 12 and "unknown" not in labels, labels
    app = load_example("app")
    for question in app.QUESTIONS:
        if isinstance(question, dict) and "lang" in question:
            continue
        query = question["query"] if isinstance(question, dict) else question
        assert language_name(detector.detect(query).lang) in {"Swahili", "Indonesian"}, query
    chatbot = load_example("chatbot")
    for user, hint in chatbot.USER_LANGUAGES.items():
        if hint is None:  # detected every message: each must be labelled right
            assert {detector.detect(t).lang for t in chatbot.SCRIPT[user]} == {"tgl_Latn"}
