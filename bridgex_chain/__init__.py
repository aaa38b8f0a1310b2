"""bridgex-chain: route prompts for low-resource languages through a model's own bridge language.

Importing this package is cheap: torch, transformers, sentence-transformers and fastText
are only imported inside the functions that need them, and the public names below are
resolved on first attribute access.

Example:
    >>> import bridgex_chain
    >>> bridgex_chain.normalize("sw")
    'swh_Latn'
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from bridgex_chain._version import __version__
from bridgex_chain.errors import (
    BridgeXError,
    DatabaseError,
    DetectorError,
    MissingDependency,
    ModelCallError,
    ModelNotAvailable,
    NoBridgeFound,
    ProbeDataError,
    PromptTooLong,
    SchemaError,
    UnknownLanguage,
    UnsupportedModel,
)

if TYPE_CHECKING:
    from bridgex_chain.chain import BridgeXChain
    from bridgex_chain.chain.chat_model import BridgeXChatModel
    from bridgex_chain.detect import Detection, FastTextDetector, LanguageDetector
    from bridgex_chain.languages import Language, get_language, language_name, normalize
    from bridgex_chain.models import load_causal_lm, model_key, resolve_model
    from bridgex_chain.probing.build import build_table
    from bridgex_chain.store.records import Bridge, RankedBridge
    from bridgex_chain.store.table import BridgeTable

# Public name -> module that defines it (imported on first access).
_LAZY: dict[str, str] = {
    "BridgeXChain": "bridgex_chain.chain",
    "BridgeXChatModel": "bridgex_chain.chain",
    "Detection": "bridgex_chain.detect",
    "FastTextDetector": "bridgex_chain.detect",
    "LanguageDetector": "bridgex_chain.detect",
    "Language": "bridgex_chain.languages",
    "get_language": "bridgex_chain.languages",
    "language_name": "bridgex_chain.languages",
    "normalize": "bridgex_chain.languages",
    "load_causal_lm": "bridgex_chain.models",
    "model_key": "bridgex_chain.models",
    "resolve_model": "bridgex_chain.models",
    "build_table": "bridgex_chain.probing.build",
    "Bridge": "bridgex_chain.store.records",
    "RankedBridge": "bridgex_chain.store.records",
    "BridgeTable": "bridgex_chain.store.table",
}

__all__ = [
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


def __getattr__(name: str) -> Any:
    """Resolve a public name lazily (PEP 562) so the package import stays light."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'bridgex_chain' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
