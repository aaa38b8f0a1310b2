"""Tests for bridgex_chain.chain.render_cache: the LRU cache of bridge renderings."""

from __future__ import annotations

import threading

from langchain_core.messages import HumanMessage, SystemMessage

from bridgex_chain.chain.render_cache import RenderCache
from bridgex_chain.prompting.templates import ModelPrompt


def counters() -> dict[str, int]:
    return {"model_calls": 0, "renders_cached": 0}


def test_hits_count_and_least_recently_used_goes_first() -> None:
    cache, info = RenderCache(size=2), counters()
    a, b, c = (ModelPrompt(f"Translate: {w}") for w in ("maji", "moto", "jua"))
    cache.put(a, "eau")
    cache.put(b, "feu")
    assert cache.get(a, info) == "eau"  # a is now the most recently used
    cache.put(c, "soleil")  # evicts b
    assert len(cache) == 2
    assert cache.get(b, info) is None
    assert cache.get(c, info) == "soleil"
    assert info == {"model_calls": 3, "renders_cached": 2}


def test_stop_strings_and_messages_are_part_of_the_key() -> None:
    cache, info = RenderCache(size=8), counters()
    text = ModelPrompt("Translate: maji", stop=("\n",))
    cache.put(text, "eau")
    assert cache.get(ModelPrompt("Translate: maji"), info) is None
    messages = ModelPrompt([SystemMessage("Translate."), HumanMessage("maji")])
    cache.put(messages, "eau")
    same = ModelPrompt([SystemMessage("Translate."), HumanMessage("maji")])
    assert cache.get(same, info) == "eau"
    other = ModelPrompt([SystemMessage("Translate."), HumanMessage("moto")])
    assert cache.get(other, info) is None


def test_size_zero_stores_nothing_but_counts_calls() -> None:
    cache, info = RenderCache(size=0), counters()
    prompt = ModelPrompt("Translate: maji")
    assert cache.put(prompt, "eau") == "eau"
    assert cache.get(prompt, info) is None
    assert len(cache) == 0 and info["model_calls"] == 1


def test_concurrent_use_keeps_the_size_bound() -> None:
    cache = RenderCache(size=16)

    def work(worker: int) -> None:
        info = counters()
        for i in range(500):
            prompt = ModelPrompt(f"Translate: {worker}-{i % 40}")
            if cache.get(prompt, info) is None:
                cache.put(prompt, str(i))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 16
