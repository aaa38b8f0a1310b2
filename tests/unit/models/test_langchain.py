"""The local Hugging Face adapters on a tiny random model: greedy text, stop strings, streaming."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler

from bridgex_chain.chain import BridgeXChain
from bridgex_chain.detect import Detection
from bridgex_chain.errors import ModelCallError
from bridgex_chain.models import langchain as llm_mod
from bridgex_chain.models.langchain import HFGenerator, LocalHFChatModel, LocalHFLLM, local_model

PROMPT = 'Swahili:"maji"→English:'
CHAT_TEMPLATE = (
    "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<assistant>{% endif %}"
)


@pytest.fixture
def generator(make_tiny_lm: Callable[..., Any]) -> HFGenerator:
    model, tokenizer, _ = make_tiny_lm("llama")
    return HFGenerator(model, tokenizer, "tiny/llama")


def test_generate_is_greedy_and_returns_only_new_text(generator: HFGenerator) -> None:
    import torch

    text = generator.generate(PROMPT, max_new_tokens=12)
    assert text == generator.generate(PROMPT, max_new_tokens=12)  # deterministic
    batch = generator.tokenizer(PROMPT, return_tensors="pt")
    with torch.inference_mode():
        ids = generator.model.generate(**batch, max_new_tokens=12, do_sample=False, pad_token_id=0)
    expected = generator.tokenizer.decode(
        ids[0, batch["input_ids"].shape[1] :], skip_special_tokens=True
    )
    assert text == expected


def test_stop_strings_cut_the_text(generator: HFGenerator) -> None:
    full = generator.generate(PROMPT, max_new_tokens=20)
    assert len(full) > 4, "the tiny model should write something"
    stop = full[3:5]
    cut = generator.generate(PROMPT, max_new_tokens=20, stop=[stop])
    assert cut == full[: full.index(stop)]


def test_stream_joined_equals_generate_with_and_without_stop(generator: HFGenerator) -> None:
    full = generator.generate(PROMPT, max_new_tokens=16)
    assert "".join(generator.stream(PROMPT, max_new_tokens=16)) == full
    stop = full[4:6]
    pieces = list(generator.stream(PROMPT, max_new_tokens=16, stop=[stop]))
    assert "".join(pieces) == generator.generate(PROMPT, max_new_tokens=16, stop=[stop])


def test_closing_a_stream_early_stops_generation(generator: HFGenerator) -> None:
    stream = generator.stream(PROMPT, max_new_tokens=200)
    next(stream)
    stream.close()
    assert not [t for t in threading.enumerate() if t.name == "bridgex-generate"]


def test_generation_errors_become_model_call_errors(generator: HFGenerator) -> None:
    class Broken:
        device = "cpu"

        def generate(self, **kwargs: Any) -> Any:
            raise RuntimeError("out of memory")

    broken = HFGenerator(Broken(), generator.tokenizer, "broken")
    with pytest.raises(ModelCallError, match="broken failed to generate: out of memory"):
        broken.generate(PROMPT)
    with pytest.raises(ModelCallError, match="out of memory"):
        list(broken.stream(PROMPT))


def test_local_llm_honours_stop_and_reports_tokens(generator: HFGenerator) -> None:
    class Tokens(BaseCallbackHandler):
        def __init__(self) -> None:
            self.tokens: list[str] = []

        def on_llm_new_token(self, token: str, **kw: Any) -> None:
            self.tokens.append(token)

    llm = LocalHFLLM(generator=generator, max_new_tokens=16)
    full = llm.invoke(PROMPT)
    stop = full[4:6]
    assert llm.invoke(PROMPT, stop=[stop]) == full[: full.index(stop)]
    handler = Tokens()
    streamed = "".join(llm.stream(PROMPT, {"callbacks": [handler]}))
    assert streamed == full and "".join(handler.tokens) == full
    assert llm.invoke(PROMPT, max_new_tokens=2) != full


def test_local_chat_model_applies_the_chat_template(
    make_tiny_lm: Callable[..., Any],
) -> None:
    model, tokenizer, _ = make_tiny_lm("qwen2")
    tokenizer.chat_template = CHAT_TEMPLATE
    chat = LocalHFChatModel(generator=HFGenerator(model, tokenizer, "tiny/qwen2"), max_new_tokens=8)
    from langchain_core.messages import HumanMessage, SystemMessage

    messages = [SystemMessage("Reply in Swahili."), HumanMessage("Habari?")]
    assert chat.render(messages) == "<system>Reply in Swahili.\n<user>Habari?\n<assistant>"
    reply = chat.invoke(messages)
    assert reply.content == chat.generator.generate(
        chat.render(messages), max_new_tokens=8, templated=True
    )
    assert "".join(str(c.content) for c in chat.stream(messages)) == reply.content


def test_local_model_picks_the_adapter_from_the_chat_template(
    generator: HFGenerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(llm_mod, "_loaded", lambda name: (generator, False))
    assert isinstance(local_model("tiny", max_new_tokens=5), LocalHFLLM)
    monkeypatch.setattr(llm_mod, "_loaded", lambda name: (generator, True))
    chat = local_model("tiny")
    assert isinstance(chat, LocalHFChatModel)
    assert isinstance(local_model("tiny", chat=False), LocalHFLLM)


def test_chain_runs_end_to_end_on_a_real_tiny_model(generator: HFGenerator) -> None:
    chain = BridgeXChain(
        llm=LocalHFLLM(generator=generator, max_new_tokens=6),
        detector=lambda text: Detection("unknown", 0.0),
        model="tiny/llama",
    )
    reply = chain.invoke("Habari yako?")
    meta = reply.response_metadata["bridgex"]
    assert meta["fallback"] == "unknown_language" and meta["prompt_style"] == "completion"
    assert isinstance(reply.content, str)
    assert "".join(str(c.content) for c in chain.stream("Habari yako?")) == reply.content


def test_score_choices_is_calibrated_log_likelihood(generator: HFGenerator) -> None:
    llm = LocalHFLLM(generator=generator)
    prompt = "Classify.\n\nText: Timu ilishinda\nLabel:"
    free = "Classify.\n\nText: N/A\nLabel:"
    raw = llm.score_choices(prompt, ["sports", "politics"])
    assert raw == generator.logprobs(prompt, [" sports", " politics"])
    assert all(x < 0 for x in raw)
    calibrated = llm.score_choices(prompt, ["sports", "politics"], content_free=free)
    base = generator.logprobs(free, [" sports", " politics"])
    assert calibrated == pytest.approx([r - b for r, b in zip(raw, base, strict=True)])


def test_chain_classifies_by_log_likelihood_on_a_local_model(generator: HFGenerator) -> None:
    chain = BridgeXChain(
        llm=LocalHFLLM(generator=generator, max_new_tokens=4),
        detector=lambda text: Detection("unknown", 0.0),
        model="tiny/llama",
        task="classify",
        labels=("sports", "politics", "health"),
    )
    reply = chain.invoke("Timu yetu ilishinda jana")
    meta = reply.response_metadata["bridgex"]
    assert meta["choice_method"] == "logprob" and len(meta["choice_scores"]) == 3
    assert reply.content == meta["choice"] == chain.labels[meta["choice_index"]]  # type: ignore[index]
    assert meta["choice_index"] == max(range(3), key=lambda i: meta["choice_scores"][i])
    streamed = list(chain.stream("Timu yetu ilishinda jana"))
    assert streamed[-1].content == reply.content
    assert streamed[-1].response_metadata["bridgex"]["choice_scores"] == meta["choice_scores"]
    generated = chain.model_copy(update={"choice_scoring": "generate"}).invoke("Timu yetu")
    assert generated.response_metadata["bridgex"]["choice_method"] == "generate"
