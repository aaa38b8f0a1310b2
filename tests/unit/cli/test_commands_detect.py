"""Tests for the ``bridgex-chain detect`` command (typer CliRunner, real lite model)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from bridgex_chain.cli.main import app
from bridgex_chain.errors import DetectorError, UnknownLanguage

runner = CliRunner()
FRENCH = "Nous allons au marché demain matin pour acheter des légumes frais."
INDONESIAN = "Besok pagi kami akan pergi ke pasar untuk membeli sayur dan buah segar."


def test_detect_prints_code_name_confidence_and_candidates() -> None:
    result = runner.invoke(app, ["detect", FRENCH])
    assert result.exit_code == 0, result.output
    assert "fra_Latn" in result.output and "French" in result.output
    confidence = re.search(r"confidence (\d\.\d+)", result.output)
    assert confidence is not None and float(confidence.group(1)) >= 0.9
    assert "top candidates" in result.output


def test_detect_json_is_one_object() -> None:
    result = runner.invoke(app, ["detect", FRENCH, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["lang"] == "fra_Latn" and payload["name"] == "French"
    assert payload["source"] == "fasttext" and payload["reason"] is None
    assert 0.9 < payload["confidence"] <= 1.0
    assert payload["candidates"][0] == {
        "lang": "fra_Latn",
        "name": "French",
        "prob": payload["confidence"],
    }
    assert len(payload["candidates"]) == 5


def test_detect_allowed_and_lang_hint() -> None:
    for flag in ("--allowed", "--lang-hint"):
        result = runner.invoke(app, ["detect", INDONESIAN, flag, "ms, Indonesian", "--json"])
        assert result.exit_code == 0, result.output
        payload = json.loads(result.output)
        assert payload["lang"] == "ind_Latn"
        assert {c["lang"] for c in payload["candidates"]} <= {"ind_Latn", "zsm_Latn"}
        # Only Malay allowed: the text is surely Indonesian, so Malay stays below the floor.
        result = runner.invoke(app, ["detect", INDONESIAN, flag, "ms, Malay", "--json"])
        payload = json.loads(result.output)
        assert (payload["lang"], payload["reason"]) == ("unknown", "not-allowed")
        assert [c["lang"] for c in payload["candidates"]] == ["zsm_Latn"]


def test_detect_abstains_visibly() -> None:
    result = runner.invoke(app, ["detect", FRENCH, "--threshold", "1.0"])
    assert result.exit_code == 0, result.output
    assert "unknown" in result.output and "below-threshold" in result.output
    payload = json.loads(runner.invoke(app, ["detect", "😀", "--json"]).output)
    assert payload == {
        "lang": "unknown",
        "name": None,
        "confidence": 0.0,
        "source": "fasttext",
        "reason": "no-letters",
        "candidates": [],
    }


def test_detect_custom_model_and_errors(tmp_path: Path) -> None:
    from bridgex_chain.detect import bundled_model_path

    ok = runner.invoke(app, ["detect", FRENCH, "--model", str(bundled_model_path()), "--json"])
    assert json.loads(ok.output)["lang"] == "fra_Latn"
    missing = runner.invoke(app, ["detect", FRENCH, "--model", str(tmp_path / "none.bin")])
    assert missing.exit_code != 0
    assert isinstance(missing.exception, DetectorError)
    unknown = runner.invoke(app, ["detect", FRENCH, "--allowed", "xx"])
    assert isinstance(unknown.exception, UnknownLanguage)
    empty = runner.invoke(app, ["detect", FRENCH, "--allowed", " , "])
    assert empty.exit_code == 2
    bad_threshold = runner.invoke(app, ["detect", FRENCH, "--threshold", "2"])
    assert bad_threshold.exit_code == 2


def test_help_states_the_real_default_threshold() -> None:
    from bridgex_chain.detect import DEFAULT_THRESHOLD

    result = runner.invoke(app, ["detect", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert f"default {DEFAULT_THRESHOLD}" in result.output


def test_model_option_takes_lite_or_a_file() -> None:
    lite = json.loads(runner.invoke(app, ["detect", FRENCH, "--model", "lite", "--json"]).output)
    assert lite["lang"] == "fra_Latn"
    from bridgex_chain.detect import bundled_model_path

    path = str(bundled_model_path())
    own = json.loads(runner.invoke(app, ["detect", FRENCH, "--model", path, "--json"]).output)
    assert own["lang"] == "fra_Latn"
    wide = runner.invoke(app, ["detect", "--help"], env={"COLUMNS": "200"}).output
    assert "bundled SIB-200" in wide and "'lite' for lid.176 lite" in wide
