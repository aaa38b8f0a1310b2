"""BuildOptions (parsing, checks, entries), the probe layout by direction, the default set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bridgex_chain.errors import BridgeXError, InvalidOption, ProbeDataError
from bridgex_chain.probing.options import (
    BuildOptions,
    default_probe_set,
    parse_layers,
    parse_pairs,
    parse_shard,
    probe_layout,
)
from bridgex_chain.probing.probe_set import ProbeSet

SW, EN, FR = "swh_Latn", "eng_Latn", "fra_Latn"


def test_options_entries_and_parsing() -> None:
    opts = BuildOptions.create(languages="sw,en,id", bridges=["en", "fr"], pairs="en-en,sw-fr")
    assert opts.entries() == [
        ("swh_Latn", "swh_Latn"),
        ("ind_Latn", "ind_Latn"),
        ("eng_Latn", "eng_Latn"),
        ("swh_Latn", "fra_Latn"),
    ]
    assert opts.involved_languages() == ["eng_Latn", "fra_Latn", "ind_Latn", "swh_Latn"]
    default = BuildOptions.create()
    assert len(default.entries()) == 9  # the 15 study languages minus the 6 bridges
    assert parse_pairs(["zh-ja", ("ar", "he")]) == (
        ("zho_Hans", "jpn_Jpan"),
        ("arb_Arab", "heb_Hebr"),
    )
    assert parse_layers("6-11") == (6, 11) and parse_layers([3, 4]) == (3, 4)
    for bad in ("sw", "sw-en-fr", "sw-"):
        with pytest.raises(ProbeDataError, match="source-target"):
            parse_pairs(bad)
    for bad_layers in ("11-6", "a-b", "-3"):
        with pytest.raises(ProbeDataError, match="layer window"):
            parse_layers(bad_layers)
    with pytest.raises(ProbeDataError, match="Nothing to build"):
        BuildOptions.create(languages=["en"], bridges=["en", "fr"])
    with pytest.raises(ValueError, match="top_rate"):
        BuildOptions.create(top_rate=0)
    with pytest.raises(TypeError, match="Unknown build option"):
        BuildOptions.create(colour="red")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("option", "value", "hint"),
    [
        ("batch_size", 0, "batch_size must be >= 1"),
        ("top_rate", 1.5, "top_rate must be in"),
        ("bridge_top_k", 0, "leave it unset"),
        ("max_prompts", 1, "HSIC needs two prompts"),
        ("corpus_max_tokens", 0, "read the whole corpus"),
        ("hsic_mode", "fast", "'standard' or 'reference'"),
        ("threads", 0, "torch's default"),
        ("aggregation", "median", "aggregation must be one of own, shared, zero"),
        ("resamples", -1, "0 skips the bootstrap"),
        ("render_pairs", 0, "render_pairs must be >= 1"),
        ("parallel", "/nonexistent/sib200", "not a directory"),
    ],
)
def test_out_of_range_options_raise_invalid_option(option: str, value: Any, hint: str) -> None:
    with pytest.raises(InvalidOption, match=hint) as err:
        BuildOptions.create(**{option: value})
    assert isinstance(err.value, BridgeXError) and isinstance(err.value, ValueError)


def test_create_normalises_codes_paths_and_defaults(tmp_path: Path) -> None:
    opts = BuildOptions.create(
        languages=" sw ; id,sw", bridges=["fr", "fra_Latn", "en"], corpus_dir=str(tmp_path)
    )
    assert opts.languages == (SW, "ind_Latn") and opts.bridges == (FR, EN)
    assert opts.corpus_dir == tmp_path and opts.layers is None and opts.hsic_mode == "standard"
    with pytest.raises(ProbeDataError, match="Unknown language"):
        BuildOptions.create(languages=["sw", "qqq1"])
    with pytest.raises(ProbeDataError, match="at least one candidate bridge"):
        BuildOptions.create(languages=["sw"], bridges=[])


def test_layout_records_a_shared_direction_once() -> None:
    ps = ProbeSet.from_pairs(
        "t",
        {
            ("sw", "en"): [("maji", "water"), ("moto", "fire"), ("jua", "sun")],
            ("en", "sw"): [("water", "maji")],
            ("fr", "en"): [("eau", "water")],
        },
    )
    layout = probe_layout(ps, [(SW, SW), (SW, EN)])
    assert list(layout.directions) == [(EN, SW), (SW, EN)]
    assert layout.entries == {(SW, SW): ((EN, SW), (SW, EN)), (SW, EN): ((SW, EN),)}
    assert layout.prompt_count((SW, SW)) == 4 and layout.prompt_count((SW, EN)) == 3
    assert layout.total_prompts == 4  # (sw, en) is shared by both entries, recorded once
    assert layout.users((SW, EN)) == [(SW, SW), (SW, EN)] and layout.users((EN, SW)) == [(SW, SW)]
    capped = probe_layout(ps, [(SW, EN)], max_prompts=2, seed=1)
    assert len(capped.directions[(SW, EN)]) == 2
    assert capped == probe_layout(ps, [(SW, EN)], max_prompts=2, seed=1)
    with pytest.raises(ProbeDataError, match="no word pairs for fra_Latn→swh_Latn"):
        probe_layout(ps, [(FR, SW)])


def test_options_layout_and_corpus_follow_the_entries(tmp_path: Path) -> None:
    ps = ProbeSet.from_pairs("t", {("sw", "en"): [("maji", "water"), ("moto", "fire")]})
    opts = BuildOptions.create(languages=["sw"], bridges=["en"], probe_set=ps, max_prompts=2)
    assert opts.layout(ps) == probe_layout(ps, [(SW, SW)], max_prompts=2)
    assert opts.corpus(ps).directory is None
    (tmp_path / "sw.txt").write_text("habari\n", encoding="utf-8")
    with_dir = BuildOptions.create(languages=["sw"], bridges=["en"], corpus_dir=tmp_path)
    with pytest.raises(ProbeDataError, match="no text for eng_Latn"):
        with_dir.corpus(ps)  # the bridges' neurons need text too
    (tmp_path / "en.txt").write_text("hello\n", encoding="utf-8")
    assert set(with_dir.corpus(ps).files) == {SW, EN}


def test_default_probe_set_covers_the_study_languages_and_the_extra_ones() -> None:
    ps = default_probe_set(["fin_Latn"])
    assert ps.name == "cldr-starter-v1"
    assert {"fin_Latn", SW, EN} <= set(ps.languages)


def test_dtype_and_device_are_checked_when_the_options_are_created(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import torch

    from bridgex_chain.models import DTYPES
    from bridgex_chain.probing.options import check_device, check_dtype

    assert [check_dtype(d.upper()) for d in DTYPES] == list(DTYPES)
    with pytest.raises(InvalidOption, match=r"Unknown dtype 'int8'.*float32, bfloat16"):
        BuildOptions.create(dtype="int8")
    assert BuildOptions.create(device=" CPU ", dtype="BFloat16").device == "cpu"
    for bad in ("tpu", "cuda:x", "cpu;rm", ""):
        with pytest.raises(InvalidOption, match="Unknown device"):
            check_device(bad)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(InvalidOption, match=r"sees no CUDA device.*Use 'cpu'"):
        BuildOptions.create(device="cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert check_device("cuda:1") == "cuda:1"
    with pytest.raises(InvalidOption, match=r"sees 2 CUDA device.*0 to 1"):
        check_device("cuda:2")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(InvalidOption, match="no MPS device"):
        check_device("mps")


def test_window_checks_the_layers_against_the_models_depth() -> None:
    assert BuildOptions.create().window(18) == range(6, 12)
    assert BuildOptions.create(layers="0-17").window(18) == range(0, 18)
    with pytest.raises(InvalidOption, match=r"30-40 does not fit m, whose 18 layers.*'6-11'"):
        BuildOptions.create(layers="30-40").window(18, "m")
    with pytest.raises(InvalidOption, match="0-17"):
        BuildOptions.create(layers="17-18").window(18, "m")


def test_exclude_and_shard_narrow_the_languages() -> None:
    every = BuildOptions.create(languages="all", exclude="study")
    assert every.every_language and len(every.languages or ()) == 205 - 15
    assert SW not in (every.languages or ())
    halves = [BuildOptions.create(languages="all", exclude="study", shard=f"{k}/2") for k in (1, 2)]
    first, second = (set(h.languages or ()) for h in halves)
    assert not first & second and first | second == set(every.languages or ())
    assert BuildOptions.create(languages=["sw", "id", "tl"], exclude="tl").languages == (
        "ind_Latn",
        SW,
    )
    assert BuildOptions.create(shard=(1, 15)).languages == ("arb_Arab",)  # the study list
    assert parse_shard("2 / 3") == (2, 3) and parse_shard(None) is None
    for bad in ("0/2", "3/2", "1-2"):
        with pytest.raises(InvalidOption):
            parse_shard(bad)
