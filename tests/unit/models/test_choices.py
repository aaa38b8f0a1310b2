"""The shared choice rules: prompt split, contextual calibration, best choice."""

import subprocess
import sys

import pytest

from bridgex_chain.errors import BridgeXError, InvalidOption
from bridgex_chain.models.choices import best_choice, calibrated, split_prompt


def test_split_prompt_after_the_last_blank_line() -> None:
    prompt = "Classify.\n\nText: a\nLabel: x\n\nText: b\nLabel:"
    prefix, query = split_prompt(prompt)
    assert (prefix, query) == ("Classify.\n\nText: a\nLabel: x\n\n", "Text: b\nLabel:")
    assert prefix + query == prompt
    assert split_prompt("Text: b\nLabel:") == ("", "Text: b\nLabel:")
    assert split_prompt("Demo\n\n") == ("Demo\n\n", "")
    assert split_prompt("a\n\n\nb") == ("a\n\n\n", "b")
    assert split_prompt("") == ("", "")


def test_calibrated_subtracts_content_free_scores() -> None:
    assert calibrated([-1.0, -2.0, -3.0], [-0.5, -3.0, -3.0]) == [-0.5, 1.0, 0.0]
    with pytest.raises(InvalidOption, match="2 choice scores but 1 content-free"):
        calibrated([-1.0, -2.0], [-1.0])


def test_best_choice_argmax_ties_and_calibration() -> None:
    assert best_choice([-3.0, -1.0, -2.0]) == 1
    assert best_choice([-1.0, -1.0, -1.0]) == 0  # ties go to the first
    assert best_choice([-2.0, -1.0, -1.0]) == 1
    assert best_choice([-1.0, -2.0], None) == 0
    assert best_choice([-1.0, -2.0], [-0.5, -3.0]) == 1  # calibration flips the answer
    assert best_choice((-5.0,)) == 0


def test_best_choice_rejects_empty_and_mismatched_inputs() -> None:
    with pytest.raises(InvalidOption, match="no choices") as err:
        best_choice([])
    assert isinstance(err.value, BridgeXError) and isinstance(err.value, ValueError)
    with pytest.raises(InvalidOption, match="same choices"):
        best_choice([-1.0, -2.0], [-1.0, -2.0, -3.0])


def test_the_module_is_pure_python() -> None:
    code = "import sys, bridgex_chain.models.choices; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
