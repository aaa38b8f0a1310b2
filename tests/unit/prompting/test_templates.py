"""Template files, output cleaning (batch and streaming) and choice parsing."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from bridgex_chain.errors import BridgeXError
from bridgex_chain.prompting.templates import (
    TASKS,
    TemplateLibrary,
    parse_choice,
)


def test_every_packaged_file_has_both_styles() -> None:
    root = resources.files("bridgex_chain.prompting") / "templates"
    for name in ("render", *TASKS):
        data = json.loads((root / f"{name}.json").read_text("utf-8"))
        assert set(data) >= {"completion", "chat"}, name
        assert all(isinstance(v, str | list) for v in data["completion"].values())
        assert "stop" in data["completion"], name


def test_packaged_library_is_shared_and_reads_keys() -> None:
    assert TemplateLibrary.load() is TemplateLibrary.load()
    lib = TemplateLibrary.load()
    assert lib.get("translate", "completion", "word_render") == '{src}:"{text}"→{bridge}:"'
    assert lib.stops("chat") == ("\nUser", "\nAssistant", "\n\n")
    assert lib.stops("translate", "word_stop") == ('"', "\n", "→")


def test_user_directory_overrides_single_keys(tmp_path: Path) -> None:
    (tmp_path / "chat.json").write_text(
        json.dumps({"chat": {"system": "Jibu kwa {answer} tafadhali."}}), encoding="utf-8"
    )
    lib = TemplateLibrary.load(tmp_path)
    assert lib.get("chat", "chat", "system") == "Jibu kwa {answer} tafadhali."
    # Keys the user did not override keep the packaged text, and the cache is untouched.
    assert lib.get("chat", "completion", "answer") == "Assistant:"
    assert TemplateLibrary.load().get("chat", "chat", "system") == "Reply in {answer}."


def test_broken_user_template_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "classify.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(BridgeXError, match=r"classify\.json"):
        TemplateLibrary.load(tmp_path)


@pytest.mark.parametrize(
    ("text", "letters", "expected"),
    [
        ("sports", False, 1),
        (" Sports.", False, 1),
        ("science/technology", False, 0),
        ("The topic is politics, clearly", False, 2),
        ("sprots", False, 1),  # close fuzzy match
        ("weather", False, None),
        ("B", True, 1),
        ("(C) 1889", True, 2),
        ("A. science/technology", True, 0),
        ("Z", True, None),  # a letter outside the options is not a choice
        ("politics", True, 2),  # option text still matches when letters are allowed
    ],
)
def test_parse_choice(text: str, letters: bool, expected: int | None) -> None:
    choices = ["science/technology", "sports", "politics"]
    assert parse_choice(text, choices, letters=letters) == expected


def test_parse_choice_prefers_longest_prefix() -> None:
    assert parse_choice("science/technology news", ["science", "science/technology"]) == 1
