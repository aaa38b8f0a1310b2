r"""Prompt wording, the records a task plan is made of, and parsing of model output.

The wording lives in package data (``prompting/templates/<task>.json``, one file per task plus
``render.json`` for rendering a text in the bridge language), so it can be read, reviewed and
overridden without touching code: :meth:`TemplateLibrary.load` merges a user directory of the
same JSON files over the packaged ones. Each file has a ``completion`` section (one text, for base
models such as the embedded Gemma-3-270m) and a ``chat`` section (messages, for chat models).
:mod:`bridgex_chain.prompting.tasks` turns a :class:`PromptRequest` into model calls with them.

Example:
    >>> lib = TemplateLibrary.load()
    >>> lib.get("render", "completion", "query").format(src="Swahili", bridge="French", text="maji")
    'Swahili: maji\nFrench:'
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

from langchain_core.messages import BaseMessage

from bridgex_chain.errors import BridgeXError
from bridgex_chain.prompting.demos import Demo

__all__ = [
    "CONTENT_FREE",
    "LETTERS",
    "TASKS",
    "DemoSource",
    "Lang",
    "ModelPrompt",
    "Prompt",
    "PromptPlan",
    "PromptRequest",
    "PromptStyle",
    "TaskKind",
    "TemplateLibrary",
    "parse_choice",
]

TaskKind = Literal["chat", "translate", "classify", "reading"]
PromptStyle = Literal["completion", "chat"]
Prompt = str | list[BaseMessage]
TASKS: tuple[TaskKind, ...] = get_args(TaskKind)
_FILES = ("render", *TASKS)
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CONTENT_FREE = "N/A"
"""What replaces the query in the content-free prompt of contextual calibration."""

DemoSource = Callable[[str, Sequence[str], bool], list[Demo]]
"""``(text, languages, labelled) -> demos``: demonstrations similar to ``text`` that have a text
in every language of ``languages`` (and a label when ``labelled``)."""


@dataclass(frozen=True, slots=True)
class Lang:
    """A language as a prompt needs it: FLORES-200 code and English name."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class ModelPrompt:
    """One model call: the prompt (text or messages), its stop strings and its purpose.

    A rendering call also names what it renders: ``source`` (the text) and ``target`` (the
    bridge's FLORES code), so a known rendering (a translation memory, or eval's gold parallel
    text) can stand in for the model's. Neither takes part in equality.
    """

    prompt: Prompt
    stop: tuple[str, ...] = ()
    purpose: Literal["render", "answer"] = "answer"
    source: str | None = field(default=None, compare=False)
    target: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class PromptRequest:
    """Everything a task needs to build its prompts.

    Attributes:
        task: Task kind.
        style: ``"completion"`` (one text, for base models) or ``"chat"`` (messages).
        query: The text routed (the user's last message, the question, the text to classify…).
        history: Messages before the query (``chat`` task only).
        trailing: Messages after the query, e.g. an agent's tool call and tool result.
        src: The query's language; ``None`` when unknown.
        answer: The answer (target) language; ``None`` when unknown.
        bridge: The bridge language; ``None`` means direct prompting.
        fields: Task fields: ``labels`` (classify), ``passage`` and ``options`` (reading),
            ``unit`` (``"word"``/``"sentence"``, translate).
        demos: Demonstration source, or ``None`` for zero-shot prompts.
    """

    task: str
    style: PromptStyle
    query: str
    history: tuple[BaseMessage, ...] = ()
    trailing: tuple[BaseMessage, ...] = ()
    src: Lang | None = None
    answer: Lang | None = None
    bridge: Lang | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    demos: DemoSource | None = None


@dataclass
class PromptPlan:
    """The planned answer call and what led to it.

    Attributes:
        answer: The final model call.
        rendering: The query (or passage) as the model rendered it in the bridge language.
        demo_ids: Ids of the demonstrations in the prompts.
        choices: Labels or options the answer is parsed to (classify, reading).
        letters: True when options are lettered (``A.``, ``B.``…).
        note: Why the plan fell back to direct prompting after rendering (e.g. empty rendering).
        content_free: For choices in completion style: the answer prompt with the query (and
            passage) replaced by ``N/A``, for contextual calibration of choice scores.
    """

    answer: ModelPrompt
    rendering: str | None = None
    demo_ids: list[str] = field(default_factory=list)
    choices: tuple[str, ...] = ()
    letters: bool = False
    note: str | None = None
    content_free: str | None = None


class TemplateLibrary:
    r"""The templates of every task: packaged JSON files, optionally overridden from a directory.

    Example:
        >>> lib = TemplateLibrary.load()
        >>> lib.get("classify", "completion", "direct_query")
        'Text: {text}\nLabel:'
    """

    def __init__(self, data: Mapping[str, Mapping[str, Any]]) -> None:
        self._data = data

    @classmethod
    def load(cls, directory: str | Path | None = None) -> TemplateLibrary:
        """Load the packaged templates, with keys from ``directory/<task>.json`` taking precedence.

        Raises:
            BridgeXError: A user template file is not valid JSON.
        """
        if directory is None:
            return _packaged_library()
        data = {name: _merge(base, {}) for name, base in _packaged_library()._data.items()}
        for name in _FILES:
            path = Path(directory) / f"{name}.json"
            if path.is_file():
                try:
                    data[name] = _merge(data[name], json.loads(path.read_text(encoding="utf-8")))
                except ValueError as err:
                    raise BridgeXError(f"Template file {path} is not valid JSON: {err}") from err
        return cls(data)

    def digest(self) -> str:
        """A short hash of every template (results that depend on the wording record it).

        Example:
            >>> TemplateLibrary.load().digest() == TemplateLibrary.load().digest()
            True
        """
        import hashlib

        text = json.dumps(self._data, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def get(self, task: str, style: str, key: str) -> str:
        """Return one template string."""
        value = self._data[task][style][key]
        return str(value)

    def stops(self, task: str, key: str = "stop") -> tuple[str, ...]:
        """Return the stop strings of a completion-style template."""
        return tuple(self._data[task]["completion"][key])


@functools.cache
def _packaged_library() -> TemplateLibrary:
    root = resources.files("bridgex_chain.prompting") / "templates"
    data = {name: json.loads((root / f"{name}.json").read_text("utf-8")) for name in _FILES}
    return TemplateLibrary(data)


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = {k: dict(v) if isinstance(v, Mapping) else v for k, v in base.items()}
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key].update(value)
        else:
            merged[key] = value
    return merged


# --------------------------------------------------------------------------- output parsing


def parse_choice(text: str, choices: Sequence[str], *, letters: bool = False) -> int | None:
    """Map generated text to the index of one of ``choices`` (None when nothing fits).

    Tries, in order: a leading option letter (when ``letters``), an exact match, a choice the
    text starts with, a choice the text contains (earliest wins), then a close fuzzy match.

    Example:
        >>> parse_choice(" Sports.", ["politics", "sports"])
        1
        >>> parse_choice("B) 1889", ["1789", "1889"], letters=True)
        1
    """
    raw = text.strip()
    if letters:
        match = re.match(r"^\(?([A-Z])(?:[).:\s]|$)", raw)
        if match and LETTERS.index(match.group(1)) < len(choices):
            return LETTERS.index(match.group(1))
    norm = raw.lower().strip(" \t\"'*.`")
    lowered = [c.lower() for c in choices]
    if norm in lowered:
        return lowered.index(norm)
    for i in sorted(range(len(lowered)), key=lambda j: -len(lowered[j])):
        if lowered[i] and norm.startswith(lowered[i]):
            return i
    found = [(norm.find(c), i) for i, c in enumerate(lowered) if c and c in norm]
    if found:
        return min(found)[1]
    close = difflib.get_close_matches(norm, lowered, n=1, cutoff=0.6)
    return lowered.index(close[0]) if close else None
