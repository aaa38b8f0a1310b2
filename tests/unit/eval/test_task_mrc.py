"""Belebele reading comprehension (eval/task_mrc.py): end to end, and the task's own logic."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bridgex_chain.eval.data import Item
from bridgex_chain.eval.task_mrc import MrcTask
from bridgex_chain.eval.tasks import CONTENT_FREE
from bridgex_chain.prompting.templates import Lang, ModelPrompt, PromptPlan


def _row(lang: str, qn: int, passage: str, question: str, options: list[str], gold: int) -> str:
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


COLOURS = ["red", "blue", "green", "black"]


def _write_belebele(root: Path, files: dict[str, list[str]]) -> Path:
    """Write ``root/<code>.jsonl`` of each language's rows; return ``root``."""
    root.mkdir()
    for code, rows in files.items():
        (root / f"{code}.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


def test_mrc_passage_through_the_bridge(
    tmp_path: Path,
    fake_lm: Any,
    evaluate_task: Callable[..., tuple[dict[str, Any], Any]],
    bridge_scores: Callable[..., dict[str, float]],
) -> None:
    files = {
        "swh_Latn": [
            _row("sw", 1, "Anga ni buluu.", "?", COLOURS, 2),
            _row("sw", 2, "Nyasi", "?", COLOURS, 3),
        ],
        "eng_Latn": [
            _row("en", 1, "The sky is blue.", "Colour?", COLOURS, 2),
            _row("en", 2, "Grass", "Colour?", COLOURS, 3),
        ],
        "fra_Latn": [
            _row("fr", 1, "Le ciel est blue.", "?", COLOURS, 2),
            _row("fr", 2, "L'herbe", "?", COLOURS, 3),
        ],
    }
    bele = _write_belebele(tmp_path / "belebele", files)
    lm = fake_lm
    e, _ = evaluate_task("mrc", belebele=bele, pairs=[("swh_Latn", "eng_Latn")])
    assert e["n"] == 2 and e["direct"]["score"] == 0.0  # no option in the Swahili passage
    assert bridge_scores(e, "oracle")["fra_Latn"] == 50.0  # "blue" in the French passage
    assert bridge_scores(e, "self")["fra_Latn"] == 50.0
    assert e["renderings"]["oracle"]["bridges"]["deu_Latn"]["missing"] == 2
    assert any(q.startswith("Question: Colour?\nA. red") for _, q in lm.scored)


# --------------------------------------------------------------------------- the task itself


@pytest.fixture
def bele(tmp_path: Path) -> Path:
    files = {
        "swh_Latn": [
            _row("sw", 1, "Anga ni buluu.", "Rangi?", COLOURS, 2),
            _row("sw", 2, "Nyasi ni kijani.", "Rangi?", COLOURS, 3),
            _row("sw", 3, "Only in Swahili.", "?", COLOURS, 1),
        ],
        "eng_Latn": [
            _row("en", 1, "The sky is blue.", "Colour?", COLOURS, 2),
            _row("en", 2, "Grass is green.", "Colour?", COLOURS, 3),
        ],
        "fra_Latn": [_row("fr", 2, "L'herbe est verte.", "Couleur ?", COLOURS, 3)],
    }
    return _write_belebele(tmp_path / "belebele", files)


def test_items_join_the_source_passage_with_the_target_question(bele: Path) -> None:
    task = MrcTask(bele, [("sw", "en")], limit=None, seed=0)
    assert task.entries() == [("swh_Latn", "eng_Latn")]
    items = task.items("swh_Latn", "eng_Latn")
    # question 3 has no English row: only questions in both files
    assert [(i.id, i.text, i.gold, i.fields["passage"]) for i in items] == [
        ("x#1", "Colour?", "1", "Anga ni buluu."),
        ("x#2", "Colour?", "2", "Nyasi ni kijani."),
    ]
    assert items[0].fields["options"] == COLOURS


def test_items_are_a_seeded_subset(bele: Path) -> None:
    (one,) = MrcTask(bele, [("sw", "sw")], limit=1, seed=0).items("swh_Latn", "swh_Latn")
    assert one.id in {"x#1", "x#2", "x#3"}
    assert MrcTask(bele, [("sw", "sw")], limit=1, seed=0).items("swh_Latn", "swh_Latn") == [one]


def test_request_carries_the_passage_and_the_options(bele: Path) -> None:
    task = MrcTask(bele, [("sw", "en")], limit=None, seed=0)
    item = task.items("swh_Latn", "eng_Latn")[0]
    req = task.request(item, "swh_Latn", "eng_Latn", "fra_Latn")
    assert (req.task, req.style, req.query) == ("reading", "completion", "Colour?")
    assert req.fields == {"passage": "Anga ni buluu.", "options": COLOURS}
    assert (req.src, req.answer, req.bridge) == (
        Lang("swh_Latn", "Swahili"),
        Lang("eng_Latn", "English"),
        Lang("fra_Latn", "French"),
    )


def test_oracle_is_the_bridge_language_passage_of_the_same_question(bele: Path) -> None:
    task = MrcTask(bele, [("sw", "en")], limit=None, seed=0)
    first, second = task.items("swh_Latn", "eng_Latn")
    assert task.oracle(second, "swh_Latn", "eng_Latn", "fra_Latn") == "L'herbe est verte."
    assert task.oracle(first, "swh_Latn", "eng_Latn", "fra_Latn") is None  # no French row
    assert task.oracle(first, "swh_Latn", "eng_Latn", "deu_Latn") is None  # no German file


def test_gold_index_is_the_stored_option_index(bele: Path) -> None:
    task = MrcTask(bele, [("sw", "en")], limit=None, seed=0)
    plan = PromptPlan(
        ModelPrompt("Question: ?\nAnswer:"), choices=("A", "B", "C", "D"), letters=True
    )
    assert task.gold_index(Item("q", "?", "2"), plan) == 2
    assert task.continuations(plan) == ["A", "B", "C", "D"]


def test_content_free_item_has_an_n_a_passage_and_four_n_a_options(bele: Path) -> None:
    free = MrcTask(bele, [("sw", "en")], limit=None, seed=0).content_free("swh_Latn", "eng_Latn")
    assert (free.id, free.text, free.gold) == ("content-free", CONTENT_FREE, "0")
    assert free.fields == {"passage": CONTENT_FREE, "options": [CONTENT_FREE] * 4}


def test_item_stats_score_the_calibrated_letter(bele: Path) -> None:
    task = MrcTask(bele, [("sw", "en")], limit=None, seed=0)
    item = Item("x#1", "Colour?", "1")
    record = {"scores": [-1.0, -1.5, -3.0, -3.0], "gold": 1}
    meta = {"calibration": [0.0, -1.0, -1.0, -1.0]}
    assert task.item_stats(record, item, meta) == [1.0, 1.0]  # calibrated [-1, -0.5, -2, -2]
    assert task.item_stats(record, item, meta, calibrate=False) == [0.0, 1.0]
