"""A real llama.cpp server on the embedded Gemma-3-270m GGUF behind BridgeXChain (slow).

The server is started on 127.0.0.1 and a free port by :class:`LlamaCppServer` and stopped at the
end; the chain routes through it with the shipped table (the table policy, so the Swahili
message is bridged), by invoke, stream and batch. Skips, saying why, only when
``llama-cpp-python[server]`` is not installed (``make install`` builds it; see the Makefile).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridgex_chain.chain import BridgeXChain
from bridgex_chain.models.llamacpp_server import LlamaCppServer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp") is None,
        reason="llama-cpp-python[server] is not installed (it could not be built here): "
        "`make install` builds it with the portable CMAKE_ARGS of the Makefile",
    ),
]

SWAHILI = "Habari za asubuhi! Ninataka kujua hali ya hewa ya kesho Mombasa."


@pytest.fixture(scope="module")
def server() -> Iterator[LlamaCppServer]:
    with LlamaCppServer(threads=1) as running:
        yield running


def test_the_chain_routes_through_a_real_llama_cpp_server(
    server: LlamaCppServer, tmp_path: Path
) -> None:
    chain = BridgeXChain(
        llm=server.llm(max_tokens=24),
        model="gemma-3-270m",
        database_url=f"sqlite:///{tmp_path / 'bridges.db'}",
        route_policy="table",
    )
    reply = chain.invoke({"query": SWAHILI, "lang": "sw"})
    meta = reply.response_metadata["bridgex"]
    assert meta["lang"] == "swh_Latn" and meta["bridge"] is not None, meta
    assert meta["rendering"], "the server rendered the message into the bridge"
    assert isinstance(reply.content, str) and reply.content.strip()
    pieces = list(chain.stream({"query": SWAHILI, "lang": "sw"}))
    assert pieces[0].response_metadata["bridgex"]["bridge"] == meta["bridge"]
    assert "".join(str(p.content) for p in pieces).strip()
    replies = chain.batch([{"query": SWAHILI, "lang": "sw"}, "Apa kabar, teman-teman semua?"])
    assert [r.response_metadata["bridgex"]["lang"] for r in replies] == ["swh_Latn", "ind_Latn"]
    assert all(str(r.content).strip() for r in replies)


def test_the_server_is_stopped_on_exit() -> None:
    with LlamaCppServer(threads=1) as running:
        process = running.process
        assert process is not None and process.poll() is None
    assert process.poll() is not None
