"""MUSE lexicon files: read one, or load a directory of them into a :class:`ProbeSet`.

MUSE is CC-BY-NC and never bundled: users bring the files (``S-T.txt``, one ``source target``
pair a line). :class:`~bridgex_chain.probing.probe_set.ProbeSet` (and ``Pair``) live in
:mod:`bridgex_chain.probing.probe_set`, the probe prompts in :mod:`bridgex_chain.probing.prompts`.

Example:
    >>> load_muse_dir("~/muse", languages=["sw", "en"]).directions()  # doctest: +SKIP
    [('eng_Latn', 'swh_Latn'), ('swh_Latn', 'eng_Latn')]
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bridgex_chain.errors import ProbeDataError
from bridgex_chain.probing.probe_set import Pair, ProbeSet, probe_data_code

__all__ = ["MuseFile", "load_muse_dir", "read_muse_file"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MuseFile:
    """One parsed MUSE file: languages from its name, pairs in file order, malformed lines."""

    path: Path
    src: str
    trg: str
    pairs: tuple[Pair, ...]
    malformed: int


def _codes_from_name(path: Path) -> Pair:
    stem = path.name.split(".", 1)[0]
    parts = stem.split("-")
    if len(parts) != 2 or not all(parts):
        raise ProbeDataError(
            f"Cannot read the language pair from the file name {path.name!r}: name MUSE files "
            "'<source>-<target>.txt' with ISO or FLORES-200 codes, e.g. 'sw-en.txt' or "
            "'swh_Latn-eng_Latn.txt'."
        )
    return probe_data_code(parts[0]), probe_data_code(parts[1])


def read_muse_file(path: str | Path, *, min_pairs: int = 100) -> MuseFile:
    """Parse one MUSE file ``S-T.txt``: one ``source target`` pair a line, UTF-8.

    Fields are separated by tabs or spaces; blank lines are ignored; other lines without
    exactly two fields are counted as malformed, skipped and reported in a logged warning.

    Args:
        path: the file; its name gives the language pair (``sw-en.txt``, ``en-de.0-5000.txt``).
        min_pairs: fewest well-formed pairs accepted.

    Raises:
        ProbeDataError: unreadable name or file, not UTF-8, or fewer than ``min_pairs`` pairs.

    Example:
        >>> read_muse_file("dicts/sw-en.txt").pairs[:1]  # doctest: +SKIP
        (('maji', 'water'),)
    """
    file = Path(path)
    src, trg = _codes_from_name(file)
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ProbeDataError(
            f"{file} is not UTF-8 ({err.reason} at byte {err.start}). Re-encode it, e.g. "
            f"`iconv -f LATIN1 -t UTF-8 {file.name} > fixed.txt`."
        ) from err
    except OSError as err:
        raise ProbeDataError(f"Cannot read lexicon file {file}: {err}") from err
    pairs: list[Pair] = []
    malformed = 0
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2:
            malformed += 1
            continue
        pairs.append((fields[0], fields[1]))
    if malformed:
        logger.warning("%s: skipped %d malformed line(s) (need 'source target')", file, malformed)
    if len(pairs) < min_pairs:
        raise ProbeDataError(
            f"{file} has {len(pairs)} usable word pairs, fewer than the {min_pairs} required "
            f"({malformed} malformed lines skipped). Use a larger lexicon or lower min_pairs."
        )
    return MuseFile(file, src, trg, tuple(pairs), malformed)


def load_muse_dir(
    path: str | Path,
    *,
    min_pairs: int = 100,
    name: str | None = None,
    languages: Sequence[str] | None = None,
    drop_identical: bool = True,
) -> ProbeSet:
    """Load every ``S-T*.txt`` MUSE file of a directory (or one file) into a :class:`ProbeSet`.

    Files for the same direction (e.g. MUSE's ``en-de.0-5000.txt`` and ``en-de.5000-6500.txt``)
    are merged. Files whose name is not ``<source>-<target>...txt`` are skipped with a warning.

    Args:
        path: a directory of MUSE files, or one file.
        min_pairs: fewest well-formed pairs per file.
        name: probe-set name (default ``"muse:<directory name>"``).
        languages: keep only files whose two languages are both in this list.
        drop_identical: drop pairs whose target equals the source word.

    Raises:
        ProbeDataError: no usable file, or a file fails :func:`read_muse_file`.

    Example:
        >>> load_muse_dir("~/muse", languages=["sw", "en"]).directions()  # doctest: +SKIP
        [('eng_Latn', 'swh_Latn'), ('swh_Latn', 'eng_Latn')]
    """
    root = Path(path).expanduser()
    if root.is_file():
        files = [root]
    elif root.is_dir():
        files = sorted(p for p in root.iterdir() if p.is_file() and p.suffix == ".txt")
    else:
        raise ProbeDataError(f"Lexicon path {root} does not exist.")
    wanted = {probe_data_code(c) for c in languages} if languages is not None else None
    merged: dict[Pair, list[Pair]] = {}
    used: list[str] = []
    for file in files:
        if "-" not in file.name.split(".", 1)[0]:
            logger.warning("Skipping %s: not named '<source>-<target>.txt'", file)
            continue
        src, trg = _codes_from_name(file)
        if wanted is not None and not {src, trg} <= wanted:
            continue
        parsed = read_muse_file(file, min_pairs=min_pairs)
        merged.setdefault((src, trg), []).extend(parsed.pairs)
        used.append(file.name)
    if not merged:
        raise ProbeDataError(
            f"No MUSE lexicon files found in {root}"
            + (f" for languages {sorted(wanted)}" if wanted else "")
            + ". Expected files named like 'sw-en.txt' with one 'source target' pair a line."
        )
    return ProbeSet.from_pairs(
        name or f"muse:{root.name}",
        merged,
        source=f"MUSE-format files from {root}: {', '.join(used)}",
        drop_identical=drop_identical,
    )
