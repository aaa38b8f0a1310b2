"""Route policies as bridge lookups (chain/policies.py), alone and inside a chain."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from langchain_core.language_models import FakeListLLM

from bridgex_chain.chain import BridgeXChain
from bridgex_chain.chain.policies import FixedBridge, NoBridge, RandomBridge
from bridgex_chain.chain.route import BridgeLookup
from bridgex_chain.detect import Detection
from bridgex_chain.errors import InvalidOption, NoBridgeFound
from bridgex_chain.store.records import Bridge, RankedBridge
from bridgex_chain.store.table import BridgeTable

GEMMA = "google/gemma-3-270m"


def test_policies_are_bridge_lookups() -> None:
    for policy in (NoBridge(), FixedBridge("en"), RandomBridge(["fra_Latn"])):
        assert isinstance(policy, BridgeLookup)


def test_no_bridge_always_raises_no_bridge_found() -> None:
    with pytest.raises(NoBridgeFound, match="route policy 'direct'"):
        NoBridge().best(GEMMA, "swh_Latn", "eng_Latn")


def test_fixed_bridge_names_its_bridge_without_a_measured_score() -> None:
    row = FixedBridge("fr").best(GEMMA, "sw")
    assert (row.src, row.trg, row.bridge, row.score, row.margin, row.run_id) == (
        "swh_Latn",
        "swh_Latn",
        "fra_Latn",
        0.0,
        None,
        0,
    )
    assert row.provenance == {"policy": "fixed"}


def test_fixed_bridge_takes_the_score_of_the_wrapped_tables_ranking(
    make_bridge_db: Callable[..., str],
) -> None:
    url = make_bridge_db(GEMMA, {("swh_Latn", "swh_Latn"): {"fra_Latn": 0.41, "eng_Latn": 0.38}})
    with BridgeTable(url) as table:
        english = FixedBridge("eng_Latn", table=table).best(GEMMA, "swh_Latn")
        assert english.score == pytest.approx(0.38)
        assert english.margin == pytest.approx(-0.03)  # behind the table's own best
        unknown = FixedBridge("deu_Latn", table=table).best(GEMMA, "swh_Latn")
        assert unknown.score == 0.0
        no_entry = FixedBridge("eng_Latn", table=table).best(GEMMA, "fin_Latn")
        assert no_entry.score == 0.0 and no_entry.bridge == "eng_Latn"


def test_random_bridge_is_seeded_per_entry_and_avoids_the_query_language() -> None:
    candidates = ["fra_Latn", "deu_Latn", "spa_Latn", "ita_Latn"]
    policy = RandomBridge(candidates, seed=5)
    chosen = {src: policy.best(GEMMA, src).bridge for src in ("swh_Latn", "ind_Latn", "fin_Latn")}
    assert all(b in candidates for b in chosen.values())
    again = RandomBridge(candidates, seed=5)
    assert chosen == {src: again.best(GEMMA, src).bridge for src in chosen}
    seeds = {RandomBridge(candidates, seed=s).best(GEMMA, "swh_Latn").bridge for s in range(40)}
    assert len(seeds) > 1  # the seed matters
    assert RandomBridge(["fra_Latn", "spa_Latn"]).best(GEMMA, "fra_Latn").bridge == "spa_Latn"
    assert RandomBridge(candidates).best(GEMMA, "swh_Latn").provenance == {"policy": "random"}
    with pytest.raises(InvalidOption, match="at least one candidate"):
        RandomBridge([])


def test_a_chain_runs_under_a_policy() -> None:
    def chain(table: BridgeLookup) -> BridgeXChain:
        return BridgeXChain(
            llm=FakeListLLM(responses=[" Comment ?", " Nzuri."]),
            table=table,
            model=GEMMA,
            detector=lambda text: Detection("swh_Latn", 0.95),
        )

    bridged = chain(FixedBridge("fra_Latn")).invoke("Habari yako?")
    meta = bridged.response_metadata["bridgex"]
    assert (meta["bridge"], meta["fallback"], meta["rendering"]) == ("fra_Latn", None, "Comment ?")
    direct = chain(NoBridge()).invoke("Habari yako?").response_metadata["bridgex"]
    assert (direct["bridge"], direct["fallback"]) == (None, "no_bridge")


class _RankedTable:
    """A lookup whose ranking carries bootstrap figures."""

    def best(self, model: str, src: str, trg: str | None = None) -> Bridge:
        raise NotImplementedError

    def ranking(self, model: str, src: str, trg: str | None = None) -> list[RankedBridge]:
        return [
            RankedBridge("fra_Latn", 4e-8, 1, 6, low=3e-8, high=5e-8, win_rate=0.8, resamples=200),
            RankedBridge("eng_Latn", 2e-8, 2, 6, low=1e-8, high=4e-8, win_rate=0.2, resamples=200),
        ]


def test_fixed_bridge_carries_the_tables_bootstrap_figures() -> None:
    english = FixedBridge("eng_Latn", table=_RankedTable()).best(GEMMA, "swh_Latn")
    assert (english.low, english.high, english.win_rate, english.resamples) == (
        1e-8,
        4e-8,
        0.2,
        200,
    )
    assert english.margin == pytest.approx(-2e-8)
    plain = FixedBridge("eng_Latn").best(GEMMA, "swh_Latn")
    assert (plain.low, plain.high, plain.win_rate, plain.resamples) == (None, None, None, None)
