"""A small web chat (FastAPI) answering every user in their language through its bridge.

    pip install uvicorn                    # any ASGI server
    uvicorn examples.web_chat:app          # then open http://127.0.0.1:8000

Endpoints: ``GET /`` a one-page chat, ``POST /chat`` (JSON answer with the route) and
``POST /chat/stream`` (NDJSON: one ``{"route": ...}`` line, then ``{"delta": ...}`` lines as the
model writes). Conversations are kept per ``session`` in memory (use a database in production).
The chain runs on the embedded Gemma-3-270m unless you pass another one to ``create_app``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, StreamingResponse
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from pydantic import BaseModel

from bridgex_chain.chain import BridgeXChain

PAGE = """<!doctype html><meta charset="utf-8"><title>bridgex web chat</title>
<div id="log"></div><form id="f"><input id="m" size="60" autofocus><button>Send</button></form>
<script>
const log = document.getElementById("log"), session = crypto.randomUUID();
document.getElementById("f").onsubmit = async (e) => {
  e.preventDefault();
  const m = document.getElementById("m"), text = m.value;
  m.value = "";
  log.insertAdjacentHTML("beforeend", "<p><b>you:</b> </p>");
  log.lastChild.append(text);
  const p = document.createElement("p");
  log.append(p);
  const r = await fetch("/chat/stream", {
    method: "POST",
    headers: {"content-type": "application/json"},
    body: JSON.stringify({session, message: text}),
  });
  const reader = r.body.getReader(), dec = new TextDecoder();
  let buf = "";
  for (;;) {
    const {done, value} = await reader.read();
    if (done) break;
    buf += dec.decode(value);
    let i;
    while ((i = buf.indexOf("\\n")) >= 0) {
      const ev = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      if (ev.route) p.title = JSON.stringify(ev.route);  // the route, shown on hover
      else p.append(ev.delta);
    }
  }
};
</script>"""


class ChatIn(BaseModel):
    """A user's message; ``lang`` is an optional language hint (e.g. from the user profile)."""

    session: str
    message: str
    lang: str | None = None


class ChatOut(BaseModel):
    """The answer and how it was routed (``response_metadata["bridgex"]``)."""

    answer: str
    route: dict[str, Any]


def create_app(chain: BridgeXChain | None = None) -> FastAPI:
    """Build the web app around ``chain`` (default: the embedded model, loaded on first use)."""
    bridged = chain or BridgeXChain(max_new_tokens=64)
    sessions: dict[str, list[BaseMessage]] = {}
    app = FastAPI(title="bridgex web chat")

    def request(msg: ChatIn) -> dict[str, Any]:
        history = sessions.setdefault(msg.session, [])
        return {"query": msg.message, "history": list(history), "lang": msg.lang}

    def remember(msg: ChatIn, answer: str) -> None:
        sessions[msg.session] += [HumanMessage(msg.message), AIMessage(answer)]

    @app.get("/", response_class=HTMLResponse)
    async def page() -> str:
        return PAGE

    @app.post("/chat")
    async def chat(msg: ChatIn) -> ChatOut:
        reply = await bridged.ainvoke(request(msg))
        remember(msg, reply.text)
        return ChatOut(answer=reply.text, route=reply.response_metadata["bridgex"])

    @app.post("/chat/stream")
    async def chat_stream(msg: ChatIn) -> StreamingResponse:
        async def events() -> AsyncIterator[str]:
            parts: list[str] = []
            async for chunk in bridged.astream(request(msg)):
                if not parts and "bridgex" in chunk.response_metadata and not chunk.content:
                    yield json.dumps({"route": chunk.response_metadata["bridgex"]}) + "\n"
                if chunk.text:
                    parts.append(chunk.text)
                    yield json.dumps({"delta": chunk.text}, ensure_ascii=False) + "\n"
            remember(msg, "".join(parts))

        return StreamingResponse(events(), media_type="application/x-ndjson")

    return app


app = create_app()

if __name__ == "__main__":
    try:
        import uvicorn
    except ImportError:
        raise SystemExit("Install an ASGI server first: pip install uvicorn") from None
    uvicorn.run(app)
