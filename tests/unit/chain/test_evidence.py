"""The evidence route policy: each rule, every fallback, the chain's metadata and the CLI's line."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from langchain_core.language_models.fake import FakeListLLM

from bridgex_chain.chain import BridgeXChain
from bridgex_chain.chain.evidence import (
    DEFAULT_THRESHOLDS,
    EvidencePolicy,
    EvidenceRule,
    EvidenceSource,
    EvidenceThresholds,
    LanguageEvidence,
    decide,
)
from bridgex_chain.chain.policies import FixedBridge, NoBridge, policy_lookup
from bridgex_chain.chain.route import Fallback, RouteRule
from bridgex_chain.errors import BridgeDeclined, InvalidOption, NoBridgeFound
from bridgex_chain.store.records import (
    CompetenceRow,
    ModelProfile,
    RankedBridge,
    RenderCheckRow,
    RunRecord,
    ScoreRow,
)
from bridgex_chain.store.table import BridgeTable

MODEL = "demo/model"
SW, EN, FR, ES = "swh_Latn", "eng_Latn", "fra_Latn", "spa_Latn"
OPEN = EvidenceThresholds(max_competence=-3.0, min_render_gain=0.0, min_win_rate=0.9)


def _ranking(*wins: tuple[str, float | None]) -> tuple[RankedBridge, ...]:
    """Candidates best first, scores 3e-8, 2e-8, ... and the given win rates."""
    return tuple(
        RankedBridge(b, (len(wins) - i) * 1e-8, i + 1, 6, win_rate=w)
        for i, (b, w) in enumerate(wins)
    )


def _render(bridge: str, gain: float, low: float | None) -> RenderCheckRow:
    high = None if low is None else gain + (gain - low)
    return RenderCheckRow(SW, bridge, 32, gain, low, high)


def _facts(
    competence: float | None = -4.0,
    renders: tuple[RenderCheckRow, ...] = (_render(EN, 0.5, 0.3), _render(FR, 0.2, 0.05)),
    ranking: tuple[RankedBridge, ...] = _ranking((FR, 0.95), (EN, 0.05)),
) -> LanguageEvidence:
    comp = None if competence is None else CompetenceRow(SW, 32, competence)
    return LanguageEvidence(comp, renders, ranking)


# ----------------------------------------------------------------------------- the rules


def test_no_competence_or_no_render_check_is_no_evidence() -> None:
    assert decide(_facts(competence=None), OPEN).rule is EvidenceRule.NO_EVIDENCE
    found = decide(_facts(renders=()), OPEN)
    assert (found.rule, found.bridge, found.competence) == (EvidenceRule.NO_EVIDENCE, None, -4.0)


def test_a_language_the_model_reads_well_goes_direct() -> None:
    found = decide(_facts(competence=-2.5), OPEN)
    assert (found.rule, found.bridge) == (EvidenceRule.READS_WELL, None)
    assert not found.rule.bridges
    # exactly at the threshold it may bridge: the rule is "above"
    assert decide(_facts(competence=-3.0), OPEN).rule.bridges


def test_no_render_check_above_the_threshold_goes_direct() -> None:
    renders = (_render(EN, 0.5, -0.1), _render(FR, 0.2, 0.0), _render(ES, 0.9, None))
    found = decide(_facts(renders=renders), OPEN)
    assert (found.rule, found.bridge, found.passed) == (EvidenceRule.RENDER_CHECK_FAILED, None, ())


def test_the_separable_best_scoring_candidate_that_renders_is_taken() -> None:
    found = decide(_facts(), OPEN)  # French ranks first in 95 % of resamples and renders
    assert (found.rule, found.bridge) == (EvidenceRule.SEPARABLE_SCORE, FR)
    assert (found.render_gain, found.render_low, found.win_rate) == (0.2, 0.05, 0.95)
    assert found.passed == (FR, EN)


def test_without_a_separable_candidate_the_best_rendered_one_is_taken() -> None:
    found = decide(_facts(ranking=_ranking((FR, 0.6), (EN, 0.4))), OPEN)
    assert (found.rule, found.bridge, found.render_gain) == (EvidenceRule.BEST_RENDERED, EN, 0.5)
    # no bootstrap at all (win rates None): not separable either
    assert decide(_facts(ranking=_ranking((FR, None), (EN, None))), OPEN).bridge == EN


def test_a_separable_candidate_that_fails_its_render_check_is_passed_over() -> None:
    renders = (_render(EN, 0.5, 0.3), _render(FR, 0.2, -0.01))
    found = decide(_facts(renders=renders), OPEN)  # French is separable but does not render
    assert (found.rule, found.bridge, found.passed) == (EvidenceRule.BEST_RENDERED, EN, (EN,))


def test_thresholds_are_checked_and_open_ended() -> None:
    with pytest.raises(InvalidOption, match="min_win_rate"):
        EvidenceThresholds(min_win_rate=1.5)
    with pytest.raises(InvalidOption, match="NaN"):
        EvidenceThresholds(max_competence=math.nan)
    never = EvidenceThresholds(max_competence=-math.inf)
    assert decide(_facts(), never).rule is EvidenceRule.READS_WELL
    always = EvidenceThresholds(max_competence=math.inf, min_render_gain=-math.inf)
    assert decide(_facts(competence=-0.1), always).bridge == FR


def test_the_decision_explains_itself_with_its_numbers() -> None:
    meta = decide(_facts(competence=-2.0), OPEN).metadata()
    assert meta["rule"] == "reads_well" and meta["competence"] == -2.0
    assert meta["thresholds"] == {
        "max_competence": -3.0,
        "min_render_gain": 0.0,
        "min_win_rate": 0.9,
    }
    assert "-2.00 nats per token is above the bridging threshold -3.00" in decide(
        _facts(competence=-2.0), OPEN
    ).explain(SW)
    assert "build-table --parallel" in decide(_facts(renders=()), OPEN).explain(SW)


# ----------------------------------------------------------------------------- over a table


def _table(url: str, *, checks: bool = True, competence: float = -4.0) -> BridgeTable:
    table = BridgeTable(url)
    run = RunRecord(
        ModelProfile(MODEL, "r1", "llama", 4, 16), "unit", "h1",
        [SW, EN, FR], [EN, FR], {"window": [1, 3]},
    )  # fmt: skip
    run_id = table.begin_run(run)
    if checks:
        table.store_render_checks(
            run_id,
            [
                RenderCheckRow(SW, EN, 32, 0.5, 0.3, 0.7),
                RenderCheckRow(SW, FR, 32, 0.2, 0.05, 0.35),
            ],
            [CompetenceRow(SW, 32, competence)],
        )
    table.complete_run(
        run_id,
        [
            ScoreRow(SW, SW, FR, None, 3e-8, 3, low=2e-8, high=4e-8, win_rate=0.6, resamples=50),
            ScoreRow(SW, SW, EN, None, 2e-8, 3, low=1e-8, high=3e-8, win_rate=0.4, resamples=50),
        ],
    )
    return table


def test_a_bridge_table_is_an_evidence_source_and_the_default_policy_wraps_it(
    tmp_path: Path,
) -> None:
    with _table(f"sqlite:///{tmp_path / 't.db'}") as table:
        assert isinstance(table, EvidenceSource)
        wrapped = policy_lookup(table)
        assert isinstance(wrapped, EvidencePolicy) and wrapped.thresholds == DEFAULT_THRESHOLDS
        assert policy_lookup(table, "table") is table
        assert isinstance(policy_lookup(table, "direct"), NoBridge)
        assert policy_lookup(table, "english").best(MODEL, SW).bridge == EN
        # a lookup that stores no checks is its own policy
        fixed = FixedBridge(FR)
        assert policy_lookup(fixed) is fixed
        with pytest.raises(InvalidOption, match="route_policy"):
            policy_lookup(table, "tabel")  # type: ignore[arg-type]


def test_the_policy_reads_the_runs_checks_and_returns_the_chosen_row(tmp_path: Path) -> None:
    with _table(f"sqlite:///{tmp_path / 't.db'}") as table:
        policy = EvidencePolicy(table, OPEN)
        row = policy.best(MODEL, "sw")
        assert (row.bridge, row.score, row.win_rate) == (EN, 2e-8, 0.4)
        assert row.margin == pytest.approx(-1e-8)  # below the table's best (French)
        evidence = row.provenance["evidence"]
        assert evidence["rule"] == "best_rendered" and evidence["passed"] == [FR, EN]
        assert row.provenance["policy"] == "evidence"
        assert policy.decision(MODEL, SW).bridge == EN
        with pytest.raises(NoBridgeFound):
            policy.best(MODEL, "fin_Latn")  # no entry: not a decline


def test_the_policy_declines_with_the_rule_and_its_numbers(tmp_path: Path) -> None:
    with _table(f"sqlite:///{tmp_path / 't.db'}", competence=-1.0) as table:
        with pytest.raises(BridgeDeclined, match="reads swh_Latn well enough") as err:
            EvidencePolicy(table, OPEN).best(MODEL, SW)
        assert err.value.evidence["rule"] == "reads_well"
        assert err.value.evidence["competence"] == -1.0


def _chain(table: BridgeTable, **kw: object) -> BridgeXChain:
    return BridgeXChain(
        llm=FakeListLLM(responses=["Hello", "Fine."] * 4),
        table=table,
        model=MODEL,
        **kw,  # type: ignore[arg-type]
    )


def test_the_chain_bridges_on_evidence_and_says_which_rule_fired(tmp_path: Path) -> None:
    with _table(f"sqlite:///{tmp_path / 't.db'}") as table:
        chain = _chain(table, evidence_thresholds=OPEN)
        meta = chain.invoke({"query": "Habari yako?", "lang": "sw"}).response_metadata["bridgex"]
        assert meta["bridge"] == EN and meta["route_rule"] == str(RouteRule.EVIDENCE)
        assert meta["evidence"]["rule"] == "best_rendered"
        assert meta["evidence"]["render_gain"] == 0.5 and meta["win_rate"] == 0.4
        # route_policy="table" takes the HSIC best instead, with no evidence
        meta = (
            _chain(table, route_policy="table")
            .invoke({"query": "Habari yako?", "lang": "sw"})
            .response_metadata["bridgex"]
        )
        assert (meta["bridge"], meta["route_rule"], meta["evidence"]) == (FR, "table", None)


def test_the_chain_goes_direct_when_the_evidence_says_so(tmp_path: Path) -> None:
    with _table(f"sqlite:///{tmp_path / 't.db'}", competence=-1.0) as table:
        reply = _chain(table, evidence_thresholds=OPEN).invoke({"query": "Habari?", "lang": "sw"})
        meta = reply.response_metadata["bridgex"]
        assert meta["bridge"] is None and meta["fallback"] == str(Fallback.EVIDENCE_DIRECT)
        assert meta["evidence"]["rule"] == "reads_well"
        assert "reads swh_Latn well enough" in meta["fallback_detail"]
        assert meta["model_calls"] == 1  # no rendering call


def test_a_table_without_checks_goes_direct_with_no_evidence(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with _table(f"sqlite:///{tmp_path / 't.db'}", checks=False) as table:
        chain = _chain(table)
        for _ in range(2):
            meta = chain.invoke({"query": "Habari?", "lang": "sw"}).response_metadata["bridgex"]
            assert meta["fallback"] == str(Fallback.NO_EVIDENCE) and meta["bridge"] is None
        assert Fallback.NO_EVIDENCE.points_at_setup
        warned = [r for r in caplog.records if r.levelname == "WARNING"]
        assert len(warned) == 1 and "--parallel" in warned[0].getMessage()


def test_a_close_language_entry_the_evidence_declines_is_reported_as_declined(
    tmp_path: Path,
) -> None:
    # Congo Swahili (swc_Latn) has no entry; Swahili's entry is declined for competence
    with _table(f"sqlite:///{tmp_path / 't.db'}", competence=-1.0) as table:
        reply = _chain(table, evidence_thresholds=OPEN).invoke({"query": "Habari?", "lang": "swc"})
        meta = reply.response_metadata["bridgex"]
        assert meta["fallback"] == str(Fallback.EVIDENCE_DIRECT)
        assert meta["evidence"]["rule"] == "reads_well"


def test_english_and_direct_policies_need_no_checks(tmp_path: Path) -> None:
    with _table(f"sqlite:///{tmp_path / 't.db'}", checks=False) as table:
        english = _chain(table, route_policy="english").invoke({"query": "Habari?", "lang": "sw"})
        assert english.response_metadata["bridgex"]["bridge"] == EN
        direct = _chain(table, route_policy="direct").invoke({"query": "Habari?", "lang": "sw"})
        assert direct.response_metadata["bridgex"]["fallback"] == str(Fallback.NO_BRIDGE)


def test_an_unknown_route_policy_is_refused_with_the_choices() -> None:
    with pytest.raises(Exception, match="evidence, table, english, direct"):
        BridgeXChain(route_policy="sometimes")  # type: ignore[arg-type]


def test_the_default_thresholds_are_the_ones_chosen_on_dev_data() -> None:
    import json

    chosen = json.loads(
        (Path(__file__).parents[3] / "docs" / "results" / "dev" / "thresholds.json").read_text()
    )
    assert chosen["split"] == "dev" and chosen["model"] == "google/gemma-3-270m"
    assert DEFAULT_THRESHOLDS.max_competence == pytest.approx(chosen["max_competence"], abs=5e-3)
    # on dev, no bridged language set gained significantly, so none is bridged by default
    assert chosen["bridged"] == [] and not any(s["admissible"] for s in chosen["steps"])
