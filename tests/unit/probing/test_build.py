"""build_table() end to end on tiny random models: rows, resume, failure, no-op, export."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bridgex_chain.errors import ProbeDataError
from bridgex_chain.probing import steps as steps_module
from bridgex_chain.probing.build import RunStore, build_table, wrap_model
from bridgex_chain.probing.options import BuildOptions
from bridgex_chain.probing.probe_set import ProbeSet
from bridgex_chain.probing.results import ProgressEvent
from bridgex_chain.store.precomputed import read_table_file
from bridgex_chain.store.records import CompetenceRow, RenderCheckRow, RunRecord, ScoreRow
from bridgex_chain.store.table import BridgeTable

#: The languages of the ``probe_set`` fixture (tests/unit/probing/conftest.py).
LANGS = ("sw", "id", "tl", "en", "fr")


@pytest.fixture
def fast_options(fast_options: dict[str, Any]) -> dict[str, Any]:
    """The conftest's fast options, on one thread."""
    # oversubscribed OpenMP threads are many times slower on a shared CPU
    return {**fast_options, "threads": 1}


@pytest.fixture
def where(tmp_path: Path) -> Iterator[dict[str, Any]]:
    table = BridgeTable(f"sqlite:///{tmp_path / 'bridges.db'}")
    yield {"table": table, "cache_dir": tmp_path / "cache"}
    table.close()


class MemoryStore:
    """A dict-backed :class:`RunStore`: what build_table needs of a table, without SQL."""

    url = "memory://runs"

    def __init__(self) -> None:
        self.records: dict[int, RunRecord] = {}
        self.rows: dict[int, list[ScoreRow]] = {}
        self.checks: dict[int, tuple[list[RenderCheckRow], list[CompetenceRow]]] = {}
        self.calls: list[str] = []

    def runs(self, model: str | None = None) -> list[RunRecord]:
        self.calls.append("runs")
        return [replace(r) for r in self.records.values() if model in (None, r.profile.model)]

    def scores(self, run_id: int) -> list[ScoreRow]:
        self.calls.append("scores")
        return list(self.rows.get(run_id, []))

    def begin_run(self, run: RunRecord) -> int:
        self.calls.append("begin_run")
        for run_id, stored in self.records.items():
            if (stored.profile, stored.params, stored.started_at) == (
                run.profile,
                run.params,
                run.started_at,
            ):
                if stored.status != "complete":
                    stored.status = "running"
                run.run_id, run.status = run_id, stored.status
                return run_id
        run.run_id, run.status = len(self.records) + 1, "running"
        self.records[run.run_id] = replace(run)
        return run.run_id

    def complete_run(self, run_id: int, rows: Sequence[ScoreRow] = ()) -> None:
        self.calls.append("complete_run")
        self.rows[run_id] = list(rows)
        self.records[run_id].status = "complete"

    def fail_run(self, run_id: int, error: str) -> None:
        self.calls.append("fail_run")
        self.records[run_id].status, self.records[run_id].error = "failed", error

    def store_render_checks(
        self,
        run_id: int,
        checks: Sequence[RenderCheckRow],
        competence: Sequence[CompetenceRow] = (),
    ) -> None:
        self.calls.append("store_render_checks")
        self.checks[run_id] = (list(checks), list(competence))

    def render_checks(self, run_id: int) -> list[RenderCheckRow]:
        return list(self.checks.get(run_id, ([], []))[0])

    def competence(self, run_id: int) -> list[CompetenceRow]:
        return list(self.checks.get(run_id, ([], []))[1])


def _sorted_rows(rows: list[Any]) -> list[tuple[Any, ...]]:
    return sorted(
        (r.src, r.trg, r.bridge, -1 if r.layer is None else r.layer, r.score) for r in rows
    )


class Counter:
    """Wraps a function of the steps module and counts its calls."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
        self.calls = 0
        real = getattr(steps_module, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(steps_module, name, wrapper)


@pytest.mark.parametrize("arch", ["llama", "mistral", "qwen2", "gemma3_text"])
def test_build_writes_ranked_rows(
    arch: str,
    make_tiny_lm: Any,
    probe_set: ProbeSet,
    where: dict[str, Any],
    fast_options: dict[str, Any],
) -> None:
    model, tokenizer, _ = make_tiny_lm(arch)
    lm = wrap_model(model, tokenizer, key=f"tiny/{arch}")
    events: list[ProgressEvent] = []
    result = build_table(
        lm, probe_set=probe_set, on_progress=events.append, **fast_options, **where
    )

    assert result.status == "built"
    assert [(e.src, e.trg) for e in result.entries] == [
        ("swh_Latn", "swh_Latn"),
        ("ind_Latn", "ind_Latn"),
        ("ind_Latn", "tgl_Latn"),
    ]
    table: BridgeTable = where["table"]
    (run,) = table.runs(f"tiny/{arch}")
    assert run.status == "complete" and run.run_id == result.run_id
    assert run.params["entries"] == [[s, t] for s, t in [(e.src, e.trg) for e in result.entries]]
    stored = table.scores(result.run_id)
    assert _sorted_rows(stored) == _sorted_rows(result.rows())
    assert result.rows_written == len(stored) > 0
    for entry in result.entries:
        assert entry.prompts > 0
        ranked = entry.ranking.ranked
        assert ranked, f"no bridge scored for {entry.src}->{entry.trg}"
        assert [r.score for r in ranked] == sorted((r.score for r in ranked), reverse=True)
        best = table.best(f"tiny/{arch}", entry.src, entry.trg)
        assert best.bridge == ranked[0].bridge
        assert best.score == pytest.approx(ranked[0].score)
        aggregates = [r for r in entry.rows() if r.layer is None]
        assert all(r.layers_scored is not None and 1 <= r.layers_scored <= 3 for r in aggregates)
        # the bootstrap's figures ride on the aggregates, and the table gives them back
        assert all(r.resamples is not None and r.resamples >= 1 for r in aggregates)
        assert all(r.low is not None and r.high is not None and r.low <= r.high for r in aggregates)
        assert sum(r.win_rate or 0.0 for r in aggregates) == pytest.approx(1.0)
        assert best.win_rate == pytest.approx(entry.confidence[best.bridge].win_rate)
    assert run.params["bootstrap"]["resamples"] >= 1 and run.params["aggregation"] == "shared"
    # the chat entry uses every direction involving the language: 2 per other language
    sw = result.entries[0]
    assert sw.prompts == 6 * 2 * (len(LANGS) - 1)
    stages = [e.stage for e in events]
    assert stages.index("neurons") < stages.index("probes") < stages.index("scores")
    assert events[-1] == ProgressEvent("write", 1, 1, table.url)
    assert set(result.timings) >= {"load", "neurons", "probes", "scores", "write", "total"}


def test_resume_after_interruption_gives_the_same_table(
    tiny: Any,
    probe_set: ProbeSet,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fast_options: dict[str, Any],
) -> None:
    with BridgeTable(f"sqlite:///{tmp_path / 'a.db'}") as table_a:
        reference = build_table(
            tiny, probe_set=probe_set, table=table_a, cache_dir=tmp_path / "ca", **fast_options
        )
        expected = _sorted_rows(table_a.scores(reference.run_id))

    class Boom(RuntimeError):
        pass

    def explode(event: ProgressEvent) -> None:
        if event.stage == "scores" and event.done == 1:
            raise Boom("killed after one entry")

    table_b = BridgeTable(f"sqlite:///{tmp_path / 'b.db'}")
    with pytest.raises(Boom):
        build_table(
            tiny,
            probe_set=probe_set,
            table=table_b,
            cache_dir=tmp_path / "cb",
            on_progress=explode,
            **fast_options,
        )
    (failed,) = table_b.runs()
    assert failed.status == "failed" and "killed after one entry" in (failed.error or "")

    neurons = Counter(monkeypatch, "count_language_neurons")
    probes = Counter(monkeypatch, "record_prompt_means")
    scores = Counter(monkeypatch, "score_pair")
    resumed = build_table(
        tiny, probe_set=probe_set, table=table_b, cache_dir=tmp_path / "cb", **fast_options
    )
    assert resumed.status == "resumed"
    assert (neurons.calls, probes.calls, scores.calls) == (0, 0, 2)
    (run,) = table_b.runs()
    assert run.status == "complete" and run.run_id == failed.run_id == resumed.run_id
    assert _sorted_rows(table_b.scores(run.run_id or 0)) == expected
    table_b.close()


def test_resume_mid_probes_records_only_the_missing_directions(
    tiny: Any,
    probe_set: ProbeSet,
    where: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    fast_options: dict[str, Any],
) -> None:
    def explode(event: ProgressEvent) -> None:
        if event.stage == "probes" and event.detail == "ind_Latn__swh_Latn":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_table(tiny, probe_set=probe_set, on_progress=explode, **fast_options, **where)
    opts = BuildOptions.create(probe_set=probe_set, **fast_options)
    directions = list(opts.layout(probe_set).directions)
    done = directions.index(("ind_Latn", "swh_Latn"))
    probes = Counter(monkeypatch, "record_prompt_means")
    neurons = Counter(monkeypatch, "count_language_neurons")
    build_table(tiny, probe_set=probe_set, **fast_options, **where)
    assert neurons.calls == 0
    assert probes.calls == len(directions) - done


def test_failure_marks_the_run_failed_and_keeps_earlier_runs(
    tiny: Any,
    probe_set: ProbeSet,
    where: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    fast_options: dict[str, Any],
) -> None:
    table: BridgeTable = where["table"]
    first = build_table(tiny, probe_set=probe_set, **fast_options, **where)
    before = _sorted_rows(table.scores(first.run_id))
    best_before = table.best("tiny/llama", "sw")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("HSIC exploded")

    monkeypatch.setattr(steps_module, "score_pair", broken)
    with pytest.raises(RuntimeError, match="HSIC exploded"):
        build_table(tiny, probe_set=probe_set, **{**fast_options, "top_rate": 0.2}, **where)
    runs = {r.run_id: r for r in table.runs()}
    assert len(runs) == 2
    assert runs[first.run_id].status == "complete"
    (failed,) = [r for r in runs.values() if r.run_id != first.run_id]
    assert failed.status == "failed" and "HSIC exploded" in (failed.error or "")
    assert _sorted_rows(table.scores(first.run_id)) == before
    assert table.best("tiny/llama", "sw") == best_before


def test_rerunning_a_complete_build_is_a_no_op(
    tiny: Any,
    probe_set: ProbeSet,
    where: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    fast_options: dict[str, Any],
) -> None:
    first = build_table(tiny, probe_set=probe_set, **fast_options, **where)
    probes = Counter(monkeypatch, "record_prompt_means")
    again = build_table(tiny, probe_set=probe_set, **fast_options, **where)
    # a fresh cache directory (no manifest) still finds the identical complete run
    elsewhere = build_table(
        tiny,
        probe_set=probe_set,
        table=where["table"],
        cache_dir=where["cache_dir"] / "x",
        **fast_options,
    )
    assert probes.calls == 0
    for result in (again, elsewhere):
        assert result.status == "unchanged" and result.run_id == first.run_id
        assert result.rows_written == 0
        assert _sorted_rows(result.rows()) == _sorted_rows(first.rows())
    assert len(where["table"].runs()) == 1


def test_a_new_database_reuses_the_cached_scores(
    tiny: Any,
    probe_set: ProbeSet,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fast_options: dict[str, Any],
) -> None:
    cache = tmp_path / "cache"
    first = build_table(
        tiny, probe_set=probe_set, database_url=f"sqlite:///{tmp_path / 'a.db'}",
        cache_dir=cache, **fast_options,
    )  # fmt: skip
    assert not (Path(first.cache_path) / "probes").exists()  # pruned after success
    probes = Counter(monkeypatch, "record_prompt_means")
    scores = Counter(monkeypatch, "score_pair")
    second = build_table(
        tiny, probe_set=probe_set, database_url=f"sqlite:///{tmp_path / 'b.db'}",
        cache_dir=cache, **fast_options,
    )  # fmt: skip
    assert second.status == "resumed" and (probes.calls, scores.calls) == (0, 0)
    assert _sorted_rows(second.rows()) == _sorted_rows(first.rows())


def test_a_build_resumes_from_its_json_files_alone(
    tiny: Any,
    probe_set: ProbeSet,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fast_options: dict[str, Any],
) -> None:
    """Groups, scores and render checks are enough: no neuron is counted, no probe recorded."""
    cache = tmp_path / "cache"
    parallel = _write_parallel(tmp_path / "sib")
    options = {**fast_options, "parallel": parallel, "render_pairs": 2}
    first = build_table(
        tiny, probe_set=probe_set, database_url=f"sqlite:///{tmp_path / 'a.db'}",
        cache_dir=cache, **options,
    )  # fmt: skip
    kept = Path(first.cache_path)
    for heavy in ("neurons", "probes"):
        shutil.rmtree(kept / heavy, ignore_errors=True)
    assert sorted(p.name for p in kept.iterdir()) == ["groups", "manifest.json", "render", "scores"]
    neurons = Counter(monkeypatch, "count_language_neurons")
    probes = Counter(monkeypatch, "record_prompt_means")
    checks = Counter(monkeypatch, "check_language")
    second = build_table(
        tiny, probe_set=probe_set, database_url=f"sqlite:///{tmp_path / 'b.db'}",
        cache_dir=cache, **options,
    )  # fmt: skip
    assert second.status == "resumed"
    assert (neurons.calls, probes.calls, checks.calls) == (0, 0, 0)
    assert _sorted_rows(second.rows()) == _sorted_rows(first.rows())
    assert second.checks == first.checks


def test_export_writes_the_run_in_the_precomputed_format(
    tiny: Any,
    probe_set: ProbeSet,
    where: dict[str, Any],
    tmp_path: Path,
    fast_options: dict[str, Any],
) -> None:
    out = tmp_path / "tiny.json"
    result = build_table(tiny, probe_set=probe_set, export=out, **fast_options, **where)
    assert result.export_path == out
    ((record, rows),) = read_table_file(out)
    assert record.profile.model == "tiny/llama" and record.params["top_rate"] == 0.1
    assert record.probe_set_hash == probe_set.content_hash
    assert _sorted_rows(rows) == _sorted_rows(result.rows())
    # intermediates: probe activations pruned, counts and scores kept
    cache = Path(result.cache_path)
    assert not (cache / "probes").exists()
    assert len(list((cache / "scores").glob("*.json"))) == 3
    assert json.loads((cache / "manifest.json").read_text())["status"] == "complete"


def test_window_only_bridge_top_k_and_reference_mode(
    tiny: Any, probe_set: ProbeSet, where: dict[str, Any], fast_options: dict[str, Any]
) -> None:
    result = build_table(
        tiny,
        probe_set=probe_set,
        all_layers=False,
        bridge_top_k=3,
        hsic_mode="reference",
        **{**fast_options, "layers": "1-2"},
        **where,
    )
    assert result.window == (1, 2)
    layers = {r.layer for r in result.rows() if r.layer is not None}
    assert layers <= {1, 2} and layers
    (run,) = where["table"].runs()
    assert run.params["bridge_top_k"] == 3 and run.params["layers_scored"] == "window"
    assert run.params["hsic_mode"] == "reference"


def test_filter_understood_records_only_understood_probes(
    tiny: Any,
    probe_set: ProbeSet,
    where: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    fast_options: dict[str, Any],
) -> None:
    def every_other(model: Any, tokenizer: Any, prompts: list[str], targets: Any, **kw: Any) -> Any:
        return [i % 2 == 0 for i in range(len(prompts))]

    monkeypatch.setattr(steps_module, "understood_pairs", every_other)
    result = build_table(tiny, probe_set=probe_set, filter_understood=True, **fast_options, **where)
    sw = result.entries[0]
    assert sw.prompts == 3 * 2 * (len(LANGS) - 1)  # 6 prompts per direction, half kept
    masks = list((Path(result.cache_path) / "understood").glob("*.npy"))
    assert masks and np.load(masks[0], allow_pickle=False).dtype == bool


def test_a_corpus_directory_missing_a_language_fails_before_any_work(
    tmp_path: Path,
    tiny: Any,
    probe_set: ProbeSet,
    where: dict[str, Any],
    fast_options: dict[str, Any],
) -> None:
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "sw.txt").write_text("habari ya asubuhi\n", encoding="utf-8")
    with pytest.raises(ProbeDataError, match="no text for"):
        build_table(tiny, probe_set=probe_set, corpus_dir=root, **fast_options, **where)
    assert where["table"].runs() == []


def test_probe_set_without_the_pair_fails_before_any_work(
    tiny: Any, probe_set: ProbeSet, where: dict[str, Any], fast_options: dict[str, Any]
) -> None:
    with pytest.raises(ProbeDataError, match="no word pairs for zho_Hans"):
        build_table(tiny, probe_set=probe_set, **{**fast_options, "pairs": "zh-ja"}, **where)
    assert where["table"].runs() == []


def test_bridge_table_is_a_run_store(tmp_path: Path) -> None:
    with BridgeTable(f"sqlite:///{tmp_path / 't.db'}") as table:
        store: RunStore = table  # mypy checks the fit; the build only uses these members
        assert store.runs() == [] and store.url.startswith("sqlite")


def test_build_writes_into_any_run_store(
    tiny: Any, probe_set: ProbeSet, tmp_path: Path, fast_options: dict[str, Any]
) -> None:
    store = MemoryStore()
    first = build_table(
        tiny, probe_set=probe_set, table=store, cache_dir=tmp_path / "c", **fast_options
    )
    assert first.status == "built" and first.database_url == "memory://runs"
    (record,) = store.records.values()
    assert record.status == "complete" and record.run_id == first.run_id
    assert _sorted_rows(store.rows[first.run_id]) == _sorted_rows(first.rows())
    assert store.calls == ["runs", "begin_run", "complete_run"]

    # the identical build finds the complete twin through runs() and reads its rows back
    store.calls.clear()
    again = build_table(
        tiny, probe_set=probe_set, table=store, cache_dir=tmp_path / "d", **fast_options
    )
    assert again.status == "unchanged" and again.run_id == first.run_id
    assert store.calls == ["runs", "scores"]
    assert _sorted_rows(again.rows()) == _sorted_rows(first.rows())


def test_a_failing_build_marks_the_run_failed_in_the_store(
    tiny: Any, probe_set: ProbeSet, tmp_path: Path, fast_options: dict[str, Any]
) -> None:
    store = MemoryStore()

    def explode(event: ProgressEvent) -> None:
        if event.stage == "scores":
            raise RuntimeError("no more room")

    with pytest.raises(RuntimeError, match="no more room"):
        build_table(
            tiny, probe_set=probe_set, table=store, cache_dir=tmp_path / "c",
            on_progress=explode, **fast_options,
        )  # fmt: skip
    (record,) = store.records.values()
    assert record.status == "failed" and record.error == "RuntimeError: no more room"
    assert "complete_run" not in store.calls


def _write_parallel(root: Path) -> Path:
    """A SIB-200-layout train split for the build's languages and bridges (4 rows).

    Rows 0-2 are in the partition's ``"check"`` part (row 3 is held out), so the render checks
    measure 3 pairs (:func:`~bridgex_chain.probing.parallel_probes.row_part`).
    """
    rows = {
        "swh_Latn": ["maji safi", "habari yako", "timu ilishinda", "mvua kubwa"],
        "ind_Latn": ["air bersih", "apa kabar", "tim menang", "hujan deras"],
        "eng_Latn": ["clean water", "how are you", "the team won", "heavy rain"],
        "fra_Latn": ["eau propre", "comment vas-tu", "l'équipe a gagné", "forte pluie"],
    }
    for lang, texts in rows.items():
        (root / lang).mkdir(parents=True)
        lines = ["index_id\tcategory\ttext", *(f"{i}\tx\t{t}" for i, t in enumerate(texts))]
        (root / lang / "train.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def test_a_parallel_corpus_adds_render_checks_per_chat_language(
    tiny: Any,
    probe_set: ProbeSet,
    where: dict[str, Any],
    fast_options: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parallel = _write_parallel(tmp_path / "sib")
    events: list[ProgressEvent] = []
    options = {**fast_options, "parallel": parallel, "render_pairs": 3}
    result = build_table(tiny, probe_set=probe_set, on_progress=events.append, **options, **where)
    assert set(result.checks) == {"swh_Latn", "ind_Latn"}  # the chat entries' languages
    sw = result.checks["swh_Latn"]
    assert sw.competence.texts == 3 and sw.competence.logprob_per_token < 0
    assert [r.bridge for r in sw.renders] == ["eng_Latn", "fra_Latn"]
    assert all(r.pairs == 3 and r.low is not None for r in sw.renders)
    assert "render" in result.timings and any(e.stage == "render" for e in events)
    (run,) = where["table"].runs()
    assert run.params["render_check"] == {
        "parallel": "sib",
        "split": "train",
        "pairs": 3,
        "rows": "check part of sha256-thirds-v1",
    }
    # cached per language: a resumed build of the same run reads the checks back
    cache = Path(result.cache_path)
    assert sorted(p.name for p in (cache / "render").glob("*.json")) == [
        "ind_Latn.json",
        "swh_Latn.json",
    ]
    # a new database over the same cache: the checks are read back, not measured again
    checked = Counter(monkeypatch, "check_language")
    again = build_table(
        tiny, probe_set=probe_set, database_url=f"sqlite:///{tmp_path / 'b.db'}",
        cache_dir=where["cache_dir"], **options,
    )  # fmt: skip
    assert again.status == "resumed" and checked.calls == 0
    assert again.checks == result.checks
    # stored with the run: the table gives them back, and an unchanged rebuild reports them
    table: BridgeTable = where["table"]
    stored = table.render_checks(result.run_id)
    assert {(r.src, r.bridge) for r in stored} == {
        (lang, b) for lang in ("swh_Latn", "ind_Latn") for b in ("eng_Latn", "fra_Latn")
    }
    assert [c.lang for c in table.competence(result.run_id)] == ["ind_Latn", "swh_Latn"]
    unchanged = build_table(tiny, probe_set=probe_set, **options, **where)
    assert unchanged.status == "unchanged" and unchanged.checks == result.checks
    # --export writes them too (what the shipped table is made from)
    from bridgex_chain.store.precomputed import read_table_evidence

    exported = build_table(
        tiny, probe_set=probe_set, export=tmp_path / "out.json", **options, **where
    )  # fmt: skip
    (((_, _), (checks, competence)),) = read_table_evidence(exported.export_path)
    assert {(c.src, c.bridge) for c in checks} == {(r.src, r.bridge) for r in stored}
    assert [c.lang for c in competence] == ["ind_Latn", "swh_Latn"]
