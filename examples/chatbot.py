"""A chatbot for low-resource-language users: a LangGraph graph, history per user, language hints.

Each user is a LangGraph thread: the graph (``bridgex_chain.chain.chat_graph``) sends the
thread's messages through the bridged chain, and a checkpointer keeps every thread's state —
its messages and the user's language hint — in a SQLite file (or PostgreSQL, by URL), so a
conversation goes on after the program restarts. With a hint (for example from the user's
profile) the chain skips language detection, which matters for short messages ("Asante!") a
detector cannot place.

    python examples/chatbot.py --user amina            # interactive, Swahili hint
    python examples/chatbot.py --user budi --demo      # a short scripted conversation
    python examples/chatbot.py --user amina --message "Asante!"   # one turn, then exit
    python examples/chatbot.py --history postgresql://user@host/db
    python examples/chatbot.py --history legacy        # RunnableWithMessageHistory, in memory

Interactive keys: Enter sends, Ctrl-C while the bot is answering cancels that reply (the turn
is not kept in the history), Ctrl-C at the prompt leaves (exit status 130), Ctrl-D or ``/exit``
leaves (status 0). An error of the chain (a ``BridgeXError``) is printed as one line and the
conversation goes on.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from langchain_core.chat_history import InMemoryChatMessageHistory
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables.history import RunnableWithMessageHistory

from bridgex_chain.chain import BridgeXChain
from bridgex_chain.chain.chat_graph import chat_graph, open_checkpointer
from bridgex_chain.errors import BridgeXError
from bridgex_chain.paths import data_dir

USER_LANGUAGES = {"amina": "sw", "budi": "id", "juan": None}  # None: detect every message
SCRIPT = {
    "amina": ["Habari za asubuhi!", "Ninataka kujua hali ya hewa ya kesho Mombasa.", "Asante!"],
    "budi": ["Selamat pagi!", "Saya ingin tahu cuaca besok di Jakarta.", "Terima kasih!"],
    "juan": ["Magandang umaga!", "Gusto kong malaman ang lagay ng panahon bukas."],
}
LEGACY = "legacy"


class Bot(Protocol):
    """What the chat loop needs: an answer to one user's message."""

    def reply(self, user: str, text: str) -> AIMessage: ...


class Chatbot:
    """One bridged chain in a LangGraph graph; one thread per user, kept by ``checkpointer``.

    Args:
        chain: The chain that answers.
        checkpointer: A LangGraph checkpointer (``open_checkpointer``); None: in memory.
    """

    def __init__(self, chain: BridgeXChain, checkpointer: Any = None) -> None:
        if checkpointer is None:
            with open_checkpointer("memory") as memory:
                checkpointer = memory
        self.graph = chat_graph(chain, checkpointer=checkpointer)

    def reply(self, user: str, text: str) -> AIMessage:
        """Answer ``text`` from ``user`` (their thread's history and language hint).

        A turn that does not finish (Ctrl-C, a failed model call) leaves no trace: LangGraph
        checkpoints the human message before the reply, so the thread is rolled back to where
        it was.
        """
        update: dict[str, Any] = {"messages": [("human", text)]}
        if USER_LANGUAGES.get(user):  # a hint from the profile; the thread keeps it
            update["lang"] = USER_LANGUAGES[user]
        config: dict[str, Any] = {"configurable": {"thread_id": user}}
        before = self.graph.get_state(config)
        try:
            state = self.graph.invoke(update, config)
        except BaseException:
            self._roll_back(user, before)
            raise
        answer: AIMessage = state["messages"][-1]
        return answer

    def _roll_back(self, user: str, before: Any) -> None:
        """Make the thread's state the one ``before`` (a snapshot) had, again the latest."""
        if before.config["configurable"].get("checkpoint_id") is None:  # the thread was new
            self.graph.checkpointer.delete_thread(user)
        else:  # a fork of the earlier checkpoint that changes nothing becomes the latest
            self.graph.update_state(before.config, {"messages": []}, as_node="reply")

    def history(self, user: str) -> list[BaseMessage]:
        """The messages of ``user``'s thread, oldest first."""
        state = self.graph.get_state({"configurable": {"thread_id": user}})
        return list(state.values.get("messages", []))


class HistoryChatbot:
    """The same bot with langchain-core's ``RunnableWithMessageHistory`` (history in memory).

    ``RunnableWithMessageHistory`` is deprecated in favour of LangGraph persistence; the chain
    still works inside it for applications that have not moved.
    """

    def __init__(self, chain: BridgeXChain) -> None:
        self.histories: dict[str, InMemoryChatMessageHistory] = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            self.bot = RunnableWithMessageHistory(
                chain,
                lambda user: self.histories.setdefault(user, InMemoryChatMessageHistory()),
                input_messages_key="query",
                history_messages_key="history",
            )

    def reply(self, user: str, text: str) -> AIMessage:
        """Answer ``text`` from ``user`` (their language hint, their history)."""
        request: dict[str, Any] = {"query": text, "lang": USER_LANGUAGES.get(user)}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            answer: AIMessage = self.bot.invoke(request, {"configurable": {"session_id": user}})
        return answer


@contextlib.contextmanager
def open_bot(chain: BridgeXChain, history: str) -> Iterator[Bot]:
    """The bot for ``--history``: ``legacy``, ``memory``, a SQLite path or a PostgreSQL URL."""
    if history == LEGACY:
        yield HistoryChatbot(chain)
        return
    with open_checkpointer(history) as saver:
        yield Chatbot(chain, saver)


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
    bot: Bot,
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
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--demo", action="store_true", help="play a scripted conversation")
    mode.add_argument("--message", help="send one message, print the answer and exit")
    parser.add_argument("--database-url", help="the bridge table (default: the shipped one)")
    parser.add_argument(
        "--history",
        default=str(data_dir() / "chatbot-history.sqlite"),
        help="where conversations are kept: a SQLite path (the default), postgresql://…, "
        f"'memory', or '{LEGACY}' (RunnableWithMessageHistory, in memory)",
    )
    parser.add_argument(
        "--route-policy", default="evidence", choices=["evidence", "table", "english", "direct"]
    )
    args = parser.parse_args()
    chain = BridgeXChain(
        database_url=args.database_url, max_new_tokens=40, route_policy=args.route_policy
    )
    try:
        with open_bot(chain, args.history) as bot:
            if args.message is not None:
                print(bot_line(bot.reply(args.user, args.message)))
            elif args.demo:
                for text in SCRIPT[args.user]:
                    show(args.user, text, bot.reply(args.user, text))
            else:
                sys.exit(chat_loop(bot, args.user))
    except KeyboardInterrupt:
        print("\nInterrupted: bye.")
        sys.exit(130)
    except BridgeXError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
