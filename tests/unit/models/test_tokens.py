"""Token ids (models/tokens.py): encoding, padding, the pad id, the model's device."""

from __future__ import annotations

from typing import Any

import pytest

from bridgex_chain.errors import InvalidOption
from bridgex_chain.models.tokens import encode, model_device, pad_batch, pad_token_id

torch = pytest.importorskip("torch")


def test_pad_batch_left_and_right() -> None:
    ids, mask, pos = pad_batch([[5, 6, 7], [8]], 0, "left")
    assert ids.tolist() == [[5, 6, 7], [0, 0, 8]]
    assert mask.tolist() == [[1, 1, 1], [0, 0, 1]]
    assert pos.tolist() == [[0, 1, 2], [0, 0, 0]]
    ids, mask, pos = pad_batch([[5, 6, 7], [8]], 9, "right")
    assert ids.tolist() == [[5, 6, 7], [8, 9, 9]]
    assert mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    assert pos.tolist() == [[0, 1, 2], [0, 0, 0]]
    assert ids.dtype == torch.long and ids.device.type == "cpu"
    with pytest.raises(InvalidOption, match="'left' or 'right'"):
        pad_batch([[1]], 0, "middle")
    with pytest.raises(InvalidOption, match="empty batch"):
        pad_batch([], 0, "left")


def test_encode_adds_bos_and_truncates(tiny_tokenizer: Any) -> None:
    bos = tiny_tokenizer.bos_token_id
    full, short = encode(tiny_tokenizer, ["habari ya asubuhi", "a"])
    assert full[0] == bos and short[0] == bos
    assert encode(tiny_tokenizer, ["habari ya asubuhi"], 3) == [full[:3]]
    assert encode(tiny_tokenizer, ["a"], add_special_tokens=False) == [short[1:]]
    assert encode(tiny_tokenizer, []) == []


def test_pad_token_id_and_model_device(tiny_tokenizer: Any) -> None:
    class Tok:
        pad_token_id: int | None = None
        eos_token_id: int | None = 7

    assert pad_token_id(tiny_tokenizer) == 0
    assert pad_token_id(Tok()) == 7
    Tok.eos_token_id = None
    assert pad_token_id(Tok()) == 0
    assert model_device(torch.nn.Linear(2, 2)) == torch.device("cpu")

    class NoParameters:
        device = "cpu"

    assert model_device(NoParameters()) == torch.device("cpu")
