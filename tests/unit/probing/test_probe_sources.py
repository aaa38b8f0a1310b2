"""coverage_probe_set / resolve_probe_sources: each language's probes from its best source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bridgex_chain.errors import ProbeDataError
from bridgex_chain.probing import options as options_module
from bridgex_chain.probing.build import build_table
from bridgex_chain.probing.options import BuildOptions
from bridgex_chain.probing.parallel_probes import row_part
from bridgex_chain.probing.probe_sources import coverage_probe_set, resolve_probe_sources
from bridgex_chain.store.table import BridgeTable

#: Acehnese has no CLDR locale; Ilocano neither, and the corpus below has no Ilocano text.
CORPUS_LANGS = ("ace_Latn", "swh_Latn", "eng_Latn", "fra_Latn")


def _rows(n: int = 90) -> dict[str, dict[str, str]]:
    return {
        code: {str(i): f"{code[:3]} sentence number {i} here" for i in range(n)}
        for code in CORPUS_LANGS
    }


def test_each_language_gets_its_best_source_or_a_reason() -> None:
    built = coverage_probe_set(
        ["sw", "ace_Latn", "ilo_Latn", "en"], ["en", "fr"], parallel=_rows(), max_pairs=8
    )
    assert {k: s.kind for k, s in built.sources.items()} == {
        "swh_Latn": "cldr",
        "ace_Latn": "parallel",
        "ilo_Latn": "none",
    }  # the bridge English is no chat language here
    assert built.covered() == ["swh_Latn", "ace_Latn"]
    assert "parallel corpus has no text" in built.uncovered()["ilo_Latn"]
    assert built.uncovered()["ilo_Latn"].startswith("CLDR: ")
    ps = built.probe_set
    # only the directions the chat entries need, and the bridges between themselves
    expected = {(lang, b) for lang in ("swh_Latn", "ace_Latn") for b in ("eng_Latn", "fra_Latn")}
    expected |= {(b, a) for a, b in expected} | {
        ("eng_Latn", "fra_Latn"),
        ("fra_Latn", "eng_Latn"),
    }
    assert set(ps.directions()) == expected
    # Acehnese: sentence pairs from the probe part only; Swahili and the bridges: CLDR words
    ace = ps.word_pairs("ace_Latn", "eng_Latn")
    assert 0 < len(ace) <= 8 and all("sentence number" in w for w, _ in ace)
    ids = {w.split()[3] for w, _ in ace}
    assert {row_part(i) for i in ids} == {"probe"}
    assert dict(ps.word_pairs("swh_Latn", "eng_Latn"))["agosti"] == "august"
    assert all("sentence" not in w for w, _ in ps.word_pairs("eng_Latn", "fra_Latn"))
    assert ps.name == "cldr-starter-v1+parallel"
    assert built.sources_param()["ace_Latn"]["detail"] == f"{len(ace)} sentence pairs per bridge"


def test_without_a_corpus_only_cldr_languages_are_covered() -> None:
    built = coverage_probe_set(["sw", "ace_Latn"], ["en"])
    assert built.covered() == ["swh_Latn"]
    assert "no parallel corpus given" in built.uncovered()["ace_Latn"]
    assert built.probe_set.name == "cldr-starter-v1"


def test_bridges_need_cldr_and_the_corpus_needs_every_bridge() -> None:
    with pytest.raises(ProbeDataError, match=r"ace_Latn: .*Choose other --bridges"):
        coverage_probe_set(["sw"], ["en", "ace_Latn"])
    rows = _rows()
    del rows["fra_Latn"]
    with pytest.raises(ProbeDataError, match=r"no text in the bridge.* fra_Latn"):
        coverage_probe_set(["ace_Latn"], ["en", "fr"], parallel=rows)


def test_resolve_narrows_every_language_options_and_is_idempotent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(options_module, "flores_codes", lambda: frozenset({"swh_Latn", "ace_Latn"}))
    opts = BuildOptions.create(languages="all", bridges=["en", "fr"])
    assert opts.every_language and opts.languages == ("ace_Latn", "swh_Latn")
    resolved = resolve_probe_sources(opts)
    assert resolved.languages == ("swh_Latn",)  # no corpus: Acehnese has no probes
    assert resolved.probe_sources is not None
    assert [(lang, kind) for lang, kind, _ in resolved.probe_sources] == [
        ("ace_Latn", "none"),
        ("swh_Latn", "cldr"),
    ]
    assert resolve_probe_sources(resolved) is resolved
    plain = BuildOptions.create(languages=["sw"])
    assert resolve_probe_sources(plain) is plain


def test_resolve_refuses_when_no_language_has_probes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(options_module, "flores_codes", lambda: frozenset({"ace_Latn"}))
    with pytest.raises(ProbeDataError, match=r"No language has probes.*--parallel"):
        resolve_probe_sources(BuildOptions.create(languages="all", bridges=["en"]))


def _write_corpus(root: Path) -> Path:
    for code, texts in _rows(30).items():
        (root / code).mkdir(parents=True)
        lines = ["index_id\tcategory\ttext", *(f"{i}\tx\t{t}" for i, t in texts.items())]
        (root / code / "train.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def test_a_build_over_every_language_records_the_sources(
    tiny: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    detector = frozenset({"swh_Latn", "ace_Latn", "ilo_Latn", "eng_Latn", "fra_Latn"})
    monkeypatch.setattr(options_module, "flores_codes", lambda: detector)
    with BridgeTable(f"sqlite:///{tmp_path / 'bridges.db'}") as table:
        result = build_table(
            tiny,
            languages="all",
            bridges=["en", "fr"],
            parallel=_write_corpus(tmp_path / "sib"),
            render_pairs=2,
            max_prompts=4,
            top_rate=0.1,
            layers="0-2",
            resamples=0,
            threads=1,
            table=table,
            cache_dir=tmp_path / "cache",
        )
        assert {(e.src, e.trg) for e in result.entries} == {
            ("ace_Latn", "ace_Latn"),
            ("swh_Latn", "swh_Latn"),
        }
        (run,) = table.runs()
        assert {k: v["kind"] for k, v in run.params["probe_sources"].items()} == {
            "ace_Latn": "parallel",
            "ilo_Latn": "none",
            "swh_Latn": "cldr",
        }
        assert run.probe_set == "cldr-starter-v1+sib"  # the corpus directory names it
        assert set(result.checks) == {"ace_Latn", "swh_Latn"}  # render checks on the same run


def test_a_named_language_without_cldr_takes_parallel_sentences_or_is_refused(
    tmp_path: Path,
) -> None:
    corpus = _write_corpus(tmp_path / "sib")
    named = BuildOptions.create(languages=["sw", "ace_Latn"], bridges=["en", "fr"])
    with pytest.raises(ProbeDataError, match=r"No probes for ace_Latn: CLDR: .*--parallel"):
        resolve_probe_sources(named)
    with_corpus = BuildOptions.create(
        languages=["sw", "ace_Latn"], bridges=["en", "fr"], parallel=corpus
    )
    resolved = resolve_probe_sources(with_corpus)
    assert resolved.languages == ("swh_Latn", "ace_Latn")
    assert resolved.probe_set is not None and resolved.probe_set.name == "cldr-starter-v1+sib"
    assert [kind for _, kind, _ in resolved.probe_sources or ()] == ["cldr", "parallel"]
