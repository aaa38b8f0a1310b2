"""Safety: no pickles for our intermediates, no remote code by default, user text only bound in SQL.

The source checks parse every module of the package (``bridgex_chain/``, ``cli/``, ``alembic/``)
with :mod:`ast`, so comments and docstrings that *mention* pickles do not count, and a new call
site cannot slip through a text pattern.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bridgex_chain.errors import NoBridgeFound, SchemaError, UnknownLanguage
from bridgex_chain.store.records import ModelProfile, RunRecord, ScoreRow
from bridgex_chain.store.table import BridgeTable

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIRS = ("bridgex_chain", "cli", "alembic")
Snapshot = Callable[[str], dict[str, list[tuple[Any, ...]]]]

#: Modules whose pickle use is reviewed and allowed, with the reason. Nothing we write is a pickle.
PICKLE_ALLOWED = {
    "bridgex_chain/probing/starter.py": (
        "reads babel's own CLDR package files (babel ships them as pickles and unpickles them "
        "itself in babel.localedata.load); no file bridgex-chain writes is ever unpickled"
    ),
}
_PICKLE_MODULES = {
    "pickle", "cPickle", "_pickle", "dill", "joblib", "shelve", "marshal", "cloudpickle",
}  # fmt: skip


def _sources() -> Iterator[tuple[str, ast.Module]]:
    for top in PACKAGE_DIRS:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            yield rel, ast.parse(path.read_text(encoding="utf-8"), filename=rel)


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return "?"


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_const(node: ast.expr | None, value: object) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


def _problems(rel: str, tree: ast.Module) -> list[str]:
    found: list[str] = []
    for node in ast.walk(tree):
        where = f"{rel}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            pickles = any((n or "").split(".")[0] in _PICKLE_MODULES for n in names)
            if pickles and rel not in PICKLE_ALLOWED:
                found.append(f"{where}: imports a pickle module")
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name in {"torch.load"} and not _is_const(_keyword(node, "weights_only"), True):
                found.append(f"{where}: torch.load without weights_only=True")
            if name in {"np.load", "numpy.load"} and not _is_const(
                _keyword(node, "allow_pickle"), False
            ):
                found.append(f"{where}: {name} without allow_pickle=False")
            if (
                name.split(".")[-1] in {"save", "savez", "savez_compressed"}
                and name.split(".")[0] in {"np", "numpy"}
                and not _is_const(_keyword(node, "allow_pickle"), False)
            ):
                found.append(f"{where}: {name} without allow_pickle=False")
            if name.endswith(("read_pickle", "to_pickle")):
                found.append(f"{where}: {name}")
            if _is_const(_keyword(node, "trust_remote_code"), True):
                found.append(f"{where}: trust_remote_code=True hard-coded")
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            args = node.args
            positional = [*args.posonlyargs, *args.args]
            defaults = dict(
                zip([a.arg for a in positional][-len(args.defaults) :], args.defaults, strict=True)
            ) if args.defaults else {}  # fmt: skip
            defaults.update(
                {a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d}
            )
            default = defaults.get("trust_remote_code")
            if default is not None and not _is_const(default, False):
                found.append(f"{where}: {node.name}(trust_remote_code=...) is not False by default")
    return found


def test_package_source_has_no_pickles_and_no_remote_code_defaults() -> None:
    sources = list(_sources())
    assert len(sources) > 30, "the scan found too few modules"
    problems = [p for rel, tree in sources for p in _problems(rel, tree)]
    assert not problems, "\n".join(problems)


def test_the_scan_catches_what_it_looks_for() -> None:
    bad = ast.parse(
        "import pickle\nimport torch, numpy as np\n"
        "torch.load('x')\nnp.load('y')\nnp.save('z', a)\n"
        "f(trust_remote_code=True)\n"
        "def load(name, trust_remote_code=True): ...\n"
        "def ok(name, *, trust_remote_code=False): np.load('y', allow_pickle=False)\n"
    )
    problems = _problems("example.py", bad)
    assert len(problems) == 6, problems


def test_load_causal_lm_never_trusts_remote_code_unless_asked(
    make_tiny_lm: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import transformers

    from bridgex_chain.models import load_causal_lm

    model, tokenizer, _ = make_tiny_lm("llama")
    model.save_pretrained(tmp_path / "m")
    tokenizer.save_pretrained(tmp_path / "m")
    seen: list[Any] = []
    for cls in (transformers.AutoModelForCausalLM, transformers.AutoTokenizer):
        real = cls.from_pretrained

        def spy(*args: Any, _real: Any = real, **kwargs: Any) -> Any:
            seen.append(kwargs.get("trust_remote_code", "absent"))
            return _real(*args, **kwargs)

        monkeypatch.setattr(cls, "from_pretrained", spy)
    lm = load_causal_lm(str(tmp_path / "m"))
    assert lm.architecture == "llama"
    assert seen == [False, False]
    load_causal_lm(str(tmp_path / "m"), trust_remote_code=True)  # only when the caller says so
    assert seen[2:] == [True, True]


# ------------------------------------------------------------------------------ SQL injection
INJECTIONS = (
    "x'; DROP TABLE bridge_scores; --",
    "demo/model' OR '1'='1",
    'demo/model" OR "1"="1',
    "%",
    "_emo/model",
    "demo/model'); DELETE FROM probe_runs; --",
    "Robert'); DROP TABLE model_profiles;--",
    "\\'; SELECT pg_sleep(5); --",
)
BAD_LANGUAGES = ("sw' OR '1'='1", "swh_Latn'; DROP TABLE probe_runs; --", "%", "sw--")


def test_sql_looking_lookups_find_nothing_and_change_nothing(
    seeded_url: str, snapshot: Snapshot
) -> None:
    before = snapshot(seeded_url)
    with BridgeTable(seeded_url) as table:
        real = table.best("demo/model", "swh_Latn")
        for model in INJECTIONS:
            with pytest.raises(NoBridgeFound):
                table.best(model, "swh_Latn")
            assert table.runs(model) == []
            assert table.pairs(model) == []
        for lang in BAD_LANGUAGES:
            with pytest.raises(UnknownLanguage):
                table.best("demo/model", lang)
            with pytest.raises(UnknownLanguage):
                table.best("demo/model", "swh_Latn", lang)
        assert table.best("demo/model", "swh_Latn") == real
        assert table.models() == ["demo/model", "other/model"]
    assert snapshot(seeded_url) == before


def test_sql_looking_names_are_stored_verbatim_as_data(
    seeded_url: str, snapshot: Snapshot, tmp_path: Path
) -> None:
    before = snapshot(seeded_url)
    with BridgeTable(seeded_url) as table:
        for i, model in enumerate(INJECTIONS):
            run = RunRecord(
                ModelProfile(model, f"rev'; --{i}", "llama); DROP TABLE x; --", 2, 8),
                probe_set="set'; DELETE FROM bridge_scores; --",
                probe_set_hash="h' OR 1=1 --",
                languages=["swh_Latn", "eng_Latn", "fra_Latn"],
                bridges=["eng_Latn", "fra_Latn"],
                params={"note": "'); DROP TABLE probe_runs; --", "k'ey": ['a"b']},
                status="complete",
                tool_version="0.1.0'; --",
                started_at=f"2025-04-0{i + 1}T00:00:00+00:00",
            )
            rows = [ScoreRow("sw", "sw", "fr", None, 0.5 + i), ScoreRow("sw", "sw", "en", None, i)]
            table.upsert_run(run, rows)
            best = table.best(model, "sw")
            assert (best.model, best.bridge, best.score) == (model, "fra_Latn", 0.5 + i)
            assert best.provenance["probe_set"] == "set'; DELETE FROM bridge_scores; --"
        stored = {r.profile.model: r for r in table.runs()}
        for model in INJECTIONS:
            assert stored[model].params["note"] == "'); DROP TABLE probe_runs; --"
        assert table.models() == sorted(["demo/model", "other/model", *INJECTIONS])
        # round trip through the JSON exchange format too
        path = tmp_path / "export.json"
        assert table.export_json(path, model=INJECTIONS[0]) == 1
        assert table.export_json(tmp_path / "none.json", model="nobody' OR '1'='1") == 0
    after = snapshot(seeded_url)
    for name, rows in before.items():  # every earlier row is still there, unchanged
        assert set(rows) <= set(after[name]), name
    with BridgeTable(seeded_url) as table:
        assert table.import_json(path)  # idempotent: finds the stored run
    assert snapshot(seeded_url) == after


def test_sql_looking_languages_are_refused_before_any_write(
    seeded_url: str, snapshot: Snapshot
) -> None:
    before = snapshot(seeded_url)
    with BridgeTable(seeded_url) as table:
        for lang in BAD_LANGUAGES:
            run = RunRecord(
                ModelProfile("new/model", "r", "llama", 2, 8), "s", "h", ["swh_Latn"],
                ["eng_Latn"], {}, status="complete",
            )  # fmt: skip
            with pytest.raises(UnknownLanguage):
                table.upsert_run(run, [ScoreRow("sw", "sw", lang, None, 0.5)])
            bad = RunRecord(
                ModelProfile("new/model", "r", "llama", 2, 8), "s", "h", [lang],
                ["eng_Latn"], {}, status="complete",
            )  # fmt: skip
            with pytest.raises((UnknownLanguage, SchemaError)):
                table.upsert_run(bad, [])
    assert snapshot(seeded_url) == before
