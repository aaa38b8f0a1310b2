"""Build the wheel, install it into a fresh venv and use it from outside the source tree."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _run(*cmd: str | Path, **kwargs: object) -> str:
    done = subprocess.run(
        [str(c) for c in cmd], check=True, capture_output=True, text=True, **kwargs
    )  # type: ignore[call-overload]
    return str(done.stdout)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", out, ROOT)
    (whl,) = out.glob("bridgex_chain-*.whl")
    return whl


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the wheel; third-party packages come from the test environment."""
    venv = tmp_path_factory.mktemp("venv")
    _run(sys.executable, "-m", "venv", venv)
    py = venv / "bin" / "python"
    site = _run(py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    # A plain path entry: the directory's own .pth files (our editable install) are not
    # processed, so bridgex_chain can only come from the wheel. No network needed.
    deps = next(p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())
    (Path(site) / "_test_deps.pth").write_text(deps + "\n")
    _run(py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel)
    return venv


def test_wheel_layout(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "bridgex_chain/cli/main.py" in names
    assert "bridgex_chain/py.typed" in names
    assert "bridgex_chain/_migrations/env.py" in names
    assert any(n.startswith("bridgex_chain/_migrations/versions/") for n in names)
    assert "bridgex_chain/_precomputed/gemma-3-270m.json" in names
    assert "bridgex_chain/data/lid/bridgex-lid-sib200.ftz" in names
    assert "bridgex_chain/data/lid/MODEL_CARD.md" in names
    # No top-level `cli` or `alembic` module may land in site-packages.
    tops = {n.split("/", 1)[0] for n in names}
    assert "cli" not in tops
    assert "alembic" not in tops
    assert "precomputed" not in tops


def test_wheel_installs_and_runs_in_fresh_venv(venv: Path, tmp_path: Path) -> None:
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HOME": str(tmp_path)}
    help_out = _run(venv / "bin" / "bridgex-chain", "--help", cwd=tmp_path, env=env)
    assert "build-table" in help_out and "Usage" in help_out
    code = "import bridgex_chain.cli, bridgex_chain; print(bridgex_chain.__file__)"
    where = _run(venv / "bin" / "python", "-c", code, cwd=tmp_path, env=env).strip()
    assert where.startswith(str(venv)), f"imported from {where}, not from the installed wheel"


def test_bundled_language_id_model_loads_from_the_installed_wheel(
    venv: Path, tmp_path: Path
) -> None:
    code = (
        "from bridgex_chain.detect import FastTextDetector\n"
        "d = FastTextDetector()\n"
        "print(d.model_path)\n"
        "print(d.detect('Ninataka kujua hali ya hewa ya kesho katika mji wa Mombasa.').lang)\n"
    )
    path, lang = _run(venv / "bin" / "python", "-c", code, cwd=tmp_path).split()
    assert path.startswith(str(venv)) and path.endswith("bridgex-lid-sib200.ftz")
    assert lang == "swh_Latn"
