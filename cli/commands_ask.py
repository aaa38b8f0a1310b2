"""The ``ask`` and ``chat`` commands: answer through the bridge, showing the route taken.

Example:
    $ bridgex-chain ask "Ninataka kujua hali ya hewa ya kesho katika mji wa Mombasa."
    $ bridgex-chain ask maji --task translate --answer-language en
    $ bridgex-chain ask "Timu yetu ilishinda jana" --task classify --label sports --label politics
    $ bridgex-chain chat --lang sw
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from bridgex_chain.cli.commands_db import DatabaseUrlOption

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage
    from rich.console import Console

    from bridgex_chain.chain import BridgeXChain
    from bridgex_chain.prompting.templates import TaskKind

__all__ = ["register", "route_line"]

ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        help="Local model: alias (gemma-3-270m, mistral…), Hugging Face id or path. "
        "Default: the embedded Gemma-3-270m.",
        show_default=False,
    ),
]
LangOption = Annotated[
    str | None,
    typer.Option(
        "--lang", help="Your language (any code form); skips detection.", show_default=False
    ),
]
AnswerOption = Annotated[
    str | None,
    typer.Option("--answer-language", help="Answer language (default: yours).", show_default=False),
]
TokensOption = Annotated[
    int, typer.Option("--max-new-tokens", min=1, help="Generation budget per model call.")
]
DemosOption = Annotated[
    Path | None,
    typer.Option(
        "--demos",
        help="Demonstration pool: a <lang>/train.tsv directory (SIB-200 layout) or a JSONL file.",
        show_default=False,
    ),
]


def make_chain(
    model: str | None,
    database_url: str | None,
    max_new_tokens: int,
    task: TaskKind = "chat",
    demos: Path | None = None,
) -> BridgeXChain:
    """The chain the commands use (the model loads on the first question)."""
    from bridgex_chain.chain import BridgeXChain

    return BridgeXChain(
        llm=model,
        database_url=database_url,
        max_new_tokens=max_new_tokens,
        task=task,
        demos=demos,
    )


def route_line(meta: dict[str, Any]) -> str:
    """One line saying where a request went (rich markup).

    Example:
        >>> route_line({"lang": "hau_Latn", "lang_name": "Hausa", "confidence": 0.8,
        ...             "fallback": "no_bridge", "fallback_detail": "no row"})
        'hau_Latn (Hausa, confidence 0.80) → [yellow]direct[/] (no_bridge: no row)'
    """
    if meta["lang"] == "unknown":
        lang = f"unknown language (confidence {meta['confidence']:.2f})"
    else:
        lang = f"{meta['lang']} ({meta['lang_name']}, confidence {meta['confidence']:.2f})"
    if meta.get("fallback"):
        detail = meta.get("fallback_detail") or ""
        return f"{lang} → [yellow]direct[/] ({meta['fallback']}: {detail})"
    return (
        f"{lang} → bridge [bold]{meta['bridge']}[/] ({meta['bridge_name']}), "
        f"score {meta['score']:.3f}, run {meta['run_id']}"
    )


def _stream_answer(
    chain: BridgeXChain, request: Any, console: Console
) -> tuple[str, dict[str, Any]]:
    """Print the route, then the answer as it streams; return the answer and the metadata."""
    meta: dict[str, Any] = {}
    parts: list[str] = []
    for chunk in chain.stream(request):
        found = chunk.response_metadata.get("bridgex")
        if found and not meta:
            meta = dict(found)
            console.print(f"[dim]{route_line(meta)}[/]", highlight=False)
        elif found:
            meta.update(found)
        text = chunk.text
        if text:
            parts.append(text)
            console.print(text, end="", markup=False, highlight=False, soft_wrap=True)
    console.print()
    return "".join(parts), meta


def ask_command(
    text: Annotated[str, typer.Argument(help="Your question or text, in any language.")],
    model: ModelOption = None,
    lang: LangOption = None,
    answer_language: AnswerOption = None,
    task: Annotated[
        str, typer.Option("--task", help="chat, translate, classify or reading.")
    ] = "chat",
    passage: Annotated[
        str | None,
        typer.Option("--passage", help="The passage (task reading).", show_default=False),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option", help="An answer option (task reading; repeat).", show_default=False
        ),
    ] = None,
    label: Annotated[
        list[str] | None,
        typer.Option("--label", help="A label (task classify; repeat).", show_default=False),
    ] = None,
    demos: DemosOption = None,
    database_url: DatabaseUrlOption = None,
    max_new_tokens: TokensOption = 128,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Answer TEXT through its bridge language and show the route (language, bridge, score)."""
    from rich.console import Console

    from bridgex_chain.prompting.templates import TASKS

    if task not in TASKS:
        raise typer.BadParameter(f"use one of {', '.join(TASKS)}", param_hint="--task")
    request: dict[str, Any] = {"query": text, "lang": lang, "answer_language": answer_language}
    request.update(passage=passage, options=option or None, labels=label or None)
    chain = make_chain(model, database_url, max_new_tokens, cast("TaskKind", task), demos)
    if as_json:
        reply = chain.invoke(request)
        out = {"answer": reply.text, "bridgex": reply.response_metadata["bridgex"]}
        typer.echo(json.dumps(out, ensure_ascii=False))
        return
    _stream_answer(chain, request, Console())


def chat_command(
    model: ModelOption = None,
    lang: LangOption = None,
    answer_language: AnswerOption = None,
    demos: DemosOption = None,
    database_url: DatabaseUrlOption = None,
    max_new_tokens: TokensOption = 128,
) -> None:
    """Chat in your language in the terminal; each turn shows its language and bridge.

    Type /exit (or press Ctrl-D) to leave, /reset to start a new conversation.
    """
    from langchain_core.messages import AIMessage, HumanMessage
    from rich.console import Console

    from bridgex_chain.errors import BridgeXError

    console = Console()
    chain = make_chain(model, database_url, max_new_tokens, "chat", demos)
    history: list[BaseMessage] = []
    console.print("[dim]bridgex-chain chat: /exit to leave, /reset to forget the conversation[/]")
    while True:
        try:
            text = console.input("[bold]you>[/] ").strip()
        except EOFError:
            break
        if text in {"/exit", "/quit"}:
            break
        if text == "/reset":
            history.clear()
            console.print("[dim]conversation cleared[/]")
            continue
        if not text:
            continue
        request = {
            "query": text,
            "history": list(history),
            "lang": lang,
            "answer_language": answer_language,
        }
        try:
            answer, _ = _stream_answer(chain, request, console)
        except BridgeXError as err:
            console.print(f"[bold red]error:[/] {err}")
            continue
        history += [HumanMessage(text), AIMessage(answer)]


def register(app: typer.Typer) -> None:
    """Add the ``ask`` and ``chat`` commands to the CLI ``app``.

    Example:
        >>> import typer
        >>> app = typer.Typer()
        >>> register(app)
    """
    app.command("ask")(ask_command)
    app.command("chat")(chat_command)
