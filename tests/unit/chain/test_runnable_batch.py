"""BridgeXChain.batch: the inputs' model calls go to the model together; each keeps its runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler, CallbackManagerForLLMRun
from langchain_core.language_models import BaseLLM
from langchain_core.outputs import Generation, LLMResult

from bridgex_chain.chain import BridgeXChain
from bridgex_chain.chain.policies import FixedBridge, NoBridge
from bridgex_chain.chain.render_cache import RenderCache
from bridgex_chain.detect import Detection
from bridgex_chain.errors import UnknownLanguage
from bridgex_chain.store.table import BridgeTable

GEMMA = "google/gemma-3-270m"


class RecordingLLM(BaseLLM):
    """Renders as ``<text>``, answers with the line it sees; logs every ``_generate`` batch."""

    batches: list[list[str]]
    fail_on: str | None = None

    @property
    def _llm_type(self) -> str:
        return "recording"

    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        self.batches.append(list(prompts))
        out = []
        for prompt in prompts:
            if self.fail_on and self.fail_on in prompt:
                raise RuntimeError("the model broke")
            last = prompt.split("\n")[-2]
            if prompt.startswith("Translate"):
                out.append([Generation(text=f" <{last.split(': ', 1)[1]}>")])
            else:
                out.append([Generation(text=f" jibu: {last}")])
        return LLMResult(generations=out)


@pytest.fixture
def table(make_bridge_db: Callable[..., str]) -> BridgeTable:
    scores = {("swh_Latn", "swh_Latn"): {"fra_Latn": 0.41, "eng_Latn": 0.38}}
    return BridgeTable(make_bridge_db(GEMMA, scores))


def swahili(text: str) -> Detection:
    return Detection("swh_Latn", 0.9)


def chain_of(llm: RecordingLLM, table: Any, **kw: Any) -> BridgeXChain:
    return BridgeXChain(
        llm=llm, table=table, route_policy="table", detector=swahili, model=GEMMA, **kw
    )


QUERIES = ["Habari yako?", "Jina lako nani?", "Unatoka wapi?"]


def test_renderings_and_answers_go_to_the_model_as_one_batch_each(table: BridgeTable) -> None:
    llm = RecordingLLM(batches=[])
    replies = chain_of(llm, table).batch(QUERIES)
    batches = llm.batches  # pydantic keeps the list it was given
    assert [len(b) for b in batches] == [3, 3]  # one render batch, one answer batch
    assert all(p.startswith("Translate") for p in batches[0])
    for query, reply in zip(QUERIES, replies, strict=True):
        meta = reply.response_metadata["bridgex"]
        assert meta["bridge"] == "fra_Latn" and meta["rendering"] == f"<{query}>"
        assert f"<{query}>" in str(reply.content)


def test_batch_agrees_with_invoke(table: BridgeTable) -> None:
    invoked = [chain_of(RecordingLLM(batches=[]), table).invoke(q) for q in QUERIES]
    batched = chain_of(RecordingLLM(batches=[]), table).batch(QUERIES)
    assert [m.content for m in batched] == [m.content for m in invoked]
    assert [m.response_metadata for m in batched] == [m.response_metadata for m in invoked]


def test_max_concurrency_caps_the_model_batch(table: BridgeTable) -> None:
    llm = RecordingLLM(batches=[])
    chain_of(llm, table).batch(QUERIES, {"max_concurrency": 2})
    assert [len(b) for b in llm.batches] == [2, 1, 2, 1]


def test_a_prompt_asked_twice_is_rendered_once(table: BridgeTable) -> None:
    llm = RecordingLLM(batches=[])
    replies = chain_of(llm, table).batch(["Habari yako?", "Habari yako?"])
    assert len(llm.batches[0]) == 1
    assert replies[0].content == replies[1].content


def test_each_input_keeps_its_own_runs(table: BridgeTable) -> None:
    class Runs(BaseCallbackHandler):
        def __init__(self) -> None:
            self.chains: dict[UUID, tuple[str | None, UUID | None]] = {}
            self.llms: dict[UUID, UUID | None] = {}

        def on_chain_start(self, serialized: Any, inputs: Any, **kw: Any) -> None:
            self.chains[kw["run_id"]] = (kw.get("name"), kw.get("parent_run_id"))

        def on_llm_start(self, serialized: Any, prompts: Any, **kw: Any) -> None:
            self.llms[kw["run_id"]] = kw.get("parent_run_id")

    runs = Runs()
    chain_of(RecordingLLM(batches=[]), table).batch(QUERIES, {"callbacks": [runs]})
    roots = [rid for rid, (_, parent) in runs.chains.items() if parent is None]
    assert len(roots) == 3
    for root in roots:
        steps = {name for name, parent in runs.chains.values() if parent == root}
        assert steps == {"detect", "lookup", "rewrite"}
    rewrites = {rid for rid, (name, _) in runs.chains.items() if name == "rewrite"}
    render_parents = [parent for parent in runs.llms.values() if parent in rewrites]
    assert sorted(map(str, render_parents)) == sorted(map(str, rewrites))  # one per input


def test_a_failing_input_gives_its_exception_in_place(table: BridgeTable) -> None:
    chain = chain_of(RecordingLLM(batches=[]), table)
    inputs: list[Any] = ["Habari yako?", {"query": "Habari?", "lang": "xx-nope"}, "Unatoka?"]
    out = chain.batch(inputs, return_exceptions=True)
    assert isinstance(out[1], UnknownLanguage)
    assert out[0].response_metadata["bridgex"]["bridge"] == "fra_Latn"
    assert out[2].content
    with pytest.raises(UnknownLanguage):
        chain.batch(inputs)


def test_a_model_error_fails_the_inputs_of_that_batch(table: BridgeTable) -> None:
    llm = RecordingLLM(batches=[], fail_on="Translate")
    out = chain_of(llm, table).batch(["Habari?", "   "], return_exceptions=True)
    assert isinstance(out[0], RuntimeError)
    assert out[1].response_metadata["bridgex"]["fallback"] == "empty_input"


def test_given_renderings_replace_the_models_and_are_not_cached(table: BridgeTable) -> None:
    llm = RecordingLLM(batches=[])
    cache = RenderCache(16)
    gold = {("Habari yako?", "fra_Latn"): "Comment vas-tu ?"}
    oracle = chain_of(llm, table, renderings=gold, render_cache=cache)
    reply = oracle.batch(["Habari yako?"])[0]
    meta = reply.response_metadata["bridgex"]
    assert meta["rendering"] == "Comment vas-tu ?" and meta["renders_given"] == 1
    assert len(llm.batches) == 1 and not llm.batches[0][0].startswith("Translate")
    assert len(cache) == 0
    assert oracle.invoke("Habari yako?").response_metadata["bridgex"]["renders_given"] == 1


def test_chains_sharing_a_render_cache_render_once(table: BridgeTable) -> None:
    llm = RecordingLLM(batches=[])
    cache = RenderCache(16)
    chain_of(llm, FixedBridge("fra_Latn"), render_cache=cache).batch(QUERIES)
    replies = chain_of(llm, table, render_cache=cache).batch(QUERIES)
    assert sum(p.startswith("Translate") for b in llm.batches for p in b) == 3
    assert all(r.response_metadata["bridgex"]["renders_cached"] == 1 for r in replies)


def test_direct_inputs_skip_rendering() -> None:
    llm = RecordingLLM(batches=[])
    replies = chain_of(llm, NoBridge()).batch(QUERIES, lang="sw")
    assert [len(b) for b in llm.batches] == [3]
    assert all(r.response_metadata["bridgex"]["fallback"] == "no_bridge" for r in replies)


def test_empty_batch() -> None:
    assert chain_of(RecordingLLM(batches=[]), NoBridge()).batch([]) == []
