"""eval/verdict: the route policy's promise checked on a results dictionary."""

from __future__ import annotations

from typing import Any

import pytest

from bridgex_chain.eval.verdict import Check, routing_checks

BRIDGES = ("eng_Latn", "fra_Latn")


def paired(diff: float, p: float, n: int = 102) -> dict[str, Any]:
    return {"diff": diff, "p_value": p, "significant": p < 0.05, "n": n}


def entry(
    src: str,
    *,
    evidence: dict[str, Any] | None,
    bridge_tests: dict[str, dict[str, Any]] | None,
    bridged: int = 0,
    n: int = 102,
    vs_bridges: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    bridges = {
        b: {"score": 50.0 + i, "n": n, "vs_direct": t}
        for i, (b, t) in enumerate((bridge_tests or {}).items())
    }
    conditions = {}
    if evidence is not None:
        conditions["evidence"] = {
            "score": 50.0,
            "n": n,
            "bridged": bridged,
            "vs_direct": evidence,
            "vs_bridges": vs_bridges or {},
        }
    return {
        "task": "classify",
        "src": src,
        "trg": src,
        "n": n,
        "candidates": list(BRIDGES),
        "renderings": {"self": {"conditions": conditions, "bridges": bridges}},
    }


def pooled(vs_direct: dict[str, Any], vs_english: dict[str, Any]) -> dict[str, Any]:
    evidence = {"score": 60.0, "n": 204, "vs_direct": vs_direct, "vs_english": vs_english}
    return {"task": "classify", "renderings": {"self": {"conditions": {"evidence": evidence}}}}


NEUTRAL = {b: paired(-3.0, 0.4) for b in BRIDGES}


def by_claim(checks: list[Check]) -> list[bool | None]:
    return [c.holds for c in checks]


def test_a_policy_that_goes_direct_where_nothing_helps_keeps_every_promise() -> None:
    results = {
        "entries": [
            entry("ind_Latn", evidence=paired(0.0, 1.0), bridge_tests=NEUTRAL),
            entry("jpn_Jpan", evidence=paired(0.0, 1.0), bridge_tests=NEUTRAL),
        ],
        "pooled": [pooled(paired(0.0, 1.0, 204), paired(4.6, 0.0006, 204))],
    }
    checks = routing_checks(results)
    assert by_claim(checks) == [True, True, True, True, True]
    assert "Δ +4.6, p<0.001" in checks[1].detail and "204 paired items" in checks[1].detail
    assert checks[4].detail.startswith("2 languages go direct")


def test_a_language_significantly_worse_than_direct_fails() -> None:
    results = {
        "entries": [entry("swh_Latn", evidence=paired(-12.0, 0.01), bridge_tests=NEUTRAL)],
        "pooled": [pooled(paired(-1.0, 0.3), paired(-0.5, 0.8))],
    }
    checks = routing_checks(results)
    assert by_claim(checks)[:3] == [False, False, False]
    assert "swh_Latn Δ -12.0, p=0.010" in checks[2].detail


def test_where_a_bridge_helps_the_policy_must_bridge_and_keep_up_with_it() -> None:
    helping = {"eng_Latn": paired(-2.0, 0.5), "fra_Latn": paired(11.0, 0.01)}
    stays_direct = entry("swh_Latn", evidence=paired(0.0, 1.0), bridge_tests=helping)
    bridges = entry(
        "swh_Latn",
        evidence=paired(10.0, 0.02),
        bridge_tests=helping,
        bridged=90,
        vs_bridges={"fra_Latn": paired(-1.0, 0.7)},
    )
    lags = entry(
        "swh_Latn",
        evidence=paired(1.0, 0.9),
        bridge_tests=helping,
        bridged=100,
        vs_bridges={"fra_Latn": paired(-10.0, 0.01)},
    )
    for row, holds in ((stays_direct, False), (bridges, True), (lags, False)):
        checks = routing_checks({"entries": [row], "pooled": []})
        assert checks[3].holds is holds, checks[3].detail
        assert "fra beats direct (Δ +11.0, p=0.010)" in checks[3].detail
        assert checks[4].holds is True  # no language without a helping bridge


def test_bridging_where_no_bridge_helps_fails_the_last_check() -> None:
    row = entry("ind_Latn", evidence=paired(-1.0, 0.8), bridge_tests=NEUTRAL, bridged=30)
    checks = routing_checks({"entries": [row], "pooled": []})
    assert checks[4].holds is False and "ind_Latn bridged 30/102" in checks[4].detail


@pytest.mark.parametrize(
    ("row", "first_unmeasured"),
    [
        (entry("hau_Latn", evidence=paired(0.0, 1.0), bridge_tests=None), 3),  # no `all`
        (entry("hau_Latn", evidence=paired(0.0, 1.0), bridge_tests=NEUTRAL, n=28), 2),  # too few
        (entry("hau_Latn", evidence=None, bridge_tests=NEUTRAL), 2),  # no evidence arm
    ],
)
def test_what_the_run_lacks_is_not_measured_rather_than_passed(
    row: dict[str, Any], first_unmeasured: int
) -> None:
    checks = routing_checks({"entries": [row], "pooled": []})
    assert [c.holds for c in checks[:2]] == [None, None]  # no pooled row
    assert all(c.holds is None for c in checks[first_unmeasured:])
    assert "not measured: hau_Latn" in checks[4].detail
    assert checks[4].mark == "not measured"


def test_another_policy_and_task_are_read_by_name() -> None:
    row = entry("ind_Latn", evidence=paired(0.0, 1.0), bridge_tests=NEUTRAL)
    assert routing_checks({"entries": [row], "pooled": []}, policy="table")[2].holds is None
    assert routing_checks({"entries": [row], "pooled": []}, task="mrc")[2].holds is None
