"""The JSON format of bridge tables: exports, and the tables shipped in ``_precomputed``.

A file holds one or more complete probe runs with their model profile, probe set, parameters,
provenance and every score (per layer and aggregate); precomputed/README.md documents it. Files
are validated with pydantic before anything is written to a database: a wrong file raises
:class:`~bridgex_chain.errors.SchemaError` naming the offending field path.

Format versions: 2 (written) lets an aggregate carry its bootstrap figures (``low``, ``high``,
``win_rate``, ``resamples``: all four or none) and a run carry its ``render_checks`` and
``competence`` (:func:`read_table_evidence`); 1 (the same without them) is still read.

Example:
    >>> from bridgex_chain.store.precomputed import FORMAT_VERSION, READ_VERSIONS, shipped_tables
    >>> FORMAT_VERSION, READ_VERSIONS
    (2, (1, 2))
    >>> isinstance(shipped_tables(), list)
    True
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    ValidationError,
    model_validator,
)

from bridgex_chain.errors import InvalidField, InvalidOption, SchemaError
from bridgex_chain.languages import normalize
from bridgex_chain.store.locate import find_package_data_dir
from bridgex_chain.store.records import (
    CompetenceRow,
    ModelProfile,
    RenderCheckRow,
    RunRecord,
    ScoreRow,
    parse_time,
)
from bridgex_chain.store.schema import STATUS_COMPLETE
from bridgex_chain.store.text import printable

__all__ = [
    "FORMAT_ID",
    "FORMAT_VERSION",
    "READ_VERSIONS",
    "Evidence",
    "ShippedTable",
    "TableFile",
    "read_table_evidence",
    "read_table_file",
    "shipped_dir",
    "shipped_tables",
    "write_table_file",
]

FORMAT_ID = "bridgex-chain/bridge-table"
#: The version this package writes: 2 added the bootstrap figures of aggregates.
FORMAT_VERSION = 2
#: The versions this package reads.
READ_VERSIONS = (1, 2)

StoredRun = tuple[RunRecord, list[ScoreRow]]
#: A run's render checks and language competence (format version 2; empty when absent).
Evidence = tuple[list[RenderCheckRow], list[CompetenceRow]]


#: A language code, normalised; an unknown one fails validation (``UnknownLanguage`` is a
#: ``ValueError``, which pydantic reports with the field path).
Lang = Annotated[str, AfterValidator(normalize)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class ProfileJSON(_Model):
    """The probed model."""

    key: str = Field(min_length=1)
    revision: str
    architecture: str
    num_layers: PositiveInt
    intermediate_size: PositiveInt


class ProbeSetJSON(_Model):
    """The probe set (bilingual lexicon) and its content hash."""

    name: str
    hash: str


class ProvenanceJSON(_Model):
    """Who made the run, and when."""

    tool_version: str
    started_at: AwareDatetime
    finished_at: AwareDatetime


def _share(value: float) -> float:
    """A win rate: a share of resamples, in [0, 1]."""
    if not 0.0 <= value <= 1.0:
        raise InvalidField(
            f"win_rate {value!r} is not a share: a win rate is the share of resamples in which "
            "the bridge ranked first, between 0 and 1 (0.87, not 87)"
        )
    return value


#: The bootstrap figures of an aggregate (format version 2), all four or none.
_CONFIDENCE_FIELDS = ("low", "high", "win_rate", "resamples")


class BridgeJSON(_Model):
    """One candidate bridge of an entry: aggregate score, its bootstrap figures, per-layer scores.

    ``low`` / ``high`` are the 2.5 % and 97.5 % percentiles of the aggregate over bootstrap
    resamples of the probe prompts (``low <= high``; the interval may exclude ``score``),
    ``win_rate`` the share of resamples in which the bridge ranked first and ``resamples`` how
    many there were. They come with an aggregate ``score`` only, all four or none.

    Example:
        >>> BridgeJSON.model_validate({"bridge": "fr", "score": 4.1e-08, "layers_scored": 6,
        ...     "low": 3.2e-08, "high": 5.0e-08, "win_rate": 0.87, "resamples": 200}).win_rate
        0.87
    """

    bridge: Lang
    score: float | None = None
    layers_scored: NonNegativeInt | None = None
    low: float | None = None
    high: float | None = None
    win_rate: Annotated[float, AfterValidator(_share)] | None = None
    resamples: PositiveInt | None = None
    per_layer: dict[NonNegativeInt, float] = Field(default_factory=dict)

    @property
    def has_confidence(self) -> bool:
        """True when any bootstrap figure is given."""
        return any(getattr(self, name) is not None for name in _CONFIDENCE_FIELDS)

    @model_validator(mode="after")
    def _consistent(self) -> BridgeJSON:
        if self.score is None and not self.per_layer:
            raise InvalidField(
                f"bridge {self.bridge} has no scores: give it an aggregate 'score' (with "
                "'layers_scored') or 'per_layer' scores, or remove it"
            )
        if (self.score is None) != (self.layers_scored is None):
            raise InvalidField(
                f"bridge {self.bridge}: 'score' and 'layers_scored' come together; give both "
                "or neither"
            )
        if not self.has_confidence:
            return self
        if self.score is None:
            raise InvalidField(
                f"bridge {self.bridge}: bootstrap figures (low, high, win_rate, resamples) belong "
                "to an aggregate; give its 'score' and 'layers_scored' too, or remove them"
            )
        missing = [name for name in _CONFIDENCE_FIELDS if getattr(self, name) is None]
        if missing:
            raise InvalidField(
                f"bridge {self.bridge}: the bootstrap figures low, high, win_rate and resamples "
                f"come together; {', '.join(repr(m) for m in missing)} missing (give all four "
                "or none)"
            )
        _check_order(
            f"bridge {self.bridge}",
            self.low,
            self.high,
            "give the 2.5 % percentile as 'low' and the 97.5 % one as 'high'",
        )
        return self


class EntryJSON(_Model):
    """The scores of one (src, trg) entry (``trg == src`` for the single-language entry)."""

    src: Lang
    trg: Lang
    bridges: list[BridgeJSON] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_bridges(self) -> EntryJSON:
        names = [b.bridge for b in self.bridges]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise InvalidField(
                f"bridges repeat in entry {self.src}->{self.trg}: {', '.join(repeated)}; list "
                "each bridge once"
            )
        return self


#: Relative tolerance between an aggregate and the mean of its per-layer scores.
AGGREGATE_REL_TOL = 1e-6


def _window(params: dict[str, Any]) -> tuple[int, int] | None:
    window = params.get("layer_window")
    if (
        isinstance(window, list | tuple)
        and len(window) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in window)
    ):
        return int(window[0]), int(window[1])
    return None


def _inside(bridge: BridgeJSON, window: tuple[int, int]) -> dict[int, float]:
    return {ell: v for ell, v in bridge.per_layer.items() if window[0] <= ell <= window[1]}


def _expected(
    bridge: BridgeJSON, window: tuple[int, int], rule: str, common: Sequence[int]
) -> tuple[float, int, str] | None:
    """The aggregate and layer count ``rule`` gives the bridge (see probing's aggregation)."""
    inside = _inside(bridge, window)
    if not inside:
        return None
    if rule == "shared" and common:
        return math.fsum(inside[ell] for ell in common) / len(common), len(common), "shared"
    if rule in ("shared", "zero"):  # shared falls back to zero when nothing is common
        width = window[1] - window[0] + 1
        return math.fsum(inside.values()) / width, width, "zero"
    return math.fsum(inside.values()) / len(inside), len(inside), "own"


def _check_aggregate(
    bridge: BridgeJSON,
    window: tuple[int, int] | None,
    where: str,
    rule: str = "own",
    common: Sequence[int] = (),
) -> str | None:
    """Why the bridge's aggregate disagrees with its per-layer scores under ``rule``, or None.

    ``common`` holds the window layers every scored bridge of the entry has (rule ``shared``).
    """
    if bridge.score is None or not bridge.per_layer:
        return None
    shown = f"{where}, bridge {bridge.bridge}: aggregate score {bridge.score!r}"
    if window is None:  # window unknown: the mean of any layers lies within their range
        low, high = min(bridge.per_layer.values()), max(bridge.per_layer.values())
        low, high = (min(low, 0.0), max(high, 0.0)) if rule != "own" else (low, high)
        slack = AGGREGATE_REL_TOL * max(abs(low), abs(high))
        if not low - slack <= bridge.score <= high + slack:
            return (
                f"{shown} lies outside the range of its per-layer scores [{low!r}, {high!r}], "
                "so it is not their mean"
            )
        if (
            rule == "own"
            and bridge.layers_scored is not None
            and bridge.layers_scored > len(bridge.per_layer)
        ):
            return (
                f"{where}, bridge {bridge.bridge}: layers_scored {bridge.layers_scored} is more "
                f"than its {len(bridge.per_layer)} per-layer scores"
            )
        return None
    found = _expected(bridge, window, rule, common)
    if found is None:
        return f"{shown}, but none of its per-layer scores is in the layer window {list(window)}"
    mean, count, applied = found
    if not math.isclose(mean, bridge.score, rel_tol=AGGREGATE_REL_TOL, abs_tol=1e-300) or (
        bridge.layers_scored != count
    ):
        return (
            f"{shown} over {bridge.layers_scored} layers is not what aggregation {applied!r} "
            f"gives from its per-layer scores in the layer window {list(window)} ({mean!r} over "
            f"{count} layers)"
        )
    return None


def _common_layers(bridges: Sequence[BridgeJSON], window: tuple[int, int]) -> list[int]:
    """The window layers every bridge with a window score has a score on."""
    scored = [set(_inside(b, window)) for b in bridges if b.per_layer and _inside(b, window)]
    if not scored:
        return []
    return sorted(set.intersection(*scored))


def _check_order(where: str, low: float | None, high: float | None, advice: str) -> None:
    """Raise :class:`InvalidField` unless an interval's ends (when given) are in order."""
    if low is not None and high is not None and low > high:
        raise InvalidField(f"{where}: interval low {low!r} is above high {high!r}; {advice}")


class RenderCheckJSON(_Model):
    """The render gain of one (src, bridge) pair, with its 95 % interval (both ends or neither).

    Example:
        >>> RenderCheckJSON.model_validate({"src": "sw", "bridge": "en", "pairs": 8,
        ...     "gain": 0.4, "low": 0.3, "high": 0.5}).src
        'swh_Latn'
    """

    src: Lang
    bridge: Lang
    pairs: PositiveInt
    gain: float
    low: float | None = None
    high: float | None = None

    @model_validator(mode="after")
    def _interval(self) -> RenderCheckJSON:
        where = f"render check {self.src} -> {self.bridge}"
        if (self.low is None) != (self.high is None):
            raise InvalidField(f"{where}: 'low' and 'high' come together; give both or neither")
        _check_order(where, self.low, self.high, "give the lower end as 'low'")
        return self


class CompetenceJSON(_Model):
    """The model's mean log-probability per token of ``texts`` texts in ``lang``.

    Example:
        >>> CompetenceJSON.model_validate({"lang": "sw", "texts": 8,
        ...     "logprob_per_token": -2.5}).lang
        'swh_Latn'
    """

    lang: Lang
    texts: PositiveInt
    logprob_per_token: float


class RunJSON(_Model):
    """One complete probe run.

    Aggregates are checked against the per-layer scores given with them: the mean over the
    run's ``params.layer_window`` ``[first, last]`` (or, without one, within their range).
    """

    model: ProfileJSON
    probe_set: ProbeSetJSON
    languages: list[Lang]
    bridges: list[Lang]
    params: dict[str, Any]
    provenance: ProvenanceJSON
    entries: list[EntryJSON]
    render_checks: list[RenderCheckJSON] = Field(default_factory=list)
    competence: list[CompetenceJSON] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_evidence(self) -> RunJSON:
        checks = [(c.src, c.bridge) for c in self.render_checks]
        repeated = sorted({f"{s}->{b}" for s, b in checks if checks.count((s, b)) > 1})
        langs = [c.lang for c in self.competence]
        repeated += sorted({f"competence of {x}" for x in langs if langs.count(x) > 1})
        if repeated:
            raise InvalidField(
                f"render checks or competence repeat: {', '.join(repeated)}; give each once"
            )
        return self

    @model_validator(mode="after")
    def _unique_entries(self) -> RunJSON:
        pairs = [(e.src, e.trg) for e in self.entries]
        repeated = sorted({f"{s}->{t}" for s, t in pairs if pairs.count((s, t)) > 1})
        if repeated:
            raise InvalidField(
                f"(src, trg) entries repeat: {', '.join(repeated)}; give each (src, trg) one "
                "entry holding all its bridges"
            )
        window = _window(self.params)
        rule = str(self.params.get("aggregation", "own"))
        for number, entry in enumerate(self.entries):
            common = _common_layers(entry.bridges, window) if window is not None else []
            for index, bridge in enumerate(entry.bridges):
                where = f"entries.{number}.bridges.{index} ({entry.src}->{entry.trg})"
                problem = _check_aggregate(bridge, window, where, rule, common)
                if problem is not None:
                    raise InvalidField(
                        f"{problem}. Give the mean of the per-layer scores in the window "
                        "(and their count as layers_scored), or re-export the table from the "
                        "database that built it"
                    )
        return self


class TableFile(_Model):
    """A bridge-table file (format version 2, or 1: the same without bootstrap figures)."""

    format: Literal["bridgex-chain/bridge-table"]
    format_version: Literal[1, 2]
    tool_version: str
    exported_at: AwareDatetime
    runs: list[RunJSON]

    @model_validator(mode="after")
    def _figures_need_version_2(self) -> TableFile:
        if self.format_version >= 2:
            return self
        for r, run in enumerate(self.runs):
            if run.render_checks or run.competence:
                raise InvalidField(
                    f"runs.{r} has render_checks or competence, which format version 1 does "
                    'not have; set "format_version": 2, or remove them'
                )
            for e, entry in enumerate(run.entries):
                for b, bridge in enumerate(entry.bridges):
                    if bridge.has_confidence:
                        raise InvalidField(
                            f"runs.{r}.entries.{e}.bridges.{b} ({entry.src}->{entry.trg}, "
                            f"bridge {bridge.bridge}) has bootstrap figures (low, high, "
                            "win_rate, resamples), which format version 1 does not have; set "
                            '"format_version": 2, or remove them'
                        )
        return self


def _run_to_records(run: RunJSON) -> StoredRun:
    record = RunRecord(
        profile=ModelProfile(
            model=run.model.key,
            revision=run.model.revision,
            architecture=run.model.architecture,
            num_layers=run.model.num_layers,
            intermediate_size=run.model.intermediate_size,
        ),
        probe_set=run.probe_set.name,
        probe_set_hash=run.probe_set.hash,
        languages=list(run.languages),
        bridges=list(run.bridges),
        params=dict(run.params),
        status=STATUS_COMPLETE,
        tool_version=run.provenance.tool_version,
        started_at=parse_time(run.provenance.started_at).isoformat(),
        finished_at=parse_time(run.provenance.finished_at).isoformat(),
    )
    rows: list[ScoreRow] = []
    for entry in run.entries:
        for b in entry.bridges:
            rows.extend(
                ScoreRow(entry.src, entry.trg, b.bridge, layer, score)
                for layer, score in sorted(b.per_layer.items())
            )
            if b.score is not None:
                rows.append(
                    ScoreRow(
                        entry.src,
                        entry.trg,
                        b.bridge,
                        None,
                        b.score,
                        b.layers_scored,
                        low=b.low,
                        high=b.high,
                        win_rate=b.win_rate,
                        resamples=b.resamples,
                    )
                )
    return record, rows


def _run_evidence(run: RunJSON) -> Evidence:
    return (
        [
            RenderCheckRow(c.src, c.bridge, c.pairs, c.gain, c.low, c.high)
            for c in run.render_checks
        ],
        [CompetenceRow(c.lang, c.texts, c.logprob_per_token) for c in run.competence],
    )


def _evidence_json(evidence: Evidence) -> dict[str, Any]:
    checks, competence = evidence
    out: dict[str, Any] = {}
    if checks:
        out["render_checks"] = [
            {"src": c.src, "bridge": c.bridge, "pairs": c.pairs, "gain": c.gain}
            | ({} if c.low is None else {"low": c.low, "high": c.high})
            for c in checks
        ]
    if competence:
        out["competence"] = [
            {"lang": c.lang, "texts": c.texts, "logprob_per_token": c.logprob_per_token}
            for c in competence
        ]
    return out


def _run_to_json(record: RunRecord, rows: Sequence[ScoreRow]) -> dict[str, Any]:
    if not record.finished_at:
        raise SchemaError(f"Run {record.run_id} has no finish time; only complete runs export.")
    entries: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for row in rows:
        bridge = entries.setdefault((row.src, row.trg), {}).setdefault(
            row.bridge, {"bridge": row.bridge, "per_layer": {}}
        )
        if row.layer is None:
            bridge["score"] = row.score
            bridge["layers_scored"] = row.layers_scored
            if row.has_confidence:
                bridge.update(
                    low=row.low, high=row.high, win_rate=row.win_rate, resamples=row.resamples
                )
        else:
            bridge["per_layer"][str(row.layer)] = row.score
    return {
        "model": {
            "key": record.profile.model,
            "revision": record.profile.revision,
            "architecture": record.profile.architecture,
            "num_layers": record.profile.num_layers,
            "intermediate_size": record.profile.intermediate_size,
        },
        "probe_set": {"name": record.probe_set, "hash": record.probe_set_hash},
        "languages": list(record.languages),
        "bridges": list(record.bridges),
        "params": record.params,
        "provenance": {
            "tool_version": record.tool_version,
            "started_at": record.started_at,
            "finished_at": record.finished_at,
        },
        "entries": [
            {"src": src, "trg": trg, "bridges": [bridges[b] for b in sorted(bridges)]}
            for (src, trg), bridges in sorted(entries.items())
        ],
    }


def _format_errors(err: ValidationError, limit: int = 10) -> str:
    lines = []
    for detail in err.errors()[:limit]:
        where = ".".join(str(part) for part in detail["loc"]) or "(top level)"
        lines.append(f"  {where}: {detail['msg']}")
    more = err.error_count() - limit
    if more > 0:
        lines.append(f"  ... and {more} more")
    return "\n".join(lines)


def parse_table(data: Any, source: str) -> TableFile:
    """Validate decoded JSON as a bridge-table file.

    Raises:
        SchemaError: Not a bridge table, a newer format version, or invalid fields (with paths).
    """
    if not isinstance(data, dict) or data.get("format") != FORMAT_ID:
        raise SchemaError(
            f"{source} is not a bridgex-chain bridge table (no format {FORMAT_ID!r})."
        )
    version = data.get("format_version")
    if isinstance(version, int) and version > FORMAT_VERSION:
        readable = ", ".join(str(v) for v in READ_VERSIONS)
        raise SchemaError(
            f"{source} uses bridge-table format version {version}; this bridgex-chain reads "
            f"versions {readable}. Upgrade with `pip install -U bridgex-chain`."
        )
    try:
        return TableFile.model_validate(data)
    except ValidationError as err:
        raise SchemaError(f"{source} is not a valid bridge table:\n{_format_errors(err)}") from None


def _read_table(path: str | os.PathLike[str]) -> TableFile:
    source = printable(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError) as err:
        reason = printable(str(err))
        raise SchemaError(f"Cannot read bridge table {source}: {reason}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise SchemaError(f"{source} is not JSON: {err}") from None
    return parse_table(data, source)


def read_table_evidence(path: str | os.PathLike[str]) -> list[tuple[StoredRun, Evidence]]:
    """Like :func:`read_table_file`, with each run's render checks and competence.

    Raises:
        SchemaError: The file cannot be read, is not JSON, or fails validation.

    Example:
        >>> read_table_evidence("/nonexistent.json")
        Traceback (most recent call last):
        ...
        bridgex_chain.errors.SchemaError: Cannot read bridge table /nonexistent.json: ...
    """
    return [(_run_to_records(run), _run_evidence(run)) for run in _read_table(path).runs]


def read_table_file(path: str | os.PathLike[str]) -> list[StoredRun]:
    """Read and validate a bridge-table JSON file into run records and score rows.

    Raises:
        SchemaError: The file cannot be read, is not JSON, or fails validation.

    Example:
        >>> read_table_file("/nonexistent.json")
        Traceback (most recent call last):
        ...
        bridgex_chain.errors.SchemaError: Cannot read bridge table /nonexistent.json: ...
    """
    return [_run_to_records(run) for run in _read_table(path).runs]


def _target(path: str | os.PathLike[str], *, parents: bool) -> Path:
    """The file to write, checked: not a directory, in a directory that exists (or is made)."""
    target, shown = Path(path), printable(path)
    try:
        is_dir, parent_is_dir = target.is_dir(), target.parent.is_dir()
        parent_exists = parent_is_dir or target.parent.exists()
    except (OSError, ValueError) as err:
        raise InvalidOption(
            f"Cannot write {shown}: {printable(str(err))}. Choose a writable location."
        ) from None
    if is_dir:
        raise InvalidOption(
            f"{shown} is a directory; give the file to write, e.g. {shown}/bridges.json."
        )
    if parent_exists and not parent_is_dir:
        raise InvalidOption(f"Cannot write {shown}: {printable(target.parent)} is not a directory.")
    if not parent_exists:
        if not parents:
            raise InvalidOption(
                f"Cannot write {shown}: the directory {printable(target.parent)} does not exist. "
                "Create it first, or pass --parents (parents=True) to create it."
            )
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except (OSError, ValueError) as err:
            raise InvalidOption(
                f"Cannot create the directory of {shown}: {printable(str(err))}. Choose a "
                "writable location."
            ) from None
    return target


def write_table_file(
    path: str | os.PathLike[str],
    runs: Sequence[StoredRun],
    *,
    tool_version: str,
    parents: bool = True,
    evidence: Sequence[Evidence] | None = None,
) -> None:
    """Write complete runs as a bridge-table JSON file (atomically: temp file, then rename).

    The document is validated against :class:`TableFile` before it is written.

    Args:
        path: The file to write.
        runs: The runs and their score rows.
        tool_version: bridgex-chain version recorded in the file.
        parents: Create a missing parent directory (False: refuse with InvalidOption).
        evidence: Each run's render checks and competence, in the order of ``runs`` (omitted
            from the file when empty).

    Raises:
        InvalidOption: ``path`` is a directory, its directory is missing (without ``parents``)
            or it cannot be written; the message says why.
    """
    from bridgex_chain.store.runs import utc_now

    document = {
        "format": FORMAT_ID,
        "format_version": FORMAT_VERSION,
        "tool_version": tool_version,
        "exported_at": utc_now().isoformat(),
        "runs": [
            _run_to_json(record, rows) | _evidence_json(evidence[i] if evidence else ([], []))
            for i, (record, rows) in enumerate(runs)
        ],
    }
    parse_table(document, "the exported table")
    target = _target(path, parents=parents)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except (OSError, ValueError) as err:
        raise InvalidOption(
            f"Cannot write {printable(path)}: {printable(str(err))}. Choose a writable location."
        ) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=1, ensure_ascii=False, allow_nan=False)
            handle.write("\n")
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a shipped table is meant to be read by all
        os.replace(tmp, target)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise InvalidOption(
            f"Cannot write {printable(path)}: {printable(str(err))}. Choose a writable location."
        ) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True, slots=True)
class ShippedTable:
    """A bridge-table file shipped with the package.

    Attributes:
        path: The JSON file.
        models: Model keys of its runs.
        run_count: Number of runs.
        tool_version: bridgex-chain version that wrote it.
        exported_at: When it was written.
    """

    path: Path
    models: tuple[str, ...]
    run_count: int
    tool_version: str
    exported_at: datetime


def shipped_dir() -> Path | None:
    """Return the directory of shipped tables (``bridgex_chain._precomputed``), if present."""
    return find_package_data_dir("_precomputed", "precomputed", ".")


def shipped_tables(directory: str | os.PathLike[str] | None = None) -> list[ShippedTable]:
    """List (and validate) the bridge-table JSON files shipped with the package.

    Args:
        directory: Look here instead of the package's ``_precomputed`` directory.

    Raises:
        SchemaError: A file is not a valid bridge table.

    Example:
        >>> all(t.path.suffix == ".json" for t in shipped_tables())
        True
    """
    root = Path(directory) if directory is not None else shipped_dir()
    if root is None or not root.is_dir():
        return []
    tables = []
    for path in sorted(root.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise SchemaError(f"Shipped bridge table {path} cannot be read: {err}") from None
        table = parse_table(data, str(path))
        models = tuple(sorted({run.model.key for run in table.runs}))
        tables.append(
            ShippedTable(path, models, len(table.runs), table.tool_version, table.exported_at)
        )
    return tables
