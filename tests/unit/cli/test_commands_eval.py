from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bridgex_chain.cli.main import app
from bridgex_chain.errors import BridgeXError, ProbeDataError
from bridgex_chain.eval.evaluate import EvalConfig, build_tasks, run_evaluation

ROWS = {
    "swh_Latn": ["mpira", "timu", "safari", "ndege"],
    "eng_Latn": ["ball sports", "team", "trip travel", "plane travel"],
    "fra_Latn": ["ballon", "équipe", "voyage", "avion"],
}
LABELS = ["sports", "sports", "travel", "travel"]


class KeywordLM:
    """Scores a label 0 when the query mentions it, else -1."""

    key = "keyword"

    def logprobs(self, prefix: str, query: str, continuations: Sequence[str]) -> list[float]:
        return [0.0 if c.strip() in query else -1.0 for c in continuations]

    def generate(
        self, prompts: Sequence[str], *, max_new_tokens: int, stop: Sequence[str]
    ) -> list[str]:
        raise AssertionError("the oracle rendering needs no generation")


def write_sib(root: Path) -> Path:
    for code, texts in ROWS.items():
        (root / code).mkdir(parents=True)
        for split in ("train", "test"):
            lines = ["index_id\tcategory\ttext"]
            lines += [
                f"{i}\t{lab}\t{t}" for i, (lab, t) in enumerate(zip(LABELS, texts, strict=True))
            ]
            (root / code / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def test_cli_renders_a_finished_run_without_loading_the_model(tmp_path: Path) -> None:
    sib, out = write_sib(tmp_path / "sib"), tmp_path / "out"
    run_evaluation(
        EvalConfig(
            tasks=["classify"],
            out_dir=out,
            sib200=sib,
            languages=["swh_Latn"],
            bridges=["eng_Latn", "fra_Latn"],
            conditions=["direct", "english", "all"],
            renderings=["oracle"],
            plots=False,
        ),
        table=None,
        lm_factory=KeywordLM,
    )
    db = f"sqlite:///{tmp_path / 'empty.db'}"
    args = [
        "eval",
        "classify",
        "--sib200",
        str(sib),
        "--out",
        str(out),
        "--languages",
        "swh_Latn",
        "--bridges",
        "eng_Latn,fra_Latn",
        "--conditions",
        "direct,english,all",
        "--renderings",
        "oracle",
        "--no-plots",
        "--database-url",
        db,
    ]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "classify (accuracy) — oracle rendering" in result.output
    assert "100.0 [100.0, 100.0] (eng)" in result.output  # English oracle: 4 of 4
    assert (out / "report.md").is_file()
    assert "bridgex-chain eval classify" in (out / "report.md").read_text(encoding="utf-8")


def test_cli_rejects_unknown_conditions_and_pairs(tmp_path: Path) -> None:
    bad = CliRunner().invoke(app, ["eval", "classify", "--conditions", "best"])
    assert bad.exit_code != 0 and "unknown condition" in bad.output
    bad = CliRunner().invoke(app, ["eval", "translate", "--pairs", "swh_Latn"])
    assert bad.exit_code != 0 and "SRC-TRG" in bad.output


def test_config_command_reproduces_the_options(tmp_path: Path) -> None:
    config = EvalConfig(
        tasks=["classify", "translate"],
        out_dir=Path("docs/results"),
        sib200=Path("../shared/data/sib200"),
        pairs=[("swh_Latn", "eng_Latn"), ("zho_Hans", "jpn_Jpan")],
        limit=7,
        threads=1,
        plots=False,
    )
    assert config.command() == (
        "bridgex-chain eval classify translate --out docs/results --sib200 ../shared/data/sib200 "
        "--pairs swh_Latn-eng_Latn,zho_Hans-jpn_Jpan --limit 7 --threads 1 --no-plots"
    )


def test_tasks_need_their_data_and_a_known_name(tmp_path: Path) -> None:
    with pytest.raises(ProbeDataError, match="--sib200"):
        build_tasks(EvalConfig(tasks=["classify"], out_dir=tmp_path))
    with pytest.raises(ProbeDataError, match="--muse"):
        build_tasks(EvalConfig(tasks=["bli"], out_dir=tmp_path))
    with pytest.raises(BridgeXError, match="Unknown eval task"):
        build_tasks(EvalConfig(tasks=["summarise"], out_dir=tmp_path))
    sib = write_sib(tmp_path / "sib")
    (task,) = build_tasks(EvalConfig(tasks=["classify"], out_dir=tmp_path, sib200=sib))
    assert task.entries() == [("swh_Latn", "swh_Latn")]  # study languages present, bridges out
