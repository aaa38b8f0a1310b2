"""models/llamacpp_server: the server's life cycle, on a stand-in server (no llama.cpp needed).

The real llama.cpp server runs in tests/integration/test_llamacpp_server.py.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from bridgex_chain.errors import MissingDependency, ModelCallError, ModelNotAvailable
from bridgex_chain.models.llamacpp_server import LlamaCppServer

SERVES_MODELS = """
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"data": [{"id": "gemma-3-270m"}]}).encode()
        self.send_response(200 if self.path == "/v1/models" else 404)
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


class StandIn(LlamaCppServer):
    """The life cycle of the real class around another program."""

    package = "json"  # importable everywhere

    def __init__(self, gguf: Path, script: str, **kwargs: float) -> None:
        super().__init__(gguf, **kwargs)  # type: ignore[arg-type]
        self.script = script

    def command(self, port: int) -> list[str]:
        import sys

        return [sys.executable, "-c", self.script, str(port)]


@pytest.fixture
def gguf(tmp_path: Path) -> Path:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF")
    return path


def test_start_waits_until_it_answers_and_stop_ends_it(gguf: Path) -> None:
    with StandIn(gguf, SERVES_MODELS) as server:
        process = server.process
        assert process is not None and process.poll() is None
        with urllib.request.urlopen(f"{server.base_url}/models", timeout=5) as reply:
            assert b"gemma-3-270m" in reply.read()
        assert server.llm().model_name == "gemma-3-270m"  # type: ignore[union-attr]
    assert process.poll() is not None and server.process is None
    server.stop()  # twice is fine


def test_a_server_that_exits_is_reported_with_its_log(gguf: Path) -> None:
    script = "import sys; print('error: unknown model architecture'); sys.exit(3)"
    with pytest.raises(ModelCallError, match=r"exited \(3\): error: unknown model architecture"):
        StandIn(gguf, script).start()


def test_a_server_that_never_answers_times_out_and_is_stopped(gguf: Path) -> None:
    server = StandIn(gguf, "import time; time.sleep(60)", startup_timeout=1.0)
    with pytest.raises(ModelCallError, match="did not answer within 1 s"):
        server.start()
    assert server.process is None


def test_what_is_missing_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ModelNotAvailable, match="No GGUF file at"):
        StandIn(tmp_path / "absent.gguf", SERVES_MODELS).start()
    monkeypatch.setattr(StandIn, "package", "no_such_package_here")
    with pytest.raises(MissingDependency, match=r"pip install 'bridgex-chain\[llamacpp\]'"):
        StandIn(tmp_path / "absent.gguf", SERVES_MODELS).start()
    with pytest.raises(ModelCallError, match="call start"):
        _ = LlamaCppServer().base_url


def test_the_command_serves_the_file_under_its_alias_on_localhost(gguf: Path) -> None:
    command = LlamaCppServer(gguf, alias="g", threads=2, n_ctx=2048).command(9000)
    joined = " ".join(command[1:])
    assert joined.startswith("-m llama_cpp.server --model ")
    for part in ("--model_alias g", "--host 127.0.0.1", "--port 9000", "--n_threads 2"):
        assert part in joined


def test_the_client_sends_one_prompt_per_request(gguf: Path) -> None:
    """llama-cpp-python's server rejects a list of prompts (HTTP 500): batch_size 1."""
    server = LlamaCppServer(gguf, alias="g", port=9000)
    llm = server.llm(max_tokens=8)
    assert llm.batch_size == 1
    assert llm.model_name == "g"
    assert server.llm(batch_size=4).batch_size == 4
