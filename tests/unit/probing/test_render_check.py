"""The render check and the competence measure: arithmetic, intervals, errors, a tiny model."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pytest

from bridgex_chain.errors import ProbeDataError
from bridgex_chain.probing.render_check import competence, render_check


class Reader:
    """A fake model: a continuation costs 1 per word, minus 0.5 per word it shares with the
    prompt (so a target whose words the source gives away is likelier after the source)."""

    tokenizer = staticmethod(lambda text, add_special_tokens=False: {"input_ids": text.split()})

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, tuple[str, ...]]] = []

    def logprobs(self, prefix: str, query: str, continuations: Sequence[str]) -> list[float]:
        self.calls.append((prefix, query, tuple(continuations)))
        seen = set((prefix + query).split())
        return [-sum(0.5 if w in seen else 1.0 for w in c.split()) for c in continuations]


def test_the_gain_is_what_the_source_tells_about_the_bridge_sentence() -> None:
    model = Reader()
    pairs = [("Kenya ni nchi", "Kenya is a country"), ("Nairobi", "Nairobi"), ("x", "")]
    check = render_check(model, "sw", "en", pairs)
    assert (check.src, check.bridge, check.pairs) == ("swh_Latn", "eng_Latn", 2)  # empty skipped
    # pair 1: 'Kenya' shared -> +0.5 over 4 words; pair 2: +0.5 over 1 word
    assert check.gain == pytest.approx((0.5 / 4 + 0.5 / 1) / 2)
    assert check.low is not None and check.high is not None
    assert check.low < check.gain < check.high
    half = check.high - check.gain
    sd = math.sqrt(((0.125 - check.gain) ** 2 + (0.5 - check.gain) ** 2) / 1)
    assert half == pytest.approx(12.7062047 * sd / math.sqrt(2), rel=1e-6)  # t(0.975, 1 df)
    # the prompts name the languages; the baseline has only the bridge's name
    assert model.calls[0][1] == "Swahili: Kenya ni nchi\nEnglish:"
    assert model.calls[1][1] == "English:"


def test_one_pair_has_no_interval_and_no_pair_is_an_error() -> None:
    one = render_check(Reader(), "sw", "fr", [("a", "b")])
    assert (one.pairs, one.low, one.high) == (1, None, None)
    with pytest.raises(ProbeDataError, match="both sides"):
        render_check(Reader(), "sw", "fr", [("", "b"), ("a", " ")])


def test_competence_is_the_mean_per_token_log_likelihood() -> None:
    result = competence(Reader(), "id", ["saya makan", "Indonesian", ""])
    assert (result.lang, result.texts) == ("ind_Latn", 2)
    # three words, none of them in the prompt ("Indonesian:" is one word): -1 each
    assert result.logprob_per_token == pytest.approx(-3.0 / 3)
    with pytest.raises(ProbeDataError, match="competence"):
        competence(Reader(), "id", ["  "])


def test_on_a_tiny_model(make_tiny_lm: Any) -> None:
    from bridgex_chain.models.hf import HFCore

    model, tokenizer, _ = make_tiny_lm("llama")
    core = HFCore(model, tokenizer, "tiny")
    pairs = [("maji safi", "clean water"), ("habari ya asubuhi", "good morning")]
    check = render_check(core, "sw", "en", pairs)
    assert check.pairs == 2 and math.isfinite(check.gain)
    assert check.low is not None and check.low <= check.gain
    assert render_check(core, "sw", "en", pairs) == check  # deterministic
    level = competence(core, "sw", [p[0] for p in pairs])
    assert level.texts == 2 and level.logprob_per_token < 0


def test_a_shared_baseline_scores_each_bridge_sentence_once() -> None:
    model, memo = Reader(), dict[str, float]()
    pairs_sw = [("Kenya ni nchi", "Kenya is a country")]
    pairs_id = [("Kenya adalah negara", "Kenya is a country")]
    first = render_check(model, "sw", "en", pairs_sw, baseline=memo)
    second = render_check(model, "id", "en", pairs_id, baseline=memo)
    baselines = [c for c in model.calls if c[1] == "English:"]
    assert len(baselines) == 1 and list(memo) == [" Kenya is a country"]
    assert first.gain == pytest.approx(second.gain)  # 'Kenya' is given away by both sources


def test_check_language_with_a_part_samples_only_that_part_of_the_rows() -> None:
    from bridgex_chain.probing.parallel_probes import row_part
    from bridgex_chain.probing.render_check import check_language

    ids = [str(i) for i in range(60)]
    rows = {lang: {i: f"{lang} {i}" for i in ids} for lang in ("swh_Latn", "eng_Latn", "fra_Latn")}
    model = Reader()
    checks = check_language(model, "sw", ["en", "fr"], rows, pairs=100, part="check")
    check_ids = {i for i in ids if row_part(i) == "check"}
    assert checks.competence.texts == len(check_ids)
    assert all(r.pairs == len(check_ids) for r in checks.renders)
    measured = {q.split("\n")[0].rsplit(" ", 1)[1] for _, q, _ in model.calls if "\n" in q}
    assert measured == check_ids  # never a probe or held-out row
    everything = check_language(Reader(), "sw", ["en"], rows, pairs=100)
    assert everything.competence.texts == len(ids)  # no part: every row, as before
    no_check = {lang: {"6": "a", "8": "b"} for lang in ("swh_Latn", "eng_Latn")}  # probe rows
    with pytest.raises(ProbeDataError, match=r"in its 'check' part \(sha256-thirds-v1\)"):
        check_language(Reader(), "sw", ["en"], no_check, part="check")
