"""Build the wheel, install it into a fresh venv and use it from outside the source tree."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    (whl,) = out.glob("bridgex_chain-*.whl")
    return whl


def test_wheel_layout(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "bridgex_chain/cli/main.py" in names
    assert "bridgex_chain/py.typed" in names
    assert "bridgex_chain/_migrations/env.py" in names
    assert any(n.startswith("bridgex_chain/_migrations/versions/") for n in names)
    assert any(n.startswith("bridgex_chain/_precomputed/") for n in names)
    # No top-level `cli` or `alembic` module may land in site-packages.
    tops = {n.split("/", 1)[0] for n in names}
    assert "cli" not in tops
    assert "alembic" not in tops
    assert "precomputed" not in tops


def test_wheel_installs_and_runs_in_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    # Reuse the test environment's third-party packages (no network needed) through a plain path
    # entry: the directory's own .pth files (our editable install) are not processed, so
    # bridgex_chain can only come from the wheel.
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    deps = next(p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())
    (Path(site) / "_test_deps.pth").write_text(deps + "\n")
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        text=True,
    )
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HOME": str(tmp_path)}
    help_out = subprocess.run(
        [str(venv / "bin" / "bridgex-chain"), "--help"],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    ).stdout
    assert "bridgex-chain" in help_out or "Usage" in help_out
    where = subprocess.run(
        [str(py), "-c", "import bridgex_chain.cli, bridgex_chain; print(bridgex_chain.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    ).stdout.strip()
    assert str(venv) in where, f"imported from {where}, not from the installed wheel"
