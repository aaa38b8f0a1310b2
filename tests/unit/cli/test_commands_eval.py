"""The ``eval`` command (cli/commands_eval.py): options reach EvalConfig, results are shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseLLM
from langchain_core.outputs import Generation, LLMResult
from typer.testing import CliRunner

from bridgex_chain.cli.main import app
from bridgex_chain.errors import BridgeXError, ProbeDataError
from bridgex_chain.eval import evaluate
from bridgex_chain.eval.evaluate import EvalConfig, build_tasks, run_evaluation

ROWS = {
    "swh_Latn": ["mpira", "timu", "safari", "ndege"],
    "eng_Latn": ["ball sports", "team", "trip travel", "plane travel"],
    "fra_Latn": ["ballon", "équipe", "voyage", "avion"],
}
LABELS = ["sports", "sports", "travel", "travel"]


class KeywordLLM(BaseLLM):
    """Answers a classify prompt with the label its last lines name (else the first label)."""

    @property
    def _llm_type(self) -> str:
        return "keyword"

    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        answers = []
        for prompt in prompts:
            if not prompt.endswith("Label:"):
                raise AssertionError("the oracle rendering needs no rendering call")
            block = prompt.rsplit("\n\n", 1)[-1]
            answers.append(" travel" if "travel" in block else " sports")
        return LLMResult(generations=[[Generation(text=a)] for a in answers])


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


def test_cli_renders_a_finished_run_without_loading_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sib, out = write_sib(tmp_path / "sib"), tmp_path / "out"
    monkeypatch.setattr(evaluate, "_llm", lambda config, key: KeywordLLM())
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
    )

    def no_model(config: EvalConfig, key: str) -> Any:
        raise AssertionError("a finished run must not load the model")

    monkeypatch.setattr(evaluate, "_llm", no_model)
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


def test_cli_options_reach_the_eval_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_run(config: EvalConfig, **kwargs: Any) -> dict[str, Any]:
        seen.update(config=config, **kwargs)
        return {"entries": [], "pooled": []}

    monkeypatch.setattr(evaluate, "run_evaluation", fake_run)
    args = [
        "eval",
        "classify",
        "translate",
        "--out",
        str(tmp_path / "out"),
        "--model",
        "qwen",
        "--num-demos",
        "5",
        "--max-new-tokens",
        "64",
        "--batch-size",
        "4",
        "--server-url",
        "http://127.0.0.1:8080/v1",
        "--server-model",
        "Qwen/Qwen2.5-0.5B",
        "--server-chat",
        "--conditions",
        "direct,detected",
        "--renderings",
        "self",
        "--pairs",
        "swh_Latn-eng_Latn",
        "--database-url",
        f"sqlite:///{tmp_path / 'empty.db'}",
    ]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    config: EvalConfig = seen["config"]
    assert (config.num_demos, config.max_new_tokens, config.batch_size) == (5, 64, 4)
    assert config.server_url == "http://127.0.0.1:8080/v1"
    assert (config.server_model, config.server_chat, config.model) == (
        "Qwen/Qwen2.5-0.5B",
        True,
        "qwen",
    )
    assert list(config.conditions) == ["direct", "detected"]
    assert list(config.renderings) == ["self"]
    assert config.pairs == [("swh_Latn", "eng_Latn")]
    assert seen["compute"] is True
    assert "Results:" in result.output


def test_cli_report_only_computes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_run(config: EvalConfig, **kwargs: Any) -> dict[str, Any]:
        seen.update(kwargs)
        return {"entries": [], "pooled": []}

    monkeypatch.setattr(evaluate, "run_evaluation", fake_run)
    db = f"sqlite:///{tmp_path / 'empty.db'}"
    args = ["eval", "classify", "--out", str(tmp_path), "--report-only", "--database-url", db]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert seen["compute"] is False


@pytest.mark.parametrize("option", ["--demos-per-label", "--shots"])
def test_removed_options_are_refused(tmp_path: Path, option: str) -> None:
    result = CliRunner().invoke(app, ["eval", "classify", "--out", str(tmp_path), option, "2"])
    assert result.exit_code != 0
    assert "No such option" in result.output and option in result.output


def test_cli_rejects_unknown_conditions_and_pairs(tmp_path: Path) -> None:
    bad = CliRunner().invoke(app, ["eval", "classify", "--conditions", "best"])
    assert bad.exit_code != 0 and "unknown condition" in bad.output
    bad = CliRunner().invoke(app, ["eval", "classify", "--renderings", "gold"])
    assert bad.exit_code != 0 and "unknown rendering" in bad.output
    bad = CliRunner().invoke(app, ["eval", "translate", "--pairs", "swh_Latn"])
    assert bad.exit_code != 0 and "SRC-TRG" in bad.output


def test_config_command_reproduces_the_options(tmp_path: Path) -> None:
    config = EvalConfig(
        tasks=["classify", "translate"],
        out_dir=Path("docs/results"),
        sib200=Path("../shared/data/sib200"),
        pairs=[("swh_Latn", "eng_Latn"), ("zho_Hans", "jpn_Jpan")],
        limit=7,
        num_demos=1,
        server_url="http://127.0.0.1:8080/v1",
        threads=1,
        plots=False,
    )
    assert config.command() == (
        "bridgex-chain eval classify translate --out docs/results --sib200 ../shared/data/sib200 "
        "--pairs swh_Latn-eng_Latn,zho_Hans-jpn_Jpan --limit 7 --num-demos 1 "
        "--server-url http://127.0.0.1:8080/v1 --threads 1 --no-plots"
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
