"""Belebele reading comprehension (eval/task_mrc.py): end to end through the chain, the task."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bridgex_chain.eval.data import Item
from bridgex_chain.eval.evaluate import run_evaluation
from bridgex_chain.eval.task_mrc import MrcTask

SWH, ENG = "swh_Latn", "eng_Latn"
COLOURS = ["red", "blue", "green", "black"]


def _row(qn: int, passage: str, question: str, options: list[str], gold: int) -> str:
    fields = {f"mc_answer{k + 1}": o for k, o in enumerate(options)}
    return json.dumps(
        {
            "link": "x",
            "question_number": qn,
            "flores_passage": passage,
            "question": question,
            "correct_answer_num": str(gold),
            **fields,
        }
    )


def _write_belebele(root: Path, files: dict[str, list[str]]) -> Path:
    """Write ``root/<code>.jsonl`` of each language's rows; return ``root``."""
    root.mkdir()
    for code, rows in files.items():
        (root / f"{code}.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


@pytest.fixture
def passages(tmp_path: Path) -> Path:
    """Two questions; the gold option ("blue") is named only by the French first passage."""
    files = {
        SWH: [_row(1, "Anga ni buluu.", "?", COLOURS, 2), _row(2, "Nyasi", "?", COLOURS, 3)],
        ENG: [
            _row(1, "The sky is azure.", "Colour?", COLOURS, 2),
            _row(2, "Grass", "Colour?", COLOURS, 3),
        ],
        "fra_Latn": [
            _row(1, "Le ciel est blue.", "?", COLOURS, 2),
            _row(2, "L'herbe", "?", COLOURS, 3),
        ],
    }
    return _write_belebele(tmp_path / "belebele", files)


def test_mrc_passage_through_the_bridge(
    passages: Path,
    fake_llm: Any,
    evaluate_task: Callable[..., tuple[dict[str, Any], Any]],
    bridge_scores: Callable[..., dict[str, float]],
) -> None:
    e, cfg = evaluate_task("mrc", belebele=passages, pairs=[(SWH, ENG)])
    assert e["n"] == 2 and e["direct"]["score"] == 0.0  # no option in the Swahili passage
    assert bridge_scores(e, "oracle")["fra_Latn"] == 50.0  # "blue" in the French passage
    assert bridge_scores(e, "self")["fra_Latn"] == 50.0  # the model renders it so too
    assert e["renderings"]["oracle"]["bridges"]["deu_Latn"]["missing"] == 2
    reading = [p for p in fake_llm.prompts if p.endswith("Answer:")]
    assert any(
        "Passage: Le ciel est blue.\n\nQuestion: Colour?\nA. red\nB. blue" in p for p in reading
    )
    assert any(
        p.startswith("Translate the following text from Swahili into French.")
        for p in fake_llm.prompts
    )
    stored = "".join(
        p.read_text(encoding="utf-8") for p in (cfg.out_dir / "cache").rglob("*.jsonl")
    )
    assert "L'herbe" not in stored  # the gold French passage is never stored


def test_mrc_options_scored_by_calibrated_likelihood(
    tmp_path: Path,
    passages: Path,
    use_llm: Callable[[Any], Any],
    scoring_llm_class: Any,
    eval_config: Callable[..., Any],
    entry_of: Callable[..., dict[str, Any]],
    bridge_scores: Callable[..., dict[str, float]],
) -> None:
    llm = use_llm(scoring_llm_class())
    cfg = eval_config(
        tmp_path, ["mrc"], belebele=passages, pairs=[(SWH, ENG)], renderings=["oracle"]
    )
    e = entry_of(run_evaluation(cfg, table=None), "mrc")
    # B-D are biased against; only the calibrated scores pick "B. blue" from the French text
    assert e["direct"]["score"] == 0.0 and bridge_scores(e, "oracle")["fra_Latn"] == 50.0
    assert llm.scored and all(choices == ("A", "B", "C", "D") for _, choices, _ in llm.scored)
    assert all("Passage: N/A" in free for _, _, free in llm.scored if free is not None)
    assert all(free is not None for _, _, free in llm.scored)
    assert not llm.prompts  # gold passages, scored answers: nothing generated


# --------------------------------------------------------------------------- the task itself


@pytest.fixture
def bele(tmp_path: Path) -> Path:
    files = {
        SWH: [
            _row(1, "Anga ni buluu.", "Rangi?", COLOURS, 2),
            _row(2, "Nyasi ni kijani.", "Rangi?", COLOURS, 3),
            _row(3, "Only in Swahili.", "?", COLOURS, 1),
        ],
        ENG: [
            _row(1, "The sky is blue.", "Colour?", COLOURS, 2),
            _row(2, "Grass is green.", "Colour?", COLOURS, 3),
        ],
        "fra_Latn": [_row(2, "L'herbe est verte.", "Couleur ?", COLOURS, 3)],
    }
    return _write_belebele(tmp_path / "bele", files)


def test_items_join_the_source_passage_with_the_target_question(bele: Path) -> None:
    task = MrcTask(bele, [("sw", "en")], limit=None, seed=0)
    assert task.entries() == [(SWH, ENG)]
    items = task.items(SWH, ENG)
    # question 3 has no English row: only questions in both files
    assert [(i.id, i.text, i.gold, i.fields["passage"]) for i in items] == [
        ("x#1", "Colour?", "1", "Anga ni buluu."),
        ("x#2", "Colour?", "2", "Nyasi ni kijani."),
    ]
    assert items[0].fields["options"] == COLOURS


def test_items_are_a_seeded_subset(bele: Path) -> None:
    (one,) = MrcTask(bele, [("sw", "sw")], limit=1, seed=0).items(SWH, SWH)
    assert one.id in {"x#1", "x#2", "x#3"}
    assert MrcTask(bele, [("sw", "sw")], limit=1, seed=0).items(SWH, SWH) == [one]


def test_request_carries_the_passage_the_options_and_the_answer_language(bele: Path) -> None:
    task = MrcTask(bele, [("sw", "en")], limit=None, seed=0)
    item = task.items(SWH, ENG)[0]
    assert task.request(item, SWH, ENG) == {
        "query": "Colour?",
        "task": "reading",
        "passage": "Anga ni buluu.",
        "options": COLOURS,
        "answer_language": ENG,
    }
    assert task.rendered(item) == "Anga ni buluu."  # the chain renders the passage


def test_oracle_is_the_bridge_language_passage_of_the_same_question(bele: Path) -> None:
    task = MrcTask(bele, [("sw", "en")], limit=None, seed=0)
    first, second = task.items(SWH, ENG)
    assert task.oracle(second, SWH, ENG, "fra_Latn") == "L'herbe est verte."
    assert task.oracle(first, SWH, ENG, "fra_Latn") is None  # no French row
    assert task.oracle(first, SWH, ENG, "deu_Latn") is None  # no German file


def test_correct_is_the_chosen_option_index_against_the_gold_one(bele: Path) -> None:
    task = MrcTask(bele, [("sw", "en")], limit=None, seed=0)
    item = Item("x#1", "Colour?", "1")
    assert task.correct(item, {"choice_index": 1, "choice": "blue"})
    assert not task.correct(item, {"choice_index": 0, "choice": "red"})
    assert not task.correct(item, {"choice_index": None, "choice": None})
    assert not task.correct(item, {})
