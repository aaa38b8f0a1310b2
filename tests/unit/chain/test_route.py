"""The route policy (chain/route.py) over a dict-backed BridgeLookup: every rule and fallback."""

from __future__ import annotations

import json

import pytest

from bridgex_chain.chain.route import BridgeLookup, Fallback, Route, RouteRule, lookup_route
from bridgex_chain.detect import Detection
from bridgex_chain.errors import NoBridgeFound
from bridgex_chain.store.records import Bridge
from bridgex_chain.store.table import BridgeTable

KEY = "google/gemma-3-270m"


class DictTable:
    """A BridgeLookup over ``{(src, trg): bridge}``; records every lookup."""

    def __init__(self, entries: dict[tuple[str, str], str]) -> None:
        self.entries = entries
        self.asked: list[tuple[str, str, str | None]] = []

    def best(self, model: str, src: str, trg: str | None = None) -> Bridge:
        self.asked.append((model, src, trg))
        bridge = self.entries.get((src, trg or src))
        if bridge is None:
            raise NoBridgeFound(f"no row for {model} {src}->{trg or src}")
        return Bridge(model, src, trg or src, bridge, 0.4, 0.01, 7)


def route(
    lang: str,
    entries: dict[tuple[str, str], str],
    *,
    confidence: float = 0.9,
    answer: str | None = None,
    key: str | None = KEY,
    min_confidence: float = 0.0,
) -> tuple[Route, DictTable]:
    table = DictTable(entries)
    found = lookup_route(
        Detection(lang, confidence),
        answer,
        open_table=lambda: table,
        model_key=key,
        min_confidence=min_confidence,
    )
    return found, table


def test_table_rule_takes_the_best_bridge() -> None:
    found, table = route("swh_Latn", {("swh_Latn", "swh_Latn"): "fra_Latn"})
    assert found.bridged and found.rule is RouteRule.TABLE
    assert found.bridge is not None and found.bridge.bridge == "fra_Latn"
    assert found.answer_language == "swh_Latn"
    assert table.asked == [(KEY, "swh_Latn", "swh_Latn")]


def test_answer_language_keys_the_entry() -> None:
    found, table = route("swh_Latn", {("swh_Latn", "eng_Latn"): "fra_Latn"}, answer="eng_Latn")
    assert found.bridged and found.answer_language == "eng_Latn"
    assert table.asked == [(KEY, "swh_Latn", "eng_Latn")]


def test_unknown_language_goes_direct_without_opening_the_table() -> None:
    def never() -> BridgeLookup:
        raise AssertionError("the table must not be opened")

    found = lookup_route(
        Detection("unknown", 0.0, reason="too-short"), None, open_table=never, model_key=KEY
    )
    assert (found.fallback, found.rule) == (Fallback.UNKNOWN_LANGUAGE, RouteRule.DIRECT)
    assert found.detail == "the detector abstained (too-short)"
    assert found.answer_language is None


def test_low_confidence_goes_direct() -> None:
    found, table = route("swh_Latn", {}, confidence=0.4, min_confidence=0.5)
    assert found.fallback is Fallback.LOW_CONFIDENCE and not found.bridged
    assert found.detail == "swh_Latn detected with confidence 0.40 < min_confidence 0.50"
    assert table.asked == []


@pytest.mark.parametrize("lang", ["eng_Latn", "deu_Latn", "fra_Latn", "ita_Latn", "por_Latn"])
def test_query_in_a_candidate_bridge_language_goes_direct_without_the_table(lang: str) -> None:
    found, table = route(lang, {(lang, lang): "spa_Latn"}, answer="swh_Latn")
    assert (found.fallback, found.rule, found.bridge) == (
        Fallback.QUERY_IS_A_BRIDGE,
        RouteRule.DIRECT,
        None,
    )
    assert found.answer_language == "swh_Latn" and table.asked == []
    assert f"{lang} is itself a candidate bridge language" in (found.detail or "")
    assert found.metadata({})["fallback"] == "query_is_a_bridge_language"


def test_query_in_a_bridge_language_goes_direct_even_without_a_model_key() -> None:
    found, _ = route("eng_Latn", {}, key=None)  # no set-up warning for an English query
    assert found.fallback is Fallback.QUERY_IS_A_BRIDGE


def test_unknown_and_unsure_languages_are_decided_before_the_bridge_language_rule() -> None:
    found, _ = route("eng_Latn", {}, confidence=0.3, min_confidence=0.5)
    assert found.fallback is Fallback.LOW_CONFIDENCE


def test_a_bridge_found_but_not_taken_is_reported_as_tried() -> None:
    found, _ = route("ind_Latn", {("ind_Latn", "ind_Latn"): "ind_Latn"})
    meta = found.metadata({})
    assert (meta["bridge"], meta["bridge_tried"], meta["score"]) == (None, "ind_Latn", None)
    bridged, _ = route("swh_Latn", {("swh_Latn", "swh_Latn"): "fra_Latn"})
    assert (bridged.metadata({})["bridge"], bridged.metadata({})["bridge_tried"]) == (
        "fra_Latn",
        None,
    )


def test_unnamed_model_goes_direct() -> None:
    found, table = route("swh_Latn", {("swh_Latn", "swh_Latn"): "fra_Latn"}, key=None)
    assert found.fallback is Fallback.NO_MODEL_KEY and found.model is None
    assert "pass model=" in (found.detail or "")
    assert table.asked == []


def test_no_row_and_no_close_language_goes_direct() -> None:
    found, _ = route("fin_Latn", {("swh_Latn", "swh_Latn"): "fra_Latn"})
    assert found.fallback is Fallback.NO_BRIDGE and found.bridge is None
    assert "fin_Latn" in (found.detail or "")


def test_bridge_equal_to_the_query_language_is_not_taken() -> None:
    found, _ = route("ind_Latn", {("ind_Latn", "ind_Latn"): "ind_Latn"})
    assert found.fallback is Fallback.BRIDGE_IS_QUERY_LANGUAGE
    assert found.bridge is not None and not found.bridged


def test_close_language_lends_its_bridge() -> None:
    found, table = route("zsm_Latn", {("ind_Latn", "ind_Latn"): "eng_Latn"})
    assert found.bridged and found.rule is RouteRule.CLOSE_LANGUAGE
    assert found.bridge is not None and found.bridge.src == "ind_Latn"
    assert found.metadata({})["bridge_via"] == "ind_Latn"
    assert table.asked[0] == (KEY, "zsm_Latn", "zsm_Latn")


def test_close_language_of_a_close_language_is_tried_last() -> None:
    found, table = route("min_Latn", {("ind_Latn", "ind_Latn"): "eng_Latn"})
    assert found.rule is RouteRule.CLOSE_LANGUAGE
    # min's own entry, then its close language (Malay), then Malay's (sorted: Banjar, Indonesian)
    assert [src for _, src, _ in table.asked] == ["min_Latn", "zsm_Latn", "bjn_Latn", "ind_Latn"]


def test_close_language_keeps_a_different_answer_language() -> None:
    found, table = route("zsm_Latn", {("ind_Latn", "eng_Latn"): "fra_Latn"}, answer="eng_Latn")
    assert found.bridged and table.asked[-1] == (KEY, "ind_Latn", "eng_Latn")


def test_cantonese_label_looks_up_chinese() -> None:
    found, table = route("yue_Hant", {("zho_Hans", "zho_Hans"): "eng_Latn"})
    assert found.bridged
    assert table.asked == [(KEY, "yue_Hant", "yue_Hant"), (KEY, "zho_Hans", "zho_Hans")]
    assert found.metadata({})["bridge_via"] is None  # Chinese's own entry, not a borrowed one


def test_a_variety_with_its_own_entry_uses_it_before_its_alias() -> None:
    rows = {("arz_Arab", "arz_Arab"): "fra_Latn", ("arb_Arab", "arb_Arab"): "eng_Latn"}
    found, table = route("arz_Arab", rows)
    assert found.bridge is not None and found.bridge.bridge == "fra_Latn"
    assert table.asked == [(KEY, "arz_Arab", "arz_Arab")]
    assert found.rule is RouteRule.TABLE and found.metadata({})["bridge_via"] is None


def test_metadata_carries_the_bridges_bootstrap_figures() -> None:
    row = Bridge(KEY, "swh_Latn", "swh_Latn", "fra_Latn", 4.1e-08, 1e-09, 3,
                 low=3.2e-08, high=5.0e-08, win_rate=0.875, resamples=200)  # fmt: skip
    meta = Route(Detection("swh_Latn", 0.9), bridge=row, rule=RouteRule.TABLE).metadata({})
    assert (meta["score"], meta["margin"], meta["run_id"]) == (4.1e-08, 1e-09, 3)
    assert (meta["score_low"], meta["score_high"], meta["win_rate"]) == (3.2e-08, 5.0e-08, 0.875)
    # A table without a bootstrap, and a bridge found but not taken: None.
    found, _ = route("swh_Latn", {("swh_Latn", "swh_Latn"): "fra_Latn"})
    assert [found.metadata({})[k] for k in ("score_low", "score_high", "win_rate")] == [None] * 3
    tried = Route(Detection("fra_Latn", 0.9), bridge=row, fallback=Fallback.EMPTY_RENDERING)
    meta = tried.metadata({})
    assert (meta["bridge_tried"], meta["score_low"], meta["win_rate"]) == ("fra_Latn", None, None)


def test_metadata_figures_come_from_the_bridge_table() -> None:
    from bridgex_chain.store.records import ModelProfile, RunRecord, ScoreRow

    table = BridgeTable("sqlite://")
    run = RunRecord(ModelProfile(KEY, "r", "gemma3_text", 18, 2048), "starter", "h",
                    ["swh_Latn"], ["fra_Latn", "eng_Latn"], {}, status="complete")  # fmt: skip
    table.upsert_run(
        run,
        [
            ScoreRow("sw", "sw", "fr", None, 4.1e-08, 6, 3.2e-08, 5.0e-08, 0.875, 200),
            ScoreRow("sw", "sw", "en", None, 3.0e-08, 6, 1.0e-08, 4.4e-08, 0.125, 200),
        ],
    )
    found = lookup_route(Detection("swh_Latn", 0.9), None, open_table=lambda: table, model_key=KEY)
    meta = found.metadata({})
    assert (meta["bridge"], meta["score_low"], meta["score_high"], meta["win_rate"]) == (
        "fra_Latn", 3.2e-08, 5.0e-08, 0.875
    )  # fmt: skip


def test_metadata_is_plain_json() -> None:
    found, _ = route("swh_Latn", {})
    meta = found.metadata({"swh_Latn": "Swahili"})
    assert meta["fallback"] == "no_bridge" and type(meta["fallback"]) is str
    assert meta["route_rule"] == "direct" and type(meta["route_rule"]) is str
    assert meta["lang_name"] == "Swahili"
    assert json.loads(json.dumps(meta)) == meta


@pytest.mark.parametrize(
    ("fallback", "setup"),
    [
        (Fallback.NO_BRIDGE, True),
        (Fallback.NO_MODEL_KEY, True),
        (Fallback.UNKNOWN_LANGUAGE, False),
        (Fallback.LOW_CONFIDENCE, False),
        (Fallback.BRIDGE_IS_QUERY_LANGUAGE, False),
        (Fallback.EMPTY_RENDERING, False),
        (Fallback.QUERY_IS_A_BRIDGE, False),
        (Fallback.EMPTY_INPUT, False),
    ],
)
def test_fallbacks_that_point_at_the_setup(fallback: Fallback, setup: bool) -> None:
    assert fallback.points_at_setup is setup


def test_bridge_table_and_a_dict_table_are_bridge_lookups() -> None:
    assert isinstance(BridgeTable("sqlite://"), BridgeLookup)
    assert isinstance(DictTable({}), BridgeLookup)
    assert not isinstance(object(), BridgeLookup)
