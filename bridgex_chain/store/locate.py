"""Find directories shipped inside the package (migrations, precomputed tables).

In an installed wheel they are real sub-directories of ``bridgex_chain`` (``_migrations``,
``_precomputed``). An editable install maps them through an import finder that does not always
expose these namespace directories, so the source tree's top-level directory (``alembic/``,
``precomputed/``, next to the package, beside ``pyproject.toml``) is the fallback.

Example:
    >>> from bridgex_chain.store.locate import package_data_dir
    >>> (package_data_dir("_migrations", "alembic", "env.py") / "env.py").is_file()
    True
"""

from __future__ import annotations

import importlib.util
from importlib.resources import files
from pathlib import Path

__all__ = ["find_package_data_dir", "package_data_dir"]

_PACKAGE = "bridgex_chain"


def _candidates(subpackage: str, source_dir: str, package_root: Path | None) -> list[Path]:
    found: list[Path] = []
    if package_root is None:
        traversable = files(_PACKAGE)
        if isinstance(traversable, Path):
            package_root = traversable
    if package_root is not None:
        found.append(package_root / subpackage)
    try:
        spec = importlib.util.find_spec(f"{_PACKAGE}.{subpackage}")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        found.extend(Path(p) for p in spec.submodule_search_locations if Path(p).is_dir())
    if package_root is not None and (package_root.parent / "pyproject.toml").is_file():
        found.append(package_root.parent / source_dir)
    return found


def find_package_data_dir(
    subpackage: str, source_dir: str, marker: str, *, package_root: Path | None = None
) -> Path | None:
    """Return the directory of ``bridgex_chain.<subpackage>``, or None when absent.

    Args:
        subpackage: Name inside the package (``"_migrations"``).
        source_dir: Name of the source-tree directory it is built from (``"alembic"``).
        marker: A file or directory that must exist inside (``"env.py"``).
        package_root: The ``bridgex_chain`` directory to search from (default: the imported one).

    Example:
        >>> find_package_data_dir("_nothing_here", "nothing", "x") is None
        True
    """
    for candidate in _candidates(subpackage, source_dir, package_root):
        if (candidate / marker).exists():
            return candidate
    return None


def package_data_dir(
    subpackage: str, source_dir: str, marker: str, *, package_root: Path | None = None
) -> Path:
    """Like :func:`find_package_data_dir`, but a missing directory is an error.

    Raises:
        FileNotFoundError: Neither the installed nor the source-tree directory exists.

    Example:
        >>> package_data_dir("_migrations", "alembic", "env.py").name in {"_migrations", "alembic"}
        True
    """
    found = find_package_data_dir(subpackage, source_dir, marker, package_root=package_root)
    if found is None:
        raise FileNotFoundError(
            f"{_PACKAGE}.{subpackage} is missing from this installation (no {marker}); "
            "reinstall bridgex-chain."
        )
    return found
