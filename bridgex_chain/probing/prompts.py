"""Probe prompts: rendering them, and checking whether a model understands them.

* :func:`probe_prompt` renders METHOD.md's prompt ``{name(S)}:"{w}"→{name(T)}:`` (English
  language names; the target word is not in the prompt); :class:`ProbePrompt` carries it with
  its gold answers.
* :func:`understood_pairs` is ``--filter-understood`` ("full activation"): greedy decoding of
  the probe prompts (batched, by :class:`bridgex_chain.models.hf.HFCore`), keeping the pairs
  whose continuation starts with a gold target (:func:`starts_with_target`).

Example:
    >>> probe_prompt("sw", "en", "maji")
    'Swahili:"maji"→English:'
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bridgex_chain.errors import InvalidOption
from bridgex_chain.languages import language_name
from bridgex_chain.models.hf import HFCore

if TYPE_CHECKING:
    import torch

__all__ = [
    "ProbePrompt",
    "greedy_continuations",
    "probe_prompt",
    "starts_with_target",
    "understood_pairs",
]


def probe_prompt(src: str, trg: str, word: str) -> str:
    """Render METHOD.md's probe prompt ``{name(S)}:"{w}"→{name(T)}:``.

    Example:
        >>> probe_prompt("swh_Latn", "fra_Latn", "maji")
        'Swahili:"maji"→French:'
    """
    return f'{language_name(src)}:"{word}"→{language_name(trg)}:'


@dataclass(frozen=True)
class ProbePrompt:
    """One probe prompt: the text fed to the model and the gold answers (for filtering).

    Attributes:
        text: ``{name(S)}:"{word}"→{name(T)}:``.
        src: source language (FLORES-200 code).
        trg: target language.
        word: the source word.
        targets: every gold translation of ``word`` into ``trg``, sorted.

    Example:
        >>> ProbePrompt('English:"fire"→Swahili:', "eng_Latn", "swh_Latn", "fire", ("moto",)).word
        'fire'
    """

    text: str
    src: str
    trg: str
    word: str
    targets: tuple[str, ...]


def _strip_punct_and_space(text: str, *, leading_only: bool) -> str:
    def junk(ch: str) -> bool:
        return ch.isspace() or unicodedata.category(ch).startswith(("P", "S"))

    start = 0
    while start < len(text) and junk(text[start]):
        start += 1
    end = len(text)
    if not leading_only:
        while end > start and junk(text[end - 1]):
            end -= 1
    return text[start:end]


def _normalise(text: str, *, leading_only: bool) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _strip_punct_and_space(folded, leading_only=leading_only)


def starts_with_target(generated: str, targets: str | Sequence[str]) -> bool:
    """Return whether ``generated`` starts with one of ``targets``.

    Both sides are NFKC-normalised and case-folded; leading whitespace, quotes and other
    punctuation/symbols are ignored in ``generated``, and stripped from both ends of each
    target. A plain prefix test: ``"waterfall"`` matches target ``"water"``.

    Example:
        >>> starts_with_target(' "Water" and', ["eau", "water"])
        True
        >>> starts_with_target("« Maji »", "maji")
        True
    """
    text = _normalise(generated, leading_only=True)
    options = [targets] if isinstance(targets, str) else list(targets)
    for target in options:
        gold = _normalise(target, leading_only=False)
        if gold and text.startswith(gold):
            return True
    return False


def greedy_continuations(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    *,
    max_new_tokens: int = 8,
    batch_size: int = 16,
    device: str | torch.device | None = None,
) -> list[str]:
    r"""Greedy-decode each prompt (batched, left-padded) and return only the new text.

    The decoding is :meth:`bridgex_chain.models.hf.HFCore.generate` (no stop strings); the
    model is put in eval mode.

    Example:
        >>> greedy_continuations(model, tok, ['English:"water"→French:'])  # doctest: +SKIP
        [' "eau"\\n']
    """
    model.eval()
    core = HFCore(model, tokenizer, batch_size=batch_size, device=device)
    return core.generate(prompts, max_new_tokens=max_new_tokens)


def understood_pairs(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    targets: Sequence[str | Sequence[str]],
    *,
    max_new_tokens: int = 8,
    batch_size: int = 16,
    device: str | torch.device | None = None,
) -> list[bool]:
    """Return, per probe prompt, whether the model's greedy answer starts with a gold target.

    Used by ``--filter-understood`` ("full activation"): keep only the pairs the model
    translates correctly. See :func:`starts_with_target` for the matching rule.

    Args:
        model: a loaded causal LM.
        tokenizer: its tokenizer.
        prompts: probe prompts ``{name(S)}:"{w}"→{name(T)}:``.
        targets: per prompt, the gold target word or a list of accepted words.
        max_new_tokens: greedy tokens generated per prompt.
        batch_size: prompts per ``generate`` call.
        device: where the inputs go (default: the model's device).

    Example:
        >>> understood_pairs(model, tok, ['English:"water"→French:'], [["eau"]])  # doctest: +SKIP
        [True]
    """
    if len(prompts) != len(targets):
        raise InvalidOption(
            f"{len(prompts)} prompts but {len(targets)} target lists: pass one gold target "
            "(or list of accepted targets) per prompt."
        )
    texts = greedy_continuations(
        model,
        tokenizer,
        prompts,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        device=device,
    )
    return [starts_with_target(t, gold) for t, gold in zip(texts, targets, strict=True)]
