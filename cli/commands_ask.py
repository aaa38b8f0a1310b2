"""The ``ask`` and ``chat`` commands: answer through the bridge, showing the route taken.

Example:
    $ bridgex-chain ask "Ninataka kujua hali ya hewa ya kesho katika mji wa Mombasa."
    $ bridgex-chain ask maji --task translate --answer-language en
    $ bridgex-chain ask "Timu yetu ilishinda jana" --task classify --label sports --label politics
    $ bridgex-chain chat --lang sw
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bridgex_chain.cli.commands_db import DatabaseUrlOption
from bridgex_chain.cli.terminal import (
    TidyCommand,
    argv_text,
    clean,
    json_line,
    print_error,
    safe,
)

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
        metavar="MODEL",
    ),
]
LangOption = Annotated[
    str | None,
    typer.Option(
        "--lang",
        help="Your language (any code form); skips detection.",
        show_default=False,
        metavar="CODE",
    ),
]
AnswerOption = Annotated[
    str | None,
    typer.Option(
        "--answer-language",
        help="Answer language (default: yours).",
        show_default=False,
        metavar="CODE",
    ),
]
TokensOption = Annotated[
    int,
    typer.Option("--max-new-tokens", min=1, help="Generation budget per model call.", metavar="N"),
]
DemosOption = Annotated[
    Path | None,
    typer.Option(
        "--demos",
        help="Demonstration pool: a <lang>/train.tsv directory (SIB-200 layout) or a JSONL file.",
        show_default=False,
        metavar="PATH",
    ),
]

PolicyOption = Annotated[
    str,
    typer.Option(
        "--route-policy",
        help="evidence (bridge only where the table's checks say it helps), table (its best "
        "bridge), english or direct.",
        metavar="POLICY",
    ),
]


def make_chain(
    model: str | None,
    database_url: str | None,
    max_new_tokens: int,
    task: TaskKind = "chat",
    demos: Path | None = None,
    route_policy: str = "evidence",
) -> BridgeXChain:
    """The chain the commands use (the model loads on the first question)."""
    from bridgex_chain.chain import BridgeXChain
    from bridgex_chain.chain.policies import ROUTE_POLICIES

    if route_policy not in ROUTE_POLICIES:
        raise typer.BadParameter(
            f"use one of {', '.join(ROUTE_POLICIES)}", param_hint="--route-policy"
        )
    return BridgeXChain(
        llm=model,
        database_url=database_url,
        max_new_tokens=max_new_tokens,
        task=task,
        demos=demos,
        route_policy=route_policy,  # type: ignore[arg-type]  # checked by the chain
    )


def route_line(meta: dict[str, Any]) -> str:
    """One line saying where a request went (rich markup; every value escaped).

    Example:
        >>> route_line({"lang": "hau_Latn", "lang_name": "Hausa", "confidence": 0.8,
        ...             "fallback": "no_bridge", "fallback_detail": "no row"})
        'hau_Latn (Hausa, confidence 0.80) → [yellow]direct[/] (no_bridge: no row)'
        >>> line = route_line({"lang": "swh_Latn", "lang_name": "Swahili", "confidence": 1.0,
        ...     "bridge": "fra_Latn", "bridge_name": "French", "score": 3.2e-08, "run_id": 7})
        >>> line.split("→ ")[1]
        'bridge [bold]fra_Latn[/] (French), score 3.200e-08, run 7'
        >>> route_line({"lang": "swh_Latn", "lang_name": "Swahili", "confidence": 1.0,
        ...     "bridge": "eng_Latn", "bridge_name": "English", "score": 1e-08, "run_id": 7,
        ...     "evidence": {"rule": "best_rendered", "render_gain": 0.41}}).split("run 7")[1]
        ', evidence best_rendered, render gain 0.41'
    """
    from bridgex_chain.store.records import format_score

    confidence = f"confidence {meta.get('confidence') or 0.0:.2f}"
    if meta.get("lang") == "unknown":
        lang = f"unknown language ({confidence})"
    else:
        lang = f"{safe(meta.get('lang'))} ({safe(meta.get('lang_name'))}, {confidence})"
    if meta.get("fallback"):
        detail = safe(meta.get("fallback_detail") or "", newlines=False)
        return f"{lang} → [yellow]direct[/] ({safe(meta['fallback'])}: {detail})"
    line = (
        f"{lang} → bridge [bold]{safe(meta.get('bridge'))}[/] ({safe(meta.get('bridge_name'))}), "
        f"score {format_score(meta.get('score'))}, run {safe(meta.get('run_id'))}"
    )
    evidence = meta.get("evidence")
    if isinstance(evidence, dict) and evidence.get("rule"):
        gain = evidence.get("render_gain")
        shown = f", render gain {gain:.2f}" if isinstance(gain, int | float) else ""
        line += f", evidence {safe(evidence['rule'])}{shown}"
    return line


def _stream_answer(
    chain: BridgeXChain, request: Any, console: Console
) -> tuple[str, dict[str, Any]]:
    """Print the route, then the answer as it streams; return the answer and the metadata.

    The stream is closed on the way out, also when Ctrl-C interrupts it.
    """
    meta: dict[str, Any] = {}
    parts: list[str] = []
    stream: Iterator[Any] = chain.stream(request)
    try:
        for chunk in stream:
            found = chunk.response_metadata.get("bridgex")
            if found and not meta:
                meta = dict(found)
                console.print(f"[dim]{route_line(meta)}[/]", highlight=False)
            elif found:
                meta.update(found)
            text = chunk.text
            if text:
                parts.append(text)
                console.print(clean(text), end="", markup=False, highlight=False, soft_wrap=True)
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    console.print()
    return "".join(parts), meta


def _option_text(value: str | None) -> str | None:
    return None if value is None else argv_text(value)


def _language(value: str | None) -> str | None:
    return None if value is None else argv_text(value)


def ask_command(
    text: Annotated[
        str, typer.Argument(help="Your question or text, in any language.", metavar="TEXT")
    ],
    model: ModelOption = None,
    lang: LangOption = None,
    answer_language: AnswerOption = None,
    task: Annotated[
        str,
        typer.Option("--task", help="chat, translate, classify or reading.", metavar="TASK"),
    ] = "chat",
    passage: Annotated[
        str | None,
        typer.Option(
            "--passage", help="The passage (task reading).", show_default=False, metavar="TEXT"
        ),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            help="An answer option (task reading; repeat).",
            show_default=False,
            metavar="TEXT",
        ),
    ] = None,
    label: Annotated[
        list[str] | None,
        typer.Option(
            "--label", help="A label (task classify; repeat).", show_default=False, metavar="TEXT"
        ),
    ] = None,
    demos: DemosOption = None,
    route_policy: PolicyOption = "evidence",
    database_url: DatabaseUrlOption = None,
    max_new_tokens: TokensOption = 128,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Answer TEXT through its bridge language and show the route (language, bridge, score)."""
    from rich.console import Console

    from bridgex_chain.prompting.templates import TASKS

    if task not in TASKS:
        raise typer.BadParameter(f"use one of {', '.join(TASKS)}", param_hint="--task")
    query = argv_text(text)
    if query != text:
        Console(stderr=True).print(
            "[yellow]note:[/] the text is not valid UTF-8; its invalid bytes read as U+FFFD.",
            highlight=False,
        )
    request: dict[str, Any] = {
        "query": query,
        "lang": _language(lang),
        "answer_language": _language(answer_language),
        "passage": _option_text(passage),
        "options": [argv_text(o) for o in option] if option else None,
        "labels": [argv_text(x) for x in label] if label else None,
    }
    kind: TaskKind = next(t for t in TASKS if t == task)
    chain = make_chain(model, database_url, max_new_tokens, kind, demos, route_policy)
    if as_json:
        reply = chain.invoke(request)
        out = {"answer": reply.text, "bridgex": reply.response_metadata["bridgex"]}
        typer.echo(json_line(out))
        return
    _stream_answer(chain, request, Console())


_CHAT_HELP = """\
[bold]/help[/]        this list
[bold]/lang CODE[/]   your language from now on (any code form: sw, swh_Latn, Swahili)
[bold]/lang auto[/]   detect the language of each message again
[bold]/reset[/]       forget the conversation
[bold]/quit[/]        leave (also /exit, Ctrl-D, or Ctrl-C at an empty prompt)
Ctrl-C while an answer is coming cancels that turn. Start a message with // to send a
line that begins with /."""


class _ChatState:
    """What the chat commands change: the language override and the history."""

    def __init__(self, lang: str | None) -> None:
        self.lang = lang
        self.history: list[BaseMessage] = []


def _chat_command(line: str, state: _ChatState, console: Console) -> bool:
    """Run one slash command; return False when the session should end."""
    from bridgex_chain.errors import BridgeXError
    from bridgex_chain.languages import language_name, normalize

    name, _, arg = line.partition(" ")
    arg = arg.strip()
    if name in {"/quit", "/exit"}:
        return False
    if name in {"/help", "/?"}:
        console.print(_CHAT_HELP, highlight=False)
    elif name == "/reset":
        state.history.clear()
        console.print("[dim]conversation cleared[/]")
    elif name == "/lang" and not arg:
        now = "detected per message" if state.lang is None else safe(state.lang)
        console.print(f"[dim]language: {now} (/lang CODE or /lang auto to change)[/]")
    elif name == "/lang" and arg.lower() == "auto":
        state.lang = None
        console.print("[dim]language: detected per message[/]")
    elif name == "/lang":
        try:
            code = normalize(argv_text(arg))
        except BridgeXError as err:
            print_error(console, err)
        else:
            state.lang = code
            console.print(f"[dim]language: {safe(code)} ({safe(language_name(code))})[/]")
    else:
        console.print(
            f"[yellow]unknown command[/] {safe(name, newlines=False)}: /help lists the "
            "commands (start with // to send a message that begins with /)",
            highlight=False,
        )
    return True


def _read_line(console: Console) -> str | None:
    """The next line typed, or None at Ctrl-D / Ctrl-C (the session ends)."""
    while True:
        try:
            line: str = argv_text(console.input("[bold]you>[/] "))
            return line
        except (EOFError, KeyboardInterrupt):
            console.print()
            return None
        except UnicodeDecodeError:
            console.print("[yellow]that line was not valid UTF-8; type it again[/]")


def chat_command(
    model: ModelOption = None,
    lang: LangOption = None,
    answer_language: AnswerOption = None,
    demos: DemosOption = None,
    route_policy: PolicyOption = "evidence",
    database_url: DatabaseUrlOption = None,
    max_new_tokens: TokensOption = 128,
) -> None:
    """Chat in your language in the terminal; each turn shows its language and bridge.

    Type /help for the commands, /quit (or Ctrl-D) to leave. Ctrl-C cancels the answer
    being written; at an empty prompt it leaves.
    """
    from langchain_core.messages import AIMessage, HumanMessage
    from rich.console import Console

    from bridgex_chain.errors import BridgeXError

    console = Console()
    chain = make_chain(model, database_url, max_new_tokens, "chat", demos, route_policy)
    state = _ChatState(_language(lang))
    answer_lang = _language(answer_language)
    console.print("[dim]bridgex-chain chat: /help for the commands, /quit to leave[/]")
    while True:
        line = _read_line(console)
        if line is None:
            break
        text = line.strip()
        if not text:
            continue
        if text.startswith("/") and not text.startswith("//"):
            if not _chat_command(text, state, console):
                break
            continue
        if text.startswith("//"):
            text = text[1:]
        request = {
            "query": text,
            "history": list(state.history),
            "lang": state.lang,
            "answer_language": answer_lang,
        }
        try:
            answer, _ = _stream_answer(chain, request, console)
        except KeyboardInterrupt:
            console.print("\n[dim]turn cancelled (Ctrl-C); the conversation is unchanged[/]")
            continue
        except BridgeXError as err:
            print_error(console, err)
            continue
        state.history += [HumanMessage(text), AIMessage(answer)]


def register(app: typer.Typer) -> None:
    """Add the ``ask`` and ``chat`` commands to the CLI ``app``.

    Example:
        >>> import typer
        >>> app = typer.Typer()
        >>> register(app)
    """
    app.command("ask", cls=TidyCommand)(ask_command)
    app.command("chat", cls=TidyCommand)(chat_command)
