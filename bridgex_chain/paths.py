"""Where bridgex-chain keeps its files (platformdirs, with environment overrides).

Example:
    >>> from bridgex_chain.paths import cache_dir
    >>> cache_dir().name != ""
    True
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["cache_dir", "data_dir", "default_database_url"]

_APP = "bridgex-chain"


def data_dir() -> Path:
    """Return the directory for durable user data (the default SQLite bridge table).

    ``BRIDGEX_DATA_DIR`` overrides the platform default.
    """
    override = os.environ.get("BRIDGEX_DATA_DIR")
    path = Path(override) if override else Path(platformdirs.user_data_dir(_APP))
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Return the directory for re-creatable files (cached models, probe intermediates).

    ``BRIDGEX_CACHE_DIR`` overrides the platform default.
    """
    override = os.environ.get("BRIDGEX_CACHE_DIR")
    path = Path(override) if override else Path(platformdirs.user_cache_dir(_APP))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_database_url() -> str:
    """Return ``BRIDGEX_DATABASE_URL`` or a SQLite file under :func:`data_dir`."""
    url = os.environ.get("BRIDGEX_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{data_dir() / 'bridges.db'}"
