"""Choosing the evidence policy's competence threshold on dev items."""

from __future__ import annotations

import pytest

from bridgex_chain.errors import InvalidOption
from bridgex_chain.eval.thresholds import DevLanguage, choose_max_competence

ENG = "eng_Latn"


def _lang(code: str, competence: float, wins: int, losses: int, ties: int = 40) -> DevLanguage:
    """``wins`` items only the bridge gets right, ``losses`` only direct, ``ties`` both."""
    direct = [False] * wins + [True] * losses + [True] * ties
    bridged = [True] * wins + [False] * losses + [True] * ties
    return DevLanguage(code, competence, ENG, direct, bridged)


def test_the_weak_languages_that_gain_significantly_are_bridged() -> None:
    langs = [
        _lang("swh_Latn", -4.9, wins=20, losses=2),
        _lang("hun_Latn", -4.3, wins=12, losses=3),
        _lang("ind_Latn", -4.0, wins=2, losses=15),
    ]
    choice = choose_max_competence(langs)
    assert choice.bridged == ("swh_Latn", "hun_Latn")
    assert choice.max_competence == pytest.approx((-4.3 + -4.0) / 2)
    assert [s.k for s in choice.steps] == [1, 2, 3]
    assert [s.admissible for s in choice.steps] == [True, True, False]
    assert choice.steps[1].wins == 32 and choice.steps[1].losses == 5


def test_without_a_significant_gain_nothing_is_bridged() -> None:
    langs = [_lang("swh_Latn", -4.9, wins=6, losses=4), _lang("ind_Latn", -4.0, 3, 9)]
    choice = choose_max_competence(langs, margin=0.5)
    assert choice.bridged == () and choice.max_competence == pytest.approx(-5.4)
    assert not any(s.admissible for s in choice.steps)


def test_all_bridged_puts_the_threshold_above_the_strongest() -> None:
    choice = choose_max_competence([_lang("swh_Latn", -4.9, 20, 1), _lang("hun_Latn", -4.3, 20, 1)])
    assert choice.bridged == ("swh_Latn", "hun_Latn")
    assert choice.max_competence == pytest.approx(-3.8)
    assert choice.to_json()["steps"][0]["langs"] == ["swh_Latn"]


def test_languages_without_a_bridge_are_left_out_and_items_must_pair() -> None:
    none = DevLanguage("yor_Latn", -6.0, None, [True] * 5)
    choice = choose_max_competence([none, _lang("swh_Latn", -4.9, 20, 1)])
    assert choice.bridged == ("swh_Latn",)
    with pytest.raises(InvalidOption, match="No dev language"):
        choose_max_competence([none])
    with pytest.raises(InvalidOption, match="pair the same dev items"):
        DevLanguage("swh_Latn", -4.9, ENG, [True] * 3, [True] * 2)
