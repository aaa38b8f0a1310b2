"""Shared pytest fixtures: tiny, randomly initialised Hugging Face causal LMs (no downloads).

This module also registers ``tests/store_fixtures.py`` and ``tests/example_fixtures.py`` as
pytest plugins (see :func:`pytest_configure`), so every test directory gets the same store
fixtures (``sqlite_url``, ``postgres_server``, ``postgres_url``, ``store_url``,
``make_sample_run``) and example-script fixtures (``load_example``, ``example_reply``,
``fake_example_model``).

Everything here is built in memory, offline, from a fixed seed, so tests are fast and
deterministic. torch / transformers / tokenizers are imported inside the fixtures: a test
module that does not ask for these fixtures never imports them.

Fixtures
--------
``tiny_tokenizer_factory`` (session)
    ``make(padding_side="right") -> PreTrainedTokenizerFast``: a fresh tokenizer object each
    call (so a test may change ``padding_side`` without affecting others). Byte-level BPE
    trained in memory on a small multilingual text (vocab 300: 4 special tokens, the 256 byte
    symbols, 40 merges), so any Unicode text encodes. Special ids: ``<pad>``=0, ``<eos>``=1,
    ``<bos>``=2, ``<unk>``=3; a ``<bos>`` is prepended to every sequence, like Gemma/Llama.
``tiny_tokenizer``
    ``tiny_tokenizer_factory("right")``.
``make_tiny_lm`` (session)
    ``make(arch, *, padding_side="right", **config_overrides) -> (model, tokenizer, arch)``.
    ``arch`` is one of :data:`TINY_ARCHS` (``"llama"``, ``"mistral"``, ``"qwen2"``,
    ``"gemma3_text"``; ``"gemma"`` and ``"gemma2"`` are also accepted). Default config: 3 layers,
    hidden 32, intermediate 64, 4 heads (2 KV heads, head dim 8), vocab 300, float32, eval mode,
    weights seeded (``torch.manual_seed(1234)``). Models with default config are cached for
    the session and shared: do not modify their weights. Overrides build a new model.
``tiny_lm`` (parametrised over :data:`TINY_ARCHS`)
    ``(model, tokenizer, arch)`` with a right-padding tokenizer; the test id is the arch name.
``save_tiny_lm`` (session)
    ``save(arch, directory) -> directory``: the default ``make_tiny_lm(arch)`` model and its
    tokenizer saved with ``save_pretrained``, for code that loads a model from a local path.

Example::

    def test_something(tiny_lm):
        model, tokenizer, arch = tiny_lm
        batch = tokenizer(["a b", "c"], return_tensors="pt", padding=True)
        out = model(**batch)
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

#: Plugin name -> the module beside this file that holds those shared fixtures.
_PLUGINS = {
    "bridgex-store-fixtures": "store_fixtures",
    "bridgex-example-fixtures": "example_fixtures",
}


def pytest_configure(config: pytest.Config) -> None:
    """Register ``tests/store_fixtures.py`` and ``tests/example_fixtures.py`` once each as plugins.

    The tests are not a package (``--import-mode=importlib``), so the modules are loaded by path.
    """
    for plugin, name in _PLUGINS.items():
        if config.pluginmanager.has_plugin(plugin):
            continue
        path = Path(__file__).with_name(f"{name}.py")
        spec = importlib.util.spec_from_file_location(f"_bridgex_{name}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        config.pluginmanager.register(module, plugin)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect docstring examples that are all ``# doctest: +SKIP`` (they load real models).

    They document usage but test nothing; reporting them as skipped tests would only be noise.
    The same calls run for real in the ``slow`` tests.
    """
    import doctest

    from _pytest.doctest import DoctestItem

    dropped = [
        item
        for item in items
        if isinstance(item, DoctestItem)
        and item.dtest is not None
        and all(example.options.get(doctest.SKIP) for example in item.dtest.examples)
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


#: The four architectures every probing test runs on.
TINY_ARCHS: tuple[str, ...] = ("llama", "mistral", "qwen2", "gemma3_text")

_SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>"]
_TRAINING_TEXT = [
    'English:"water"→French:',
    'Swahili:"maji"→English: water',
    "the quick brown fox jumps over the lazy dog",
    "le renard brun saute par-dessus le chien paresseux",
    "der schnelle braune Fuchs springt über den faulen Hund",
    "habari ya asubuhi, rafiki yangu",
    "selamat pagi, apa kabar",
    "hyvää huomenta, mitä kuuluu",
    "jó reggelt kívánok",
    "早上好，你好吗",
    "おはようございます",
    "صباح الخير",
    "בוקר טוב",
]

_BASE_CONFIG: dict[str, Any] = {
    "vocab_size": 300,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 3,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 8,
    "max_position_embeddings": 256,
    "pad_token_id": 0,
    "eos_token_id": 1,
    "bos_token_id": 2,
}


def _config_and_class(arch: str) -> tuple[Any, Any]:
    import transformers as tf

    table: dict[str, tuple[Any, Any]] = {
        "llama": (tf.LlamaConfig, tf.LlamaForCausalLM),
        "mistral": (tf.MistralConfig, tf.MistralForCausalLM),
        "qwen2": (tf.Qwen2Config, tf.Qwen2ForCausalLM),
        "gemma": (tf.GemmaConfig, tf.GemmaForCausalLM),
        "gemma2": (tf.Gemma2Config, tf.Gemma2ForCausalLM),
        "gemma3_text": (tf.Gemma3TextConfig, tf.Gemma3ForCausalLM),
    }
    if arch not in table:
        raise ValueError(f"unknown tiny arch {arch!r}; choose one of {sorted(table)}")
    return table[arch]


def _build_model(arch: str, overrides: dict[str, Any]) -> Any:
    import torch

    config_cls, model_cls = _config_and_class(arch)
    kwargs = {**_BASE_CONFIG, **overrides}
    if arch.startswith("gemma"):
        kwargs.setdefault("query_pre_attn_scalar", kwargs["head_dim"])
    if arch in ("gemma2", "gemma3_text"):
        kwargs.setdefault("sliding_window", 16)
    config = config_cls(**kwargs)
    torch.manual_seed(1234)
    model = model_cls(config).to(torch.float32)
    model.eval()
    return model


@pytest.fixture(scope="session")
def tiny_tokenizer_factory() -> Callable[..., Any]:
    """Return ``make(padding_side="right")`` building a fresh offline tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE(unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=_BASE_CONFIG["vocab_size"],
        special_tokens=_SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(_TRAINING_TEXT, trainer=trainer)
    bos = core.token_to_id("<bos>")
    core.post_processor = processors.TemplateProcessing(
        single="<bos> $A", pair="<bos> $A $B", special_tokens=[("<bos>", bos)]
    )
    serialised = core.to_str()

    def make(padding_side: str = "right") -> Any:
        return PreTrainedTokenizerFast(
            tokenizer_object=Tokenizer.from_str(serialised),
            pad_token="<pad>",
            eos_token="<eos>",
            bos_token="<bos>",
            unk_token="<unk>",
            padding_side=padding_side,
        )

    return make


@pytest.fixture
def tiny_tokenizer(tiny_tokenizer_factory: Callable[..., Any]) -> Any:
    """A right-padding tiny tokenizer (fresh object per test)."""
    return tiny_tokenizer_factory("right")


@pytest.fixture(scope="session")
def make_tiny_lm(
    tiny_tokenizer_factory: Callable[..., Any],
) -> Callable[..., tuple[Any, Any, str]]:
    """Return ``make(arch, *, padding_side="right", **overrides) -> (model, tokenizer, arch)``."""
    cache: dict[str, Any] = {}

    def make(arch: str, *, padding_side: str = "right", **overrides: Any) -> tuple[Any, Any, str]:
        if overrides:
            model = _build_model(arch, overrides)
        else:
            if arch not in cache:
                cache[arch] = _build_model(arch, {})
            model = cache[arch]
        return model, tiny_tokenizer_factory(padding_side), arch

    return make


@pytest.fixture(params=TINY_ARCHS)
def tiny_lm(
    request: pytest.FixtureRequest, make_tiny_lm: Callable[..., tuple[Any, Any, str]]
) -> tuple[Any, Any, str]:
    """``(model, tokenizer, arch)`` for each of the four tiny architectures."""
    arch: str = request.param
    return make_tiny_lm(arch)


@pytest.fixture(scope="session")
def save_tiny_lm(make_tiny_lm: Callable[..., tuple[Any, Any, str]]) -> Callable[[str, Path], Path]:
    """Return ``save(arch, directory) -> directory`` writing a tiny model and tokenizer there."""

    def save(arch: str, directory: Path) -> Path:
        model, tokenizer, _ = make_tiny_lm(arch)
        model.save_pretrained(directory)
        tokenizer.save_pretrained(directory)
        return directory

    return save
