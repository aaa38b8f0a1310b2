"""Stop strings: whole-text cuts and the streaming filter agree on every way of splitting a text."""

import random

import pytest

from bridgex_chain.models.stops import StopFilter, clean_completion, cut_at_stop

TEXTS = [
    " Habari yako\nUser: hi",
    "no stop at all ",
    '  "eau"→English:',
    "Nzuri sana, asante.\nAssistant: more",
    "\nUser:",
]
STOPS = ["\nUser:", "\nAssistant:", "→"]


def test_cut_at_stop_takes_the_earliest_stop() -> None:
    assert cut_at_stop("abc\ndef", ["\n", "b"]) == "a"
    assert cut_at_stop("abc", []) == "abc"
    assert cut_at_stop("abc", ["", "z"]) == "abc"  # empty stops are ignored
    assert cut_at_stop("a→b→c", ["→"]) == "a"


@pytest.mark.parametrize("strip", [False, True])
def test_stream_equals_whole_text_for_any_split(strip: bool) -> None:
    rng = random.Random(0)
    for text in TEXTS:
        want = cut_at_stop(text.lstrip() if strip else text, STOPS)
        want = want.rstrip() if strip else want
        for _ in range(40):
            cuts = sorted(rng.sample(range(len(text) + 1), k=min(4, len(text))))
            pieces = [text[i:j] for i, j in zip([0, *cuts], [*cuts, len(text)], strict=True)]
            filt = StopFilter(STOPS, strip=strip)
            joined = "".join(filt.feed(p) for p in pieces) + filt.flush()
            assert joined == want, (text, pieces)


def test_filter_emits_early_and_holds_only_possible_stops() -> None:
    filt = StopFilter(["\nUser:"])
    assert filt.feed(" Habari") == "Habari"
    assert filt.feed(" yako\nUs") == " yako"  # "\nUs" may still become the stop string
    assert not filt.done
    assert filt.feed("er: hi") == ""
    assert filt.done
    assert filt.feed("more") == "" and filt.flush() == ""


def test_filter_without_strip_keeps_whitespace_and_flushes_the_held_tail() -> None:
    filt = StopFilter(["\nUser:"], strip=False)
    assert filt.feed(" water ") == " water "
    assert filt.feed("\nUs") == ""
    assert filt.flush() == "\nUs"  # the stream ended before the stop string was complete


@pytest.mark.parametrize(
    ("text", "stop", "expected"),
    [
        (" Habari yako\nUser: hi", ["\nUser:"], "Habari yako"),
        ("  eau\n", ["\n"], "eau"),
        ("no stop at all  ", ["\n\n"], "no stop at all"),
        ("a\n\nb\nUser:", ["\nUser:", "\n\n"], "a"),
        ("", ["\n"], ""),
    ],
)
def test_clean_completion(text: str, stop: list[str], expected: str) -> None:
    assert clean_completion(text, stop) == expected


def test_stop_filter_joined_equals_clean_completion_for_any_split() -> None:
    rng = random.Random(7)
    stops = ["\nUser:", "\n\n", "→"]
    texts = [
        " Habari yako\nUser: hi",
        " abc \n\nxyz",
        "  x\n",
        "no stop here  ",
        "a\nUs",
        "\n\nUser: x",
        ' "eau"→English:',
        "Nzuri sana, asante.\nAssistant: more",
    ]
    for text in texts:
        for _ in range(40):
            cuts = sorted(rng.sample(range(len(text) + 1), k=min(4, len(text))))
            pieces = [text[i:j] for i, j in zip([0, *cuts], [*cuts, len(text)], strict=True)]
            filt = StopFilter(stops)
            joined = "".join(filt.feed(p) for p in pieces) + filt.flush()
            assert joined == clean_completion(text, stops), (text, pieces)


def test_stop_filter_emits_early_and_holds_only_possible_stops() -> None:
    filt = StopFilter(["\nUser:"])
    assert filt.feed(" Habari") == "Habari"
    assert filt.feed(" yako\nUs") == " yako"  # "\nUs" may still become the stop string
    assert filt.feed("er: hi") == ""
    assert filt.done
    assert filt.feed("more") == ""


def test_stop_filter_without_strip_keeps_whitespace() -> None:
    filt = StopFilter(["\n"], strip=False)
    assert filt.feed(" water ") == " water "
    assert filt.feed("\nnext") == ""
    assert filt.flush() == ""
