"""Exceptions raised by bridgex-chain.

Every failure the library can foresee raises a subclass of :class:`BridgeXError`
whose message tells the user what to do next.

Example:
    >>> from bridgex_chain.errors import BridgeXError, UnknownLanguage
    >>> try:
    ...     raise UnknownLanguage("xx", hint="use an ISO 639 code such as 'sw'")
    ... except BridgeXError as err:
    ...     print(type(err).__name__)
    UnknownLanguage
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BridgeDeclined",
    "BridgeXError",
    "DatabaseCorrupt",
    "DatabaseError",
    "DatabaseLocked",
    "DatabaseReadOnly",
    "DetectorError",
    "InvalidField",
    "InvalidInput",
    "InvalidOption",
    "MissingDependency",
    "ModelCallError",
    "ModelNotAvailable",
    "NoBridgeFound",
    "ProbeDataError",
    "PromptTooLong",
    "SchemaError",
    "UnknownLanguage",
    "UnsupportedModel",
]


class BridgeXError(Exception):
    """Base class of every error bridgex-chain raises on purpose."""


class UnknownLanguage(BridgeXError, ValueError):
    """A language code or name could not be normalised to a FLORES-200 code."""

    def __init__(self, code: str, hint: str | None = None) -> None:
        self.code = code
        msg = f"Unknown language {code!r}."
        msg += (
            f" {hint}"
            if hint
            else " Use an ISO 639-1/3 code ('sw', 'swh'), a BCP-47 tag ('pt-BR'), "
            "a FLORES-200 code ('swh_Latn') or an English language name ('Swahili')."
        )
        super().__init__(msg)


class NoBridgeFound(BridgeXError, LookupError):
    """The bridge table holds no row for the requested (model, source, target)."""


class BridgeDeclined(NoBridgeFound):
    """A route policy found the entry but decided to prompt directly (the evidence policy).

    Attributes:
        evidence: The decision's rule and numbers (``metadata["evidence"]`` of the reply).

    Example:
        >>> err = BridgeDeclined("the model reads swh_Latn well", {"rule": "reads_well"})
        >>> err.evidence["rule"], isinstance(err, NoBridgeFound)
        ('reads_well', True)
    """

    def __init__(self, message: str, evidence: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.evidence: dict[str, Any] = dict(evidence or {})


class UnsupportedModel(BridgeXError):
    """The model's architecture is not one the probing hooks know."""


class ModelNotAvailable(BridgeXError):
    """A model id, alias or path cannot be loaded from local files."""


class MissingDependency(BridgeXError, ImportError):
    """An optional dependency (an extra) is needed for this feature."""

    def __init__(self, package: str, extra: str, feature: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(
            f"{feature} needs the '{package}' package. "
            f"Install it with: pip install 'bridgex-chain[{extra}]'"
        )


class ProbeDataError(BridgeXError):
    """A lexicon, probe set or corpus is missing, malformed or too small."""


class SchemaError(BridgeXError):
    """Stored or imported data does not match the schema this version expects."""


class InvalidField(SchemaError, ValueError):
    """One field of a bridge-table file (or other stored data) breaks a rule of the schema.

    It is a ``ValueError`` too, so pydantic validators can raise it: pydantic then reports it
    with the field's path, and :func:`~bridgex_chain.store.precomputed.parse_table` raises a
    :class:`SchemaError` naming that path. Raised outside a validator, it is a
    :class:`SchemaError` like any other.

    Example:
        >>> err = InvalidField("'score' and 'layers_scored' come together: give both or neither")
        >>> isinstance(err, SchemaError), isinstance(err, ValueError)
        (True, True)
    """


class DatabaseError(BridgeXError):
    """The bridge-table database cannot be opened, read or written."""


class DatabaseCorrupt(DatabaseError):
    """The bridge-table file is damaged or is not a SQLite database at all."""


class DatabaseReadOnly(DatabaseError):
    """The bridge table can be read but not written (read-only file, mount or transaction)."""


class DatabaseLocked(DatabaseError):
    """Another connection held the write lock for longer than the lock timeout."""


class DetectorError(BridgeXError):
    """The language-identification model cannot be loaded or run."""


class PromptTooLong(BridgeXError):
    """A prompt does not fit in the model's context window."""


class InvalidInput(BridgeXError, ValueError):
    """The chain was given an input it cannot route (no query text, or an unsupported type)."""


class InvalidOption(BridgeXError, ValueError):
    """An argument or option has a value the library cannot use (the message names valid ones).

    It is a ``ValueError`` too, so callers (and pydantic validators) that catch ``ValueError``
    keep working.

    Example:
        >>> isinstance(InvalidOption("top_rate must be in (0, 1], got 2"), ValueError)
        True
    """


class ModelCallError(BridgeXError):
    """The language model raised while answering."""
