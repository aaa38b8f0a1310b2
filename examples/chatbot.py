"""A chatbot for low-resource-language users: per-user history and language hints.

Each user has a session (LangChain's RunnableWithMessageHistory keeps the conversation) and may
have a language hint (for example stored in their profile): with a hint the chain skips language
detection, which matters for short messages ("Asante!") a detector cannot place.

    python examples/chatbot.py --user amina          # interactive, Swahili hint
    python examples/chatbot.py --user budi --demo    # a short scripted conversation
"""

from __future__ import annotations

import argparse
import warnings
from typing import Any

from langchain_core.chat_history import InMemoryChatMessageHistory
from langchain_core.messages import AIMessage
from langchain_core.runnables.history import RunnableWithMessageHistory

from bridgex_chain.chain import BridgeXChain

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


def show(user: str, text: str, answer: AIMessage) -> None:
    meta = answer.response_metadata["bridgex"]
    via = meta["bridge"] or f"direct: {meta['fallback']}"
    print(f"{user}> {text}\nbot [{meta['lang']} via {via}]> {answer.content}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--user", default="amina", choices=sorted(USER_LANGUAGES))
    parser.add_argument("--demo", action="store_true", help="play a scripted conversation")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    bot = Chatbot(BridgeXChain(database_url=args.database_url, max_new_tokens=40))
    if args.demo:
        for text in SCRIPT[args.user]:
            show(args.user, text, bot.reply(args.user, text))
        return
    print("Type a message (Ctrl-D or /exit to leave).")
    while True:
        try:
            text = input(f"{args.user}> ").strip()
        except EOFError:
            break
        if text == "/exit":
            break
        if text:
            show(args.user, text, bot.reply(args.user, text))


if __name__ == "__main__":
    main()
