"""A small web chat (FastAPI) answering every user in their language through its bridge.

    pip install 'bridgex-chain[web]'       # FastAPI + uvicorn (the `web` extra)
    python examples/web_chat.py            # then open http://127.0.0.1:8000
    python examples/web_chat.py --host 0.0.0.0 --port 8080 --database-url sqlite:///bridges.db
    uvicorn examples.web_chat:app          # or any ASGI server, from the project root

Endpoints: ``GET /`` a one-page chat (each reply labelled, its route on the line under it),
``POST /chat`` (JSON: the answer, the route and a one-line ``route_line``) and ``POST /chat/stream``
(NDJSON: one ``{"route": ..., "route_line": ...}`` line, then ``{"delta": ...}`` lines as the model
writes). Conversations are kept per ``session`` in memory (use a database in production). The
chain runs on the embedded Gemma-3-270m unless you pass another one to ``create_app``.

Errors are JSON ``{"detail": "<what to do>"}``:

- a body that is not UTF-8 JSON, a missing field, text holding a lone surrogate (``"\\ud800"``,
  which is not Unicode text) or an unknown ``lang`` (``"xx"``): 422, before the model runs;
- a request the chain refuses (``InvalidInput``, ``PromptTooLong``, ...): 422;
- any other ``BridgeXError`` (the model or the bridge table failed): 503.

Only an exception that is not a ``BridgeXError`` (a bug, or an external model's own error) is
left to FastAPI's plain 500. Whatever text a user sends, the answer is a 200 or a 422.

On ``/chat/stream`` everything up to the routing (the checks above, language detection, the
table lookup, the bridge rendering) happens before the response starts, so those errors get
their status code; an error while the model writes the answer arrives as a last NDJSON line
``{"error": "<message>", "status": 422|503}`` (status 500 for an error that is not a
``BridgeXError``, which is also logged) and the conversation is not extended.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from pydantic import BaseModel, Field, ValidationError, field_validator

from bridgex_chain.chain import BridgeXChain
from bridgex_chain.errors import (
    BridgeXError,
    InvalidInput,
    InvalidOption,
    PromptTooLong,
    UnknownLanguage,
)
from bridgex_chain.languages import normalize
from bridgex_chain.store.records import format_score

log = logging.getLogger("web_chat")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000

#: Errors caused by what the user sent: 422. Every other ``BridgeXError`` is the server's: 503.
CLIENT_ERRORS = (InvalidInput, InvalidOption, PromptTooLong, UnknownLanguage)

PAGE = """<!doctype html><meta charset="utf-8"><title>bridgex web chat</title>
<style>
body { font: 16px/1.4 system-ui, sans-serif; max-width: 46em; margin: 2em auto; padding: 0 1em; }
.turn { margin: 0 0 1.2em; }
.turn p { margin: .2em 0; }
.who { font-weight: bold; margin-right: .4em; }
.route { color: #666; font-size: .85em; margin-left: 1.2em; }
.error { color: #b00020; }
#f { display: flex; gap: .5em; } #m { flex: 1; font: inherit; padding: .3em; }
</style>
<h1>bridgex web chat</h1>
<div id="log"></div>
<form id="f"><input id="m" autofocus placeholder="Write in your language">
<button>Send</button></form>
<script>
const log = document.getElementById("log"), session = crypto.randomUUID();
function line(parent, cls, who) {  // <p class=cls><span class=who>who</span><span></span></p>
  const p = document.createElement("p"), body = document.createElement("span");
  p.className = cls;
  if (who) {
    const label = document.createElement("span");
    label.className = "who";
    label.textContent = who;
    p.append(label);
  }
  p.append(body);
  parent.append(p);
  return body;  // text goes in with textContent/append only: markup in a message stays text
}
function fail(answer, message) {
  answer.parentNode.classList.add("error");
  answer.append((answer.textContent.trim() ? " — " : "") + "error: " + message);
}
document.getElementById("f").onsubmit = async (e) => {
  e.preventDefault();
  const m = document.getElementById("m"), text = m.value;
  if (!text.trim()) return;
  m.value = "";
  const turn = document.createElement("div");
  turn.className = "turn";
  log.append(turn);
  line(turn, "you", "you:").append(text);
  const answer = line(turn, "bot", "bot:"), route = line(turn, "route", "");
  route.textContent = "routing…";
  let r;
  try {
    r = await fetch("/chat/stream", {
      method: "POST",
      headers: {"content-type": "application/json"},
      body: JSON.stringify({session, message: text}),
    });
  } catch (err) { route.textContent = ""; fail(answer, err.message); return; }
  if (!r.ok) {  // refused before the answer started: {"detail": "..."}
    route.textContent = "";
    let detail = r.statusText;
    try { detail = (await r.json()).detail; } catch (err) {}
    fail(answer, detail);
    return;
  }
  const reader = r.body.getReader(), dec = new TextDecoder();
  let buf = "";
  for (;;) {
    const {done, value} = await reader.read();
    if (done) break;
    buf += dec.decode(value, {stream: true});
    let i;
    while ((i = buf.indexOf("\\n")) >= 0) {
      const ev = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      if (ev.route) {
        route.textContent = "route: " + ev.route_line;
        route.title = JSON.stringify(ev.route, null, 1);  // every routing field, on hover
      } else if (ev.error) fail(answer, ev.error);
      else answer.append(ev.delta);
    }
  }
};
</script>"""


def _no_surrogates(value: Any) -> Any:
    """``value`` unchanged, or a ``ValueError`` if it is a string holding a lone surrogate."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as err:
            raise ValueError(
                f"holds a lone surrogate (U+{ord(value[err.start]):04X} at character "
                f"{err.start}), which is not Unicode text: send the text itself, UTF-8 encoded"
            ) from None
    return value


class ChatIn(BaseModel):
    """A user's message; ``lang`` is an optional language hint (e.g. from the user profile)."""

    session: str = Field(max_length=200)
    message: str
    lang: str | None = Field(default=None, max_length=64)

    @field_validator("session", "message", "lang", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return _no_surrogates(value)

    @field_validator("lang")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            normalize(value)
        except UnknownLanguage:
            raise
        except Exception:  # the code normaliser choked on it: it is not a language code either
            raise UnknownLanguage(value) from None
        return value


class ChatOut(BaseModel):
    """The answer and how it was routed (``response_metadata["bridgex"]``)."""

    answer: str
    route: dict[str, Any]
    route_line: str


def route_line(meta: dict[str, Any]) -> str:
    """One line saying where a message went, e.g. ``Swahili (swh_Latn, p=0.97) → bridge …``."""
    lang = meta.get("lang") or "unknown"
    where = f"{meta.get('lang_name') or lang} ({lang}"
    where += f", p={meta['confidence']:.2f})" if meta.get("confidence") is not None else ")"
    if meta.get("fallback") or not meta.get("bridge"):
        return f"{where} → direct prompting ({meta.get('fallback') or 'no bridge'}{_why(meta)})"
    bridge = f"{meta.get('bridge_name') or meta['bridge']} ({meta['bridge']})"
    score = format_score(meta.get("score"))
    return f"{where} → bridge {bridge}, score {score}, run {meta.get('run_id')}{_why(meta)}"


def _why(meta: dict[str, Any]) -> str:
    """The evidence policy's reason, in words (empty under the other policies)."""
    evidence = meta.get("evidence") or {}
    rule, limits = evidence.get("rule"), evidence.get("thresholds") or {}
    competence, ceiling = evidence.get("competence"), limits.get("max_competence")
    if rule == "reads_well" and competence is not None and ceiling is not None:
        name = meta.get("lang_name") or meta.get("lang")
        return f": the model reads {name} well, competence {competence:.2f} > {ceiling:.2f}"
    reasons = {
        "no_evidence": ": the table holds no competence or render check for this language",
        "render_check_failed": ": the model cannot carry this language into any candidate",
        "separable_score": ": the best-scoring candidate that passed the render check",
        "best_rendered": ": the best-rendered candidate (scores not separable)",
    }
    return reasons.get(rule, "") if isinstance(rule, str) else ""


def _problem(errors: Sequence[Any]) -> str:
    """pydantic's validation errors as one sentence per field."""
    parts = []
    for error in errors:
        where = ".".join(str(part) for part in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


async def read_message(request: Request) -> ChatIn:
    """The request body as a :class:`ChatIn`, or an ``HTTPException`` 422 saying what is wrong."""
    body = await request.body()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise HTTPException(
            422,
            f"The request body is not UTF-8 (byte 0x{body[err.start]:02x} at offset {err.start}): "
            'send JSON encoded as UTF-8, e.g. {"session": "s1", "message": "Habari za leo?"}',
        ) from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise HTTPException(
            422,
            f"The request body is not JSON ({err}): send an object like "
            '{"session": "s1", "message": "Habari za leo?", "lang": "sw"}',
        ) from None
    try:
        return ChatIn.model_validate(data)
    except ValidationError as err:
        raise HTTPException(422, _problem(err.errors(include_url=False))) from None


def _status(err: BridgeXError) -> int:
    return 422 if isinstance(err, CLIENT_ERRORS) else 503


def create_app(chain: BridgeXChain | None = None) -> FastAPI:
    """Build the web app around ``chain`` (default: the embedded model, loaded on first use)."""
    bridged = chain or BridgeXChain(max_new_tokens=64)
    sessions: dict[str, list[BaseMessage]] = {}
    app = FastAPI(title="bridgex web chat")
    body_schema = {
        "required": True,
        "content": {"application/json": {"schema": ChatIn.model_json_schema()}},
    }

    @app.exception_handler(BridgeXError)
    async def bridgex_error(request: Request, err: BridgeXError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=_status(err))

    def request_of(msg: ChatIn) -> dict[str, Any]:
        history = sessions.get(msg.session, [])
        return {"query": msg.message, "history": list(history), "lang": msg.lang}

    def remember(msg: ChatIn, answer: str) -> None:
        sessions.setdefault(msg.session, []).extend([HumanMessage(msg.message), AIMessage(answer)])

    @app.get("/", response_class=HTMLResponse)
    async def page() -> str:
        return PAGE

    @app.post("/chat", openapi_extra={"requestBody": body_schema})
    async def chat(request: Request) -> ChatOut:
        msg = await read_message(request)
        reply = await bridged.ainvoke(request_of(msg))
        remember(msg, reply.text)
        meta = reply.response_metadata["bridgex"]
        return ChatOut(answer=reply.text, route=meta, route_line=route_line(meta))

    @app.post("/chat/stream", openapi_extra={"requestBody": body_schema})
    async def chat_stream(request: Request) -> StreamingResponse:
        msg = await read_message(request)
        chunks = aiter(bridged.astream(request_of(msg)))
        # The routing chunk comes first, once detection, lookup and the bridge rendering are
        # done: wait for it here, so that their errors still get a status code (the handler).
        first = await anext(chunks, None)
        if first is None:  # the chain always yields its routing chunk first; be safe anyway
            raise HTTPException(503, "The chain answered nothing: try again")

        async def events() -> AsyncIterator[str]:
            meta = first.response_metadata.get("bridgex", {})
            yield json.dumps({"route": meta, "route_line": route_line(meta)}) + "\n"
            parts = [first.text] if first.text else []
            if first.text:
                yield json.dumps({"delta": first.text}, ensure_ascii=False) + "\n"
            try:
                async for chunk in chunks:
                    if chunk.text:
                        parts.append(chunk.text)
                        yield json.dumps({"delta": chunk.text}, ensure_ascii=False) + "\n"
            except Exception as err:  # the status line is gone: say it in the stream
                if isinstance(err, BridgeXError):
                    error, status = str(err), _status(err)
                else:  # a bug, or an external model's own error: log it with its traceback
                    log.exception("web chat: the answer stream failed")
                    error, status = f"The model failed: {type(err).__name__}: {err}", 500
                yield json.dumps({"error": error, "status": status}, ensure_ascii=False) + "\n"
                return
            remember(msg, "".join(parts))

        return StreamingResponse(events(), media_type="application/x-ndjson")

    return app


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line of ``python examples/web_chat.py``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address (default {DEFAULT_HOST})")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    parser.add_argument("--database-url", help="bridge table URL (default: the user data dir)")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument(
        "--route-policy",
        default="evidence",
        choices=["evidence", "table", "english", "direct"],
        help="evidence (default: bridge only where the table's checks say it helps), table…",
    )
    return parser.parse_args(argv)


app = create_app()


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the chat with uvicorn on ``--host``/``--port``."""
    args = parse_args(argv)
    try:
        import uvicorn
    except ImportError:
        raise SystemExit("Install the web extra first: pip install 'bridgex-chain[web]'") from None
    chain = BridgeXChain(
        database_url=args.database_url,
        max_new_tokens=args.max_new_tokens,
        route_policy=args.route_policy,
    )
    print(f"bridgex web chat on http://{args.host}:{args.port}  (Ctrl-C to stop)", flush=True)
    uvicorn.run(create_app(chain), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
