"""The exception hierarchy: one base, the extra built-in bases callers rely on, the messages."""

from __future__ import annotations

import inspect

import pytest
from pydantic import BaseModel, ValidationError, field_validator

import bridgex_chain
from bridgex_chain import errors
from bridgex_chain.errors import (
    BridgeXError,
    DatabaseCorrupt,
    DatabaseError,
    DatabaseLocked,
    DatabaseReadOnly,
    InvalidField,
    InvalidInput,
    InvalidOption,
    MissingDependency,
    NoBridgeFound,
    SchemaError,
    UnknownLanguage,
)


def _classes() -> dict[str, type[BaseException]]:
    return {
        name: value
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, BaseException)
        and value.__module__ == errors.__name__
    }  # fmt: skip


def test_every_error_is_listed_documented_and_a_bridgex_error() -> None:
    classes = _classes()
    assert sorted(classes) == sorted(errors.__all__)
    for name, cls in classes.items():
        assert issubclass(cls, BridgeXError), name
        assert cls.__doc__ and cls.__doc__.strip(), name


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [(UnknownLanguage, ValueError), (InvalidInput, ValueError), (InvalidOption, ValueError),
     (InvalidField, ValueError), (NoBridgeFound, LookupError), (MissingDependency, ImportError)],
)  # fmt: skip
def test_builtin_second_bases_that_callers_catch(
    cls: type[BaseException], builtin: type[BaseException]
) -> None:
    assert issubclass(cls, builtin)


def test_specific_kinds_keep_their_family() -> None:
    for cls in (DatabaseCorrupt, DatabaseReadOnly, DatabaseLocked):
        assert issubclass(cls, DatabaseError)
    assert issubclass(InvalidField, SchemaError)
    assert not issubclass(SchemaError, ValueError)  # only the field-level error is a ValueError
    assert not issubclass(DatabaseError, ValueError)


def test_unknown_language_message_keeps_the_code_and_suggests_what_to_use() -> None:
    err = UnknownLanguage("xx")
    assert err.code == "xx"
    assert str(err).startswith("Unknown language 'xx'. Use an ISO 639-1/3 code")
    assert str(UnknownLanguage("xx", hint="Try 'sw'.")) == "Unknown language 'xx'. Try 'sw'."


def test_missing_dependency_says_which_extra_to_install() -> None:
    err = MissingDependency("psycopg", "postgres", "A PostgreSQL bridge table")
    assert (err.package, err.extra) == ("psycopg", "postgres")
    assert str(err) == (
        "A PostgreSQL bridge table needs the 'psycopg' package. "
        "Install it with: pip install 'bridgex-chain[postgres]'"
    )


def test_a_field_error_raised_in_a_pydantic_validator_names_the_field() -> None:
    class Doc(BaseModel):
        score: float

        @field_validator("score")
        @classmethod
        def _positive(cls, value: float) -> float:
            if value < 0:
                raise InvalidField("score must be at least 0; fix the file")
            return value

    with pytest.raises(ValidationError) as err:
        Doc(score=-1)
    (detail,) = err.value.errors()
    assert detail["loc"] == ("score",)
    assert "score must be at least 0; fix the file" in detail["msg"]


def test_the_package_re_exports_the_same_error_classes() -> None:
    exported = {name for name in bridgex_chain.__all__ if name in errors.__all__}
    assert exported == {
        "BridgeXError", "DatabaseError", "DetectorError", "MissingDependency", "ModelCallError",
        "ModelNotAvailable", "NoBridgeFound", "ProbeDataError", "PromptTooLong", "SchemaError",
        "UnknownLanguage", "UnsupportedModel",
    }  # fmt: skip
    for name in exported:
        assert getattr(bridgex_chain, name) is getattr(errors, name)
