"""What every task shares (eval/tasks.py): ``reply_record``, ``Task``, ``PairTask``.

A task gives the chain input of an item and scores what the chain returned; it builds no prompt.
Each task module has its own test file (test_task_classify.py, test_task_translate.py,
test_task_bli.py, test_task_mrc.py); the runner's and run_evaluation's end-to-end tests are in
test_runner.py and test_evaluate.py.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from langchain_core.messages import AIMessage

from bridgex_chain.errors import InvalidOption
from bridgex_chain.eval.data import Item
from bridgex_chain.eval.tasks import PairTask, Task, reply_record

LABELS = ["sports", "travel"]


class _Choice(Task):
    """A minimal scored task: the item's gold is one of two labels."""

    name = "choice"
    metric_name = "accuracy"
    scored = True

    def entries(self) -> list[tuple[str, str]]:
        return [("swh_Latn", "swh_Latn")]

    def items(self, src: str, trg: str) -> list[Item]:
        return [Item("1", "mpira", "sports")]

    def request(self, item: Item, src: str, trg: str) -> dict[str, Any]:
        return {"query": item.text, "task": "classify", "labels": LABELS}


class _Echo(PairTask):
    """A minimal generation task scored with chrF (the base class's output_stats)."""

    name = "echo"
    metric_name = "chrf"
    scored = False

    def items(self, src: str, trg: str) -> list[Item]:
        return []

    def request(self, item: Item, src: str, trg: str) -> dict[str, Any]:
        return {"query": item.text, "task": "translate", "answer_language": trg}


def _reply(content: str = "", **meta: Any) -> AIMessage:
    return AIMessage(content, response_metadata={"bridgex": meta, "model_name": "x"})


def test_reply_record_keeps_the_route_the_chain_took() -> None:
    reply = _reply(
        lang="swh_Latn",
        bridge="fra_Latn",
        fallback=None,
        rendering="Le ballon",
        score=0.4,
        demos=["3"],
    )
    assert reply_record(Item("7", "mpira", "sports"), reply) == {
        "id": "7",
        "lang": "swh_Latn",
        "bridge": "fra_Latn",
        "fallback": None,
        "rendering": "Le ballon",  # the model's own rendering
    }
    direct = reply_record(Item("8", "x", "y"), _reply(lang="swh_Latn", fallback="no_bridge"))
    assert direct == {"id": "8", "lang": "swh_Latn", "bridge": None, "fallback": "no_bridge"}


def test_a_given_rendering_is_counted_never_stored() -> None:
    # the oracle's gold parallel text is dataset text: results never hold it
    reply = _reply(lang="swh_Latn", bridge="fra_Latn", rendering="Le texte", renders_given=1)
    record = reply_record(Item("7", "mpira", "sports"), reply)
    assert record["given"] == 1 and "rendering" not in record
    assert "Le texte" not in repr(record)


def test_a_reply_without_bridgex_metadata_records_an_unknown_route() -> None:
    record = reply_record(Item("1", "x", "y"), AIMessage("hi"))
    assert record == {"id": "1", "lang": None, "bridge": None, "fallback": None}


def test_a_scored_record_holds_the_choice_and_whether_it_is_the_gold_one() -> None:
    task = _Choice(limit=None, seed=0)
    item = Item("1", "mpira", "travel")
    right = task.record(item, _reply("travel", choice="travel", choice_index=1, lang="swh_Latn"))
    assert (right["choice"], right["correct"], right["lang"]) == (1, True, "swh_Latn")
    assert "output" not in right
    wrong = task.record(item, _reply("sports", choice="sports", choice_index=0))
    assert (wrong["choice"], wrong["correct"]) == (0, False)
    # an answer that matched no label (choice None) is wrong, never a guess
    unparsed = task.record(item, _reply("maybe", choice=None, choice_index=None))
    assert (unparsed["choice"], unparsed["correct"]) == (None, False)
    assert task.item_stats(right, item) == [1.0, 1.0]
    assert task.item_stats(wrong, item) == [0.0, 1.0]
    assert task.item_stats({"id": "1"}, item) == [0.0, 1.0]


def test_correct_compares_the_chains_choice_with_the_gold_label() -> None:
    task = _Choice(limit=None, seed=0)
    item = Item("1", "mpira", "sports")
    assert task.correct(item, {"choice": "sports"})
    assert not task.correct(item, {"choice": "travel"})
    assert not task.correct(item, {})
    assert not task.correct(Item("2", "x", ""), {"choice": None})


def test_a_generation_record_holds_the_chains_text() -> None:
    task = _Echo([("sw", "en")], limit=None, seed=0)
    item = Item("1", "habari", "hello there")
    record = task.record(item, _reply("hello there", lang="swh_Latn", bridge=None))
    assert record["output"] == "hello there"
    assert "choice" not in record and "correct" not in record
    assert task.metric.score([task.item_stats(record, item)]) == pytest.approx(100.0)


def test_generation_item_stats_score_the_stored_output_with_the_metric() -> None:
    task = _Echo([("sw", "en")], limit=None, seed=0)
    item = Item("1", "habari", "hello there")
    exact = task.item_stats({"output": "hello there"}, item)
    assert task.metric.score([exact]) == pytest.approx(100.0)
    assert exact == task.output_stats("hello there", item)
    partial = task.output_stats("hello", item)
    assert 0.0 < task.metric.score([partial]) < 100.0
    # a non-string output (e.g. a number read back from JSON) is scored as its text
    assert task.item_stats({"output": 42}, Item("2", "x", "42")) == task.output_stats(
        "42", Item("2", "x", "42")
    )
    assert task.item_stats({}, item) == task.output_stats("", item)


def test_defaults_render_the_query_no_oracle_and_the_seed_as_params() -> None:
    task = _Choice(limit=5, seed=11)
    item = Item("1", "x", "sports", {"passage": "p"})
    assert (task.limit, task.seed, task.metric.name) == (5, 11, "accuracy")
    assert task.rendered(item) == "x"
    assert task.oracle(item, "swh_Latn", "swh_Latn", "fra_Latn") is None
    # not the limit: records are per item, so a larger limit only adds items
    assert task.params() == {"seed": 11}
    assert task.request(item, "swh_Latn", "swh_Latn") == {
        "query": "x",
        "task": "classify",
        "labels": LABELS,
    }


def test_a_task_with_an_unknown_metric_cannot_be_made() -> None:
    class Bogus(_Choice):
        metric_name: ClassVar[str] = "bleu"

    with pytest.raises(InvalidOption, match="Unknown metric 'bleu'"):
        Bogus(limit=None, seed=0)


def test_pair_task_entries_are_the_normalised_pairs_in_order() -> None:
    task = _Echo([("sw", "en"), ("zho_Hans", "ja"), ("sw", "en")], limit=3, seed=1)
    assert task.entries() == [
        ("swh_Latn", "eng_Latn"),
        ("zho_Hans", "jpn_Jpan"),
        ("swh_Latn", "eng_Latn"),
    ]
    task.entries().clear()  # a copy: the task's pairs are untouched
    assert len(task.entries()) == 3
    assert (task.limit, task.seed) == (3, 1)


def test_a_pair_of_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError):
        _Echo([("not-a-language", "en")], limit=None, seed=0)
