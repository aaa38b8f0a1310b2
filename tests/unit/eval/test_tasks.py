"""What every task shares (eval/tasks.py): ``lang``, ``completion_request``, ``Task``, ``PairTask``.

Each task module has its own test file (test_task_classify.py, test_task_translate.py,
test_task_bli.py, test_task_mrc.py); the runner's and run_evaluation's end-to-end tests are in
test_runner.py and test_evaluate.py.
"""

from typing import Any, ClassVar

import pytest

from bridgex_chain.errors import InvalidOption
from bridgex_chain.eval.data import Item
from bridgex_chain.eval.tasks import PairTask, Task, completion_request, lang
from bridgex_chain.prompting.templates import Lang, ModelPrompt, PromptPlan, PromptRequest


class _Choice(Task):
    """A minimal scored task: the item's gold is one of two labels."""

    name = "choice"
    metric_name = "accuracy"
    scored = True

    def entries(self) -> list[tuple[str, str]]:
        return [("swh_Latn", "swh_Latn")]

    def items(self, src: str, trg: str) -> list[Item]:
        return [Item("1", "mpira", "sports")]

    def request(self, item: Item, src: str, trg: str, bridge: str | None) -> PromptRequest:
        return completion_request(
            "classify", item, src, trg, bridge, fields={"labels": ["sports", "travel"]}
        )


class _Echo(PairTask):
    """A minimal generation task scored with chrF (the base class's output_stats)."""

    name = "echo"
    metric_name = "chrf"
    scored = False

    def items(self, src: str, trg: str) -> list[Item]:
        return []

    def request(self, item: Item, src: str, trg: str, bridge: str | None) -> PromptRequest:
        return completion_request("translate", item, src, trg, bridge, fields={})


def _plan(choices: tuple[str, ...], *, letters: bool = False) -> PromptPlan:
    return PromptPlan(ModelPrompt("Text: x\nLabel:"), choices=choices, letters=letters)


def test_lang_normalises_any_code_form_and_names_the_language() -> None:
    assert lang("sw") == lang("swh_Latn") == Lang("swh_Latn", "Swahili")
    assert lang("fr") == Lang("fra_Latn", "French")


def test_lang_of_an_unknown_code_is_refused() -> None:
    with pytest.raises(ValueError):
        lang("not-a-language")


def test_completion_request_carries_the_item_languages_fields_and_demos() -> None:
    def demos(text: str, langs: Any, labelled: bool) -> list[Any]:
        return []

    req = completion_request(
        "reading",
        Item("7", "Which colour?", "1"),
        "sw",
        "en",
        "fr",
        fields={"passage": "p", "options": ["a", "b"]},
        demos=demos,
    )
    assert (req.task, req.style, req.query) == ("reading", "completion", "Which colour?")
    assert (req.src, req.answer, req.bridge) == (
        Lang("swh_Latn", "Swahili"),
        Lang("eng_Latn", "English"),
        Lang("fra_Latn", "French"),
    )
    assert req.fields == {"passage": "p", "options": ["a", "b"]}
    assert req.demos is demos


def test_completion_request_without_a_bridge_is_direct_and_zero_shot() -> None:
    req = completion_request("translate", Item("1", "maji", "water"), "sw", "en", None, fields={})
    assert req.bridge is None and req.demos is None


def test_continuations_are_letters_for_lettered_options_else_the_labels() -> None:
    assert Task.continuations(_plan(("red", "blue", "green"), letters=True)) == ["A", "B", "C"]
    assert Task.continuations(_plan(("sports", "travel"))) == ["sports", "travel"]
    assert Task.continuations(_plan(())) == []


def test_gold_index_is_the_position_of_the_gold_label_among_the_choices() -> None:
    task = _Choice(limit=None, seed=0)
    assert task.gold_index(Item("1", "x", "travel"), _plan(("sports", "travel"))) == 1
    with pytest.raises(ValueError):
        task.gold_index(Item("1", "x", "health"), _plan(("sports", "travel")))


def test_scored_item_stats_compare_the_calibrated_choice_with_the_gold() -> None:
    task = _Choice(limit=None, seed=0)
    item = Item("1", "mpira", "travel")
    record = {"scores": [-1.0, -1.5], "gold": 1}
    meta = {"calibration": [-0.2, -2.0]}  # calibrated: [-0.8, 0.5] -> travel
    assert task.item_stats(record, item, meta) == [1.0, 1.0]
    assert task.item_stats(record, item, meta, calibrate=False) == [0.0, 1.0]
    assert task.item_stats(record, item, {}) == [0.0, 1.0]  # no calibration stored
    # ties go to the first choice
    assert task.item_stats({"scores": [-1.0, -1.0], "gold": 0}, item, {}) == [1.0, 1.0]


def test_generation_item_stats_score_the_stored_output_with_the_metric() -> None:
    task = _Echo([("sw", "en")], limit=None, seed=0)
    item = Item("1", "habari", "hello there")
    exact = task.item_stats({"output": "hello there"}, item, {})
    assert task.metric.score([exact]) == pytest.approx(100.0)
    assert exact == task.output_stats("hello there", item)
    partial = task.output_stats("hello", item)
    assert 0.0 < task.metric.score([partial]) < 100.0
    # a non-string output (e.g. a number read back from JSON) is scored as its text
    assert task.item_stats({"output": 42}, Item("2", "x", "42"), {}) == task.output_stats(
        "42", Item("2", "x", "42")
    )


def test_defaults_no_oracle_seed_only_params_and_no_content_free_item() -> None:
    task = _Choice(limit=5, seed=11)
    assert (task.limit, task.seed, task.metric.name) == (5, 11, "accuracy")
    assert task.oracle(Item("1", "x", "sports"), "swh_Latn", "swh_Latn", "fra_Latn") is None
    assert task.params() == {"seed": 11}
    with pytest.raises(NotImplementedError, match="choice is not a scored task"):
        task.content_free("swh_Latn", "swh_Latn")


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
