"""Finding the directories shipped inside the package (migrations, precomputed tables)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridgex_chain.store.locate import find_package_data_dir, package_data_dir


def test_locate_prefers_the_installed_layout(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    (checkout / "bridgex_chain").mkdir(parents=True)
    (checkout / "alembic").mkdir()
    (checkout / "alembic" / "env.py").write_text("")
    (checkout / "pyproject.toml").write_text("")
    root = checkout / "bridgex_chain"
    assert find_package_data_dir("_migrations", "alembic", "env.py", package_root=root) == (
        checkout / "alembic"
    )
    (root / "_migrations").mkdir()
    (root / "_migrations" / "env.py").write_text("")
    assert find_package_data_dir("_migrations", "alembic", "env.py", package_root=root) == (
        root / "_migrations"
    )
    # Without pyproject.toml beside it, a directory next to the package is not a source tree.
    site = tmp_path / "site" / "bridgex_chain"
    site.mkdir(parents=True)
    (site.parent / "alembic").mkdir()
    (site.parent / "alembic" / "env.py").write_text("")
    assert find_package_data_dir("_nothing", "alembic", "env.py", package_root=site) is None


def test_this_checkout_finds_migrations_and_precomputed_tables() -> None:
    migrations = package_data_dir("_migrations", "alembic", "env.py")
    assert (migrations / "env.py").is_file() and (migrations / "versions").is_dir()
    precomputed = find_package_data_dir("_precomputed", "precomputed", "README.md")
    assert precomputed is not None and (precomputed / "README.md").is_file()


def test_the_marker_must_exist_inside(tmp_path: Path) -> None:
    root = tmp_path / "bridgex_chain"
    (root / "_scratch").mkdir(parents=True)  # the directory exists, its marker does not
    assert find_package_data_dir("_scratch", "scratch", "env.py", package_root=root) is None
    (root / "_scratch" / "env.py").write_text("")
    assert find_package_data_dir("_scratch", "scratch", "env.py", package_root=root) == (
        root / "_scratch"
    )


def test_a_missing_directory_is_an_error_that_says_reinstall(tmp_path: Path) -> None:
    root = tmp_path / "bridgex_chain"
    root.mkdir()
    with pytest.raises(FileNotFoundError, match=r"_nothing is missing .*no marker.*reinstall"):
        package_data_dir("_nothing", "nothing", "marker", package_root=root)
