"""Chat-register training lines for the LID model, sampled from wordfreq's word frequencies.

SIB-200 sentences are translated news and wiki prose. Trained on them alone, the model sends
everyday chat to a neighbour: measured on ``benchmarks/data/chat_queries.tsv`` it labelled 11 of
12 informal Indonesian questions as Malay, Banjar or Javanese ("aku", "kamu", "gimana", "nggak"
hardly occur in FLORES). wordfreq (https://github.com/rspeer/wordfreq) ships word frequencies
for 42 languages estimated from subtitles, Twitter, Reddit, Wikipedia, news and web text, i.e.
including the conversational register. fastText with ``wordNgrams=1`` is a bag of words and
character n-grams, so a line of words drawn from a language's frequency distribution teaches it
that language's everyday vocabulary without any sentence of the source texts being copied.

Licence: wordfreq's data is CC-BY-SA 4.0 (its README lists the sources and their attributions);
the model trained with these lines is CC-BY-SA 4.0 like the SIB-200-trained one.

Only languages whose FLORES code is certain are used (Serbo-Croatian ``sh`` is skipped: it is one
list for three labels); Chinese and Japanese are skipped too (their lists are segmenter output,
and the model is already accurate on them), and so is Malay: its list shares most of its
frequent words with Indonesian, and with Malay lines the model sent plain Indonesian sentences
("Saya suka makan nasi goreng di pagi hari bersama keluarga saya.") to Malay.
"""

from __future__ import annotations

import random
from typing import Any

# wordfreq language -> FLORES-200 label of the LID model.
WORDFREQ_TO_FLORES: dict[str, str] = {
    "ar": "arb_Arab",
    "bg": "bul_Cyrl",
    "bn": "ben_Beng",
    "ca": "cat_Latn",
    "cs": "ces_Latn",
    "da": "dan_Latn",
    "de": "deu_Latn",
    "el": "ell_Grek",
    "en": "eng_Latn",
    "es": "spa_Latn",
    "fa": "pes_Arab",
    "fi": "fin_Latn",
    "fil": "tgl_Latn",
    "fr": "fra_Latn",
    "he": "heb_Hebr",
    "hi": "hin_Deva",
    "hu": "hun_Latn",
    "id": "ind_Latn",
    "is": "isl_Latn",
    "it": "ita_Latn",
    "ko": "kor_Hang",
    "lt": "lit_Latn",
    "lv": "lvs_Latn",
    "mk": "mkd_Cyrl",
    "nb": "nob_Latn",
    "nl": "nld_Latn",
    "pl": "pol_Latn",
    "pt": "por_Latn",
    "ro": "ron_Latn",
    "ru": "rus_Cyrl",
    "sk": "slk_Latn",
    "sl": "slv_Latn",
    "sv": "swe_Latn",
    "ta": "tam_Taml",
    "tr": "tur_Latn",
    "uk": "ukr_Cyrl",
    "ur": "urd_Arab",
    "vi": "vie_Latn",
}
ENGLISH_RATIO = 2.0
ENDINGS: tuple[tuple[str, float], ...] = (("?", 0.3), (".", 0.2), ("!", 0.05))


def top_words(wordfreq: Any, lang: str, top: int) -> tuple[list[str], list[float]]:
    """The ``top`` most frequent words of ``lang`` with their frequencies (wordlist "best").

    Words without letters go, and so do English words that social-media text mixes in (Tagalog's
    list has "of" and "know"): a word is dropped when it is over ``ENGLISH_RATIO`` times as
    frequent in English. (Filtering Indonesian and Malay against each other the same way was
    measured and not kept: see the model card.)
    """
    freqs: dict[str, float] = wordfreq.get_frequency_dict(lang, wordlist="best")
    ranked = sorted(freqs.items(), key=lambda item: -item[1])
    words: list[str] = []
    for word, freq in ranked:
        if len(words) == top:
            break
        if not any(c.isalpha() for c in word):
            continue
        if lang != "en" and wordfreq.word_frequency(word, "en") > ENGLISH_RATIO * freq:
            continue
        words.append(word)
    return words, [freqs[w] for w in words]


def chat_line(words: list[str], weights: list[float], rng: random.Random, lo: int, hi: int) -> str:
    """One pseudo-chat line of ``lo``..``hi`` words drawn by frequency, maybe capitalised.

    Lines are bags of frequent words, e.g. ``"Harus di itu kasih?"`` for Indonesian.
    """
    drawn = rng.choices(words, weights=weights, k=rng.randint(lo, hi))
    text = " ".join(drawn)
    if rng.random() < 0.5:
        text = text[:1].upper() + text[1:]
    roll = rng.random()
    for mark, prob in ENDINGS:
        if roll < prob:
            return text + mark
        roll -= prob
    return text


def chat_lines(
    labels: set[str], per_lang: int, top: int, lo: int, hi: int, rng: random.Random
) -> dict[str, list[str]]:
    """Pseudo-chat lines per FLORES label, for the wordfreq languages among ``labels``.

    Returns an empty mapping when ``per_lang`` is 0. Raises ``SystemExit`` if wordfreq is
    missing (it is in tools/requirements-lid-train.txt).
    """
    if per_lang <= 0:
        return {}
    try:
        import wordfreq
    except ImportError as err:
        raise SystemExit(
            "wordfreq is missing from the training venv: "
            "pip install -r tools/requirements-lid-train.txt"
        ) from err
    out: dict[str, list[str]] = {}
    for source, label in sorted(WORDFREQ_TO_FLORES.items()):
        if label not in labels:
            continue
        words, weights = top_words(wordfreq, source, top)
        out[label] = [chat_line(words, weights, rng, lo, hi) for _ in range(per_lang)]
    return out
