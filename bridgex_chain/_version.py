"""The installed version of bridgex-chain.

A ground-layer module: the stages record the version in their runs without importing the
top-level package (which names every stage).

Example:
    >>> __version__.count(".") >= 2
    True
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__: str = version("bridgex-chain")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"
