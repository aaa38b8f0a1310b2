"""Quantise the float LID model, several times if asked, and keep the attempt that is best on dev.

fastText's quantisation prunes the vocabulary, product-quantises the input vectors and retrains
the output layer for a few epochs on multiple threads, so two quantisations of the same float
model differ. Near-identical languages suffer most: from one float model whose Indonesian dev
accuracy was 99 %, one quantisation kept 97 % and another dropped to 72 % (Indonesian answered
as Malay). Each attempt starts again from the saved float model; the kept one has the highest
worst-language full-sentence dev accuracy, ties broken by the mean over full, 6- and 3-word
inputs. Choosing among attempts on dev is model selection; test stays untouched.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Scores = dict[str, dict[str, float]]


def dev_score(scores: Scores) -> tuple[float, float]:
    """(worst language's full-sentence accuracy, mean of full/w6/w3 accuracies) on dev."""
    if not scores:
        return (0.0, 0.0)
    worst = min(s["full"] for s in scores.values())
    mean = sum(sum(s.values()) / len(s) for s in scores.values()) / len(scores)
    return (worst, mean)


def quantize_best(
    fasttext: Any,
    float_model: Path,
    train_file: Path,
    config: Any,
    dev_texts: dict[str, list[str]],
    evaluate: Callable[[Any, dict[str, list[str]]], Scores],
    work_dir: Path,
) -> tuple[Any, list[dict[str, Any]]]:
    """Quantise ``float_model`` ``config.q_attempts`` times; return the best model and a log."""
    attempts: list[dict[str, Any]] = []
    best_path: Path | None = None
    best_score = (-1.0, -1.0)
    for attempt in range(1, max(config.q_attempts, 1) + 1):
        started = time.perf_counter()
        model = fasttext.load_model(str(float_model))
        model.quantize(
            input=str(train_file),
            qnorm=config.qnorm,
            cutoff=config.cutoff,
            retrain=True,
            epoch=config.q_epoch,
            lr=config.q_lr,
            thread=config.thread,
            dsub=config.dsub,
            verbose=0,
        )
        score = dev_score(evaluate(model, dev_texts)) if dev_texts else (0.0, 0.0)
        seconds = time.perf_counter() - started
        attempts.append({"attempt": attempt, "dev_worst_full": score[0], "dev_mean": score[1]})
        print(
            f"quantisation attempt {attempt}: dev worst full {100 * score[0]:.1f}%, "
            f"mean {100 * score[1]:.2f}% ({seconds:.0f}s)",
            flush=True,
        )
        path = work_dir / f"model-q{attempt}.ftz"
        model.save_model(str(path))
        if score > best_score:
            best_score, best_path = score, path
    assert best_path is not None
    kept = int(best_path.stem.removeprefix("model-q"))
    for entry in attempts:
        entry["kept"] = entry["attempt"] == kept
    return fasttext.load_model(str(best_path)), attempts
