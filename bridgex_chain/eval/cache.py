"""Append-only JSONL files that make an evaluation run resumable.

* :class:`GenerationCache` keeps every greedy generation, keyed by a hash of (model key, prompt,
  stop strings, token budget). Tasks and conditions that send the same prompt share it.
* :class:`UnitFile` keeps the per-item results of one (task, languages, rendering, bridge)
  unit, plus a header with the unit's fingerprint (model, prompt hash, parameters): a header
  that does not match the current run means the file is stale and is set aside.
* :func:`export_units` copies a cache's unit files without the model's renderings (what is left
  is per-item statistics: ids, choices, right or wrong, the route), so a long run's progress can
  be committed; :func:`import_units` merges such a copy back into a cache to resume from it.

A line is written and flushed as soon as it is known, so a killed run loses at most the line
being written; a torn last line is ignored on reading.

Example:
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> unit = UnitFile(root / "u.jsonl", {"model": "m"})
    >>> unit.append({"id": "1", "hit": True})
    >>> UnitFile(root / "u.jsonl", {"model": "m"}).records["1"]["hit"]
    True
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["GenerationCache", "UnitFile", "digest", "export_units", "import_units", "read_jsonl"]

logger = logging.getLogger(__name__)


def digest(*parts: Any) -> str:
    """Return a short sha256 of the JSON encoding of ``parts``.

    Example:
        >>> digest("a", 1) == digest("a", 1) != digest("a", 2)
        True
    """
    payload = json.dumps(parts, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Return the JSON objects of a JSONL file (none when it is missing; torn lines skipped).

    Example:
        >>> read_jsonl(Path("/nonexistent.jsonl"))
        []
    """
    return _read_jsonl(path)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            logger.warning("Ignoring an unreadable line %d of %s (interrupted write)", number, path)
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def _append(path: Path, row: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(row, ensure_ascii=False, sort_keys=True)
    torn = False  # a killed write left a last line without its newline: start a fresh line
    if path.exists() and path.stat().st_size > 0:
        with path.open("rb") as tail:
            tail.seek(-1, 2)
            torn = tail.read(1) != b"\n"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(("\n" if torn else "") + text + "\n")
        handle.flush()


Generate = Callable[[Sequence[str]], list[str]]


class GenerationCache:
    r"""Greedy generations remembered across runs.

    Args:
        path: The JSONL file (created on first write).

    Example:
        >>> import tempfile, pathlib
        >>> cache = GenerationCache(pathlib.Path(tempfile.mkdtemp()) / "g.jsonl")
        >>> cache.get_or_generate("m", ["p"], ("\n",), 8, lambda ps: [x + "!" for x in ps])
        ['p!']
        >>> cache.get_or_generate("m", ["p"], ("\n",), 8, lambda ps: ["never called"])
        ['p!']
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._outputs = {row["key"]: str(row["output"]) for row in _read_jsonl(path)}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._outputs)

    def get_or_generate(
        self,
        model_key: str,
        prompts: Sequence[str],
        stop: Sequence[str],
        max_new_tokens: int,
        generate: Generate,
    ) -> list[str]:
        """Return the generation of each prompt, calling ``generate`` only for unseen ones."""
        keys = [digest(model_key, p, list(stop), max_new_tokens) for p in prompts]
        missing = sorted(
            {k: p for k, p in zip(keys, prompts, strict=True) if k not in self._outputs}.items()
        )
        self.hits += len(prompts) - len(missing)
        self.misses += len(missing)
        if missing:
            outputs = generate([p for _, p in missing])
            for (key, _), output in zip(missing, outputs, strict=True):
                self._outputs[key] = output
                _append(self.path, {"key": key, "output": output})
        return [self._outputs[k] for k in keys]


class UnitFile:
    """Per-item results of one evaluation unit, with a fingerprint header.

    Args:
        path: The JSONL file.
        fingerprint: What the results depend on. A file whose header differs is renamed to
            ``<name>.stale`` and the unit starts afresh.

    Attributes:
        records: Item results by item id, in the order they were written.
        meta: Unit-level values (e.g. the calibration scores), last write wins.
    """

    def __init__(self, path: Path, fingerprint: Mapping[str, Any]) -> None:
        self.path = path
        # compared as stored: JSON turns tuples into lists
        self.fingerprint = json.loads(json.dumps(dict(fingerprint), sort_keys=True))
        self.records: dict[str, dict[str, Any]] = {}
        self.meta: dict[str, Any] = {}
        rows = _read_jsonl(path)
        if rows and rows[0].get("fingerprint") != self.fingerprint:
            stale = path.with_name(path.name + ".stale")
            logger.info("Results in %s are from other settings; moved to %s", path, stale)
            path.replace(stale)
            rows = []
        for row in rows[1:]:
            if "meta" in row:
                self.meta.update(row["meta"])
            elif "id" in row:
                self.records[str(row["id"])] = row
        if not rows:
            _append(path, {"fingerprint": self.fingerprint})

    def append(self, record: Mapping[str, Any]) -> None:
        """Store one item's result (``record["id"]`` is its key)."""
        row = dict(record)
        self.records[str(row["id"])] = row
        _append(self.path, row)

    def set_meta(self, **values: Any) -> None:
        """Store unit-level values."""
        self.meta.update(values)
        _append(self.path, {"meta": values})


UNITS = "units"
"""The folder of unit files under a cache directory."""


_Unit = tuple[dict[str, Any] | None, dict[str, dict[str, Any]], dict[str, Any]]


def _unit_rows(path: Path) -> _Unit:
    """A unit file's fingerprint, records by id and merged meta (None: no usable header)."""
    rows = _read_jsonl(path)
    if not rows or "fingerprint" not in rows[0]:
        return None, {}, {}
    records: dict[str, dict[str, Any]] = {}
    meta: dict[str, Any] = {}
    for row in rows[1:]:
        if "meta" in row:
            meta.update(row["meta"])
        elif "id" in row:
            records[str(row["id"])] = row
    return rows[0]["fingerprint"], records, meta


def _write_unit(
    path: Path,
    fingerprint: Mapping[str, Any],
    records: Mapping[str, Mapping[str, Any]],
    meta: Mapping[str, Any],
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{"fingerprint": fingerprint}, *records.values()]
    if meta:
        rows.append({"meta": dict(meta)})
    text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)  # a reader never sees half a file


def export_units(cache_dir: Path, dest: Path, *, drop: Sequence[str] = ("rendering",)) -> int:
    """Copy every unit file of a cache to ``dest``, each record without the keys in ``drop``.

    Args:
        cache_dir: An evaluation cache (its unit files are under ``cache_dir/units``).
        dest: Where the copies go, at the same relative paths.
        drop: Record keys left out (by default the model's rendering of the item's text).

    Returns:
        The number of files written.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> UnitFile(root / "cache" / UNITS / "a.jsonl", {"arm": "x"}).append(
        ...     {"id": "1", "correct": True, "rendering": "model text"})
        >>> export_units(root / "cache", root / "kept")
        1
        >>> UnitFile(root / "kept" / "a.jsonl", {"arm": "x"}).records["1"]
        {'correct': True, 'id': '1'}
    """
    written = 0
    source = cache_dir / UNITS
    for path in sorted(source.rglob("*.jsonl")):
        fingerprint, records, meta = _unit_rows(path)
        if fingerprint is None:
            continue
        kept = {i: {k: v for k, v in r.items() if k not in drop} for i, r in records.items()}
        _write_unit(dest / path.relative_to(source), fingerprint, kept, meta)
        written += 1
    return written


def import_units(src: Path, cache_dir: Path) -> int:
    """Merge exported unit files (:func:`export_units`) into a cache so a run resumes from them.

    A file the cache lacks is copied. Where the cache has the same unit (same fingerprint), the
    two are merged: the cache's records win, the export fills the items the cache lacks, and the
    meta of the file with more records is kept. A unit whose fingerprint differs is left alone
    (the run decides which settings are current).

    Args:
        src: A folder written by :func:`export_units`.
        cache_dir: The evaluation cache to seed.

    Returns:
        The number of unit files that gained records.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> UnitFile(root / "kept" / "a.jsonl", {"arm": "x"}).append({"id": "1", "correct": True})
        >>> import_units(root / "kept", root / "cache"), import_units(root / "kept", root / "cache")
        (1, 0)
        >>> sorted(UnitFile(root / "cache" / UNITS / "a.jsonl", {"arm": "x"}).records)
        ['1']
    """
    gained = 0
    for path in sorted(src.rglob("*.jsonl")):
        fingerprint, records, meta = _unit_rows(path)
        if fingerprint is None:
            continue
        target = cache_dir / UNITS / path.relative_to(src)
        have_fingerprint, have, have_meta = _unit_rows(target)
        if have_fingerprint is None:
            _write_unit(target, fingerprint, records, meta)
            gained += 1 if records else 0
            continue
        if have_fingerprint != fingerprint or not set(records) - set(have):
            continue
        merged = {**records, **have}
        _write_unit(target, fingerprint, merged, meta if len(records) > len(have) else have_meta)
        gained += 1
    return gained
