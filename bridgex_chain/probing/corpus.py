"""Monolingual text per language for the language-neuron step (METHOD.md, step 1).

Two sources:

* the probe set's own terms (the default): :meth:`ProbeSet.corpus` joins a language's terms
  16 at a time;
* a **corpus directory** the user brings, one language per file or folder, named by any code
  :func:`bridgex_chain.languages.normalize` reads:

  - ``<dir>/<code>.txt`` — one text per non-blank line (``sw.txt``, ``swh_Latn.txt``);
  - ``<dir>/<code>/*.txt`` — the same, several files;
  - ``<dir>/<code>/*.tsv`` — a tab-separated file with a header; the ``text`` column is read
    (the last column when there is none). The SIB-200 layout
    (``sib200/swh_Latn/{train,dev,test}.tsv``) works as it is.

Texts are read lazily, so a large corpus costs no memory; :func:`count_language_neurons`
stops reading a language once it reached its token budget.

Example:
    >>> from bridgex_chain.probing.probe_set import ProbeSet
    >>> ps = ProbeSet.from_pairs("x", {("sw", "en"): [("maji", "water")]})
    >>> corpus = Corpus.from_probe_set(ps)
    >>> list(corpus.texts("swh_Latn")), corpus.identity()["source"]
    (['maji'], 'probe-set terms')
"""

from __future__ import annotations

import csv
import hashlib
import logging
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridgex_chain.errors import ProbeDataError, UnknownLanguage
from bridgex_chain.languages import normalize
from bridgex_chain.models.hub_cache import file_sha256
from bridgex_chain.probing.probe_set import ProbeSet

__all__ = ["Corpus", "corpus_files"]

logger = logging.getLogger(__name__)

_SUFFIXES = (".txt", ".tsv")
_TERMS_PER_TEXT = 16


def _code(name: str) -> str | None:
    try:
        return normalize(name)
    except UnknownLanguage:
        return None


def corpus_files(directory: str | Path) -> dict[str, tuple[Path, ...]]:
    """Map every language of a corpus directory to its text files (see the module docstring).

    Entries whose name is not a language code are skipped (logged at debug level).

    Raises:
        ProbeDataError: The directory does not exist or holds no usable file.

    Example:
        >>> corpus_files("../shared/data/sib200")["swh_Latn"][0].name  # doctest: +SKIP
        'dev.tsv'
    """
    root = Path(directory).expanduser()
    if not root.is_dir():
        raise ProbeDataError(f"Corpus directory {root} does not exist.")
    found: dict[str, list[Path]] = {}
    for item in sorted(root.iterdir()):
        if item.is_file() and item.suffix == ".txt":
            code, files = _code(item.stem), [item]
        elif item.is_dir():
            code = _code(item.name)
            files = sorted(p for p in item.iterdir() if p.is_file() and p.suffix in _SUFFIXES)
        else:
            continue
        if code is None or not files:
            logger.debug("Corpus: skipping %s (not a language code, or no text file)", item)
            continue
        found.setdefault(code, []).extend(files)
    if not found:
        raise ProbeDataError(
            f"No corpus files in {root}: expected '<code>.txt' files or '<code>/' folders of "
            ".txt/.tsv files, named by language code (e.g. 'sw.txt' or 'swh_Latn/dev.tsv')."
        )
    return {code: tuple(files) for code, files in sorted(found.items())}


def _not_utf8(path: Path, err: UnicodeDecodeError) -> ProbeDataError:
    return ProbeDataError(
        f"Corpus file {path} is not UTF-8 ({err.reason} at byte {err.start}). Re-encode it, "
        f"e.g. `iconv -f LATIN1 -t UTF-8 {path} > {path.name}.utf8` (use the file's real "
        "encoding), then replace the file."
    )


def _read_lines(path: Path) -> Iterator[str]:
    try:
        with path.open(encoding="utf-8-sig") as handle:
            for line in handle:
                text = line.strip()
                if text:
                    yield text
    except UnicodeDecodeError as err:
        raise _not_utf8(path, err) from err


def _read_tsv(path: Path) -> Iterator[str]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            header = next(reader, None)
            if header is None:
                return
            column = header.index("text") if "text" in header else len(header) - 1
            for row in reader:
                if len(row) > column and row[column].strip():
                    yield row[column].strip()
    except UnicodeDecodeError as err:
        raise _not_utf8(path, err) from err


@dataclass(frozen=True)
class Corpus:
    """Where the texts of each language come from.

    Attributes:
        probe_set: The probe set whose terms are the default corpus.
        directory: The user's corpus directory, or None for the probe-set terms.
        files: ``{language: files}`` of the directory.
    """

    probe_set: ProbeSet
    directory: Path | None = None
    files: Mapping[str, tuple[Path, ...]] = field(default_factory=dict)

    @classmethod
    def from_probe_set(cls, probe_set: ProbeSet) -> Corpus:
        """The default corpus: the probe set's own terms."""
        return cls(probe_set)

    @classmethod
    def from_directory(
        cls, directory: str | Path, probe_set: ProbeSet, languages: Iterable[str]
    ) -> Corpus:
        """A corpus directory that must cover every language in ``languages``.

        Raises:
            ProbeDataError: The directory misses some of the languages.
        """
        root = Path(directory).expanduser().resolve()
        files = corpus_files(root)
        missing = sorted(set(languages) - set(files))
        if missing:
            raise ProbeDataError(
                f"Corpus directory {root} has no text for {', '.join(missing)} (it has "
                f"{', '.join(files)}). Add '<code>.txt' files for them, or build without "
                "--corpus to use the probe set's own terms."
            )
        return cls(probe_set, root, {lang: files[lang] for lang in sorted(set(languages))})

    def texts(self, lang: str) -> Iterator[str]:
        """Yield the texts of one language, lazily.

        Raises:
            ProbeDataError: No text for the language.
        """
        if self.directory is None:
            yield from self.probe_set.corpus(lang, terms_per_text=_TERMS_PER_TEXT)
            return
        if lang not in self.files:
            raise ProbeDataError(f"Corpus directory {self.directory} has no text for {lang}.")
        for path in self.files[lang]:
            yield from _read_tsv(path) if path.suffix == ".tsv" else _read_lines(path)

    def identity(self) -> dict[str, Any]:
        """JSON-ready description that changes whenever the texts change (for the run key)."""
        if self.directory is None:
            return {"source": "probe-set terms", "terms_per_text": _TERMS_PER_TEXT}
        digest = hashlib.sha256()
        for lang, paths in sorted(self.files.items()):
            for path in paths:
                digest.update(f"{lang}/{path.name}:{file_sha256(path)}\n".encode())
        return {"source": "directory", "name": self.directory.name, "sha256": digest.hexdigest()}
