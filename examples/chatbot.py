"""A chatbot for low-resource-language users: per-user history and language hints.

Each user has a session (LangChain's RunnableWithMessageHistory keeps the conversation) and may
have a language hint (for example stored in their profile): with a hint the chain skips language
detection, which matters for short messages ("Asante!") a detector cannot place.

    python examples/chatbot.py --user amina          # interactive, Swahili hint
    python examples/chatbot.py --user budi --demo    # a short scripted conversation

Interactive keys: Enter sends, Ctrl-C while the bot is answering cancels that reply (the turn
is not kept in the history), Ctrl-C at the prompt leaves (exit status 130), Ctrl-D or ``/exit``
leaves (status 0). An error of the chain (a ``BridgeXError``) is printed as one line and the
conversation goes on.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable
from typing import Any

from langchain_core.chat_history import InMemoryChatMessageHistory
from langchain_core.messages import AIMessage
from langchain_core.runnables.history import RunnableWithMessageHistory

from bridgex_chain.chain import BridgeXChain
from bridgex_chain.errors import BridgeXError

# RunnableWithMessageHistory is deprecated in favour of LangGraph persistence, but it is still
# the langchain-core way to keep history around a Runnable.
warnings.filterwarnings("ignore", message=".*deprecated.*", category=DeprecationWarning)

USER_LANGUAGES = {"amina": "sw", "budi": "id", "juan": None}  # None: detect every message
SCRIPT = {
    "amina": ["Habari za asubuhi!", "Ninataka kujua hali ya hewa ya kesho Mombasa.", "Asante!"],
    "budi": ["Selamat pagi!", "Saya ingin tahu cuaca besok di Jakarta.", "Terima kasih!"],
    "juan": ["Magandang umaga!", "Gusto kong malaman ang lagay ng panahon bukas."],
}


class Chatbot:
    """One bridged chain, one history per user."""

    def __init__(self, chain: BridgeXChain) -> None:
        self.histories: dict[str, InMemoryChatMessageHistory] = {}
        self.bot = RunnableWithMessageHistory(
            chain,
            lambda user: self.histories.setdefault(user, InMemoryChatMessageHistory()),
            input_messages_key="query",
            history_messages_key="history",
        )

    def reply(self, user: str, text: str) -> AIMessage:
        """Answer ``text`` from ``user`` (their language hint, their history)."""
        request: dict[str, Any] = {"query": text, "lang": USER_LANGUAGES.get(user)}
        answer: AIMessage = self.bot.invoke(request, {"configurable": {"session_id": user}})
        return answer


NOT_TEXT = "error: that line is not UTF-8 text; set your terminal to UTF-8 and type it again\n"


def is_text(text: str) -> bool:
    """Whether ``text`` is Unicode text (no lone surrogates, as undecodable input becomes)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def bot_line(answer: AIMessage) -> str:
    """The bot's answer, labelled with the language and the route."""
    meta = answer.response_metadata["bridgex"]
    via = meta["bridge"] or f"direct: {meta['fallback']}"
    return f"bot [{meta['lang']} via {via}]> {answer.content}"


def show(user: str, text: str, answer: AIMessage) -> None:
    """Print a scripted turn: the user's line (nobody typed it) and the bot's answer."""
    print(f"{user}> {text}\n{bot_line(answer)}\n")


def chat_loop(
    bot: Chatbot,
    user: str,
    read: Callable[[str], str] = input,
    write: Callable[[str], None] = print,
) -> int:
    """Talk with ``user`` until Ctrl-D, ``/exit`` (0) or Ctrl-C at the prompt (130).

    The terminal already shows what the user typed after the prompt, so only the answer is
    written. Ctrl-C during an answer cancels that turn; a ``BridgeXError`` is one line.
    """
    write("Type a message (Ctrl-D or /exit to leave, Ctrl-C cancels a reply).")
    while True:
        try:
            text = read(f"{user}> ").strip()
        except EOFError:  # Ctrl-D: end the prompt's line, then leave
            write("")
            return 0
        except KeyboardInterrupt:
            write("\nInterrupted: bye.")
            return 130
        except UnicodeDecodeError:  # a terminal or pipe that is not UTF-8
            write(NOT_TEXT)
            continue
        if not is_text(text):  # undecodable bytes smuggled in as lone surrogates
            write(NOT_TEXT)
            continue
        if text in {"/exit", "/quit"}:
            return 0
        if not text:
            continue
        try:
            answer = bot.reply(user, text)
        except KeyboardInterrupt:
            write("(reply cancelled; Ctrl-C again at the prompt to leave)\n")
            continue
        except BridgeXError as err:
            write(f"error: {err}\n")
            continue
        write(f"{bot_line(answer)}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--user", default="amina", choices=sorted(USER_LANGUAGES))
    parser.add_argument("--demo", action="store_true", help="play a scripted conversation")
    parser.add_argument("--database-url")
    parser.add_argument(
        "--route-policy", default="evidence", choices=["evidence", "table", "english", "direct"]
    )
    args = parser.parse_args()
    chain = BridgeXChain(
        database_url=args.database_url, max_new_tokens=40, route_policy=args.route_policy
    )
    bot = Chatbot(chain)
    if not args.demo:
        sys.exit(chat_loop(bot, args.user))
    try:
        for text in SCRIPT[args.user]:
            show(args.user, text, bot.reply(args.user, text))
    except KeyboardInterrupt:
        print("\nInterrupted: bye.")
        sys.exit(130)


if __name__ == "__main__":
    main()
