"""tools/build_all_languages.sh: sharded builds on a tiny model, merged into one table file."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from bridgex_chain.languages import flores_codes

ROOT = Path(__file__).resolve().parents[3]
#: Swahili has CLDR probes, Acehnese none (parallel sentences); every other language is excluded.
CORPUS = ("swh_Latn", "ace_Latn", "hau_Latn", "yor_Latn", "eng_Latn", "fra_Latn")


def _corpus(root: Path) -> Path:
    for code in CORPUS:
        (root / code).mkdir(parents=True)
        rows = [f"{i}\tx\t{code[:3]} words {i} and more" for i in range(30)]
        text = "\n".join(["index_id\tcategory\ttext", *rows]) + "\n"
        (root / code / "train.tsv").write_text(text, encoding="utf-8")
    return root


@pytest.mark.slow
def test_two_shards_build_in_parallel_and_merge_into_one_file(
    tmp_path: Path, save_tiny_lm: Callable[[str, Path], Path]
) -> None:
    model = save_tiny_lm("qwen2", tmp_path / "tiny-qwen2")
    table = tmp_path / "table.json"
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "MODEL": str(model),
        "SIB200": str(_corpus(tmp_path / "sib")),
        "EXCLUDE": ",".join(sorted(flores_codes() - {"swh_Latn", "ace_Latn", "hau_Latn"})),
        "SHARDS": "2",
        "MAX_PROMPTS": "2",
        "OUT": str(tmp_path / "out"),
        "SAVE": str(tmp_path / "saved"),
        "TABLE": str(table),
        "EXTRA": "--bridges en,fr --layers 0-1 --top-rate 0.1 --resamples 0 --render-pairs 2",
    }
    done = _run(env)
    logs = "".join(p.read_text() for p in sorted((tmp_path / "out").glob("shard-*.log")))
    assert done.returncode == 0, done.stdout + done.stderr + logs
    assert "shard 1/2" in done.stdout and "shard 2/2" in done.stdout
    runs = json.loads(table.read_text(encoding="utf-8"))["runs"]
    assert len(runs) == 2  # one run per shard
    chats = sorted(e["src"] for run in runs for e in run["entries"] if e["src"] == e["trg"])
    assert chats == ["ace_Latn", "hau_Latn", "swh_Latn"]
    sources = {k: v["kind"] for run in runs for k, v in run["params"]["probe_sources"].items()}
    assert sources["ace_Latn"] == "parallel" and sources["swh_Latn"] == "cldr"
    assert "chat entries (a language's own route)" in done.stdout
    # the small JSON files are kept; a fresh output folder resumes from them alone
    saved = sorted((tmp_path / "saved" / "runs").iterdir())
    assert len(saved) == 2
    for run in saved:
        assert {p.name for p in run.iterdir()} == {"groups", "manifest.json", "render", "scores"}
    again = _run({**env, "OUT": str(tmp_path / "fresh")})
    assert again.returncode == 0, again.stdout + again.stderr
    resumed = "".join(p.read_text() for p in sorted((tmp_path / "fresh").glob("shard-*.log")))
    assert resumed.count("resumed and completed") == 2, resumed
    assert not (tmp_path / "fresh" / "cache" / "runs" / saved[0].name / "neurons").exists()


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / "tools" / "build_all_languages.sh")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
