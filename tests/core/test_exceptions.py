"""The exception tree: one root, the documented shape, and a docstring that draws all of it."""

from __future__ import annotations

import inspect

import pytest

from strands_vector_memory import core
from strands_vector_memory.core import _exceptions
from strands_vector_memory.core._exceptions import (
    AccessDeniedError,
    BackendUnavailableError,
    ConflictError,
    FilterError,
    GuardrailError,
    IsolationError,
    NotFoundError,
    QuotaExceededError,
    RetryableError,
    ThrottledError,
    ValidationError,
    VectorMemoryError,
)

DEFINED = sorted(
    (obj for _, obj in inspect.getmembers(_exceptions, inspect.isclass) if obj.__module__ == _exceptions.__name__),
    key=lambda cls: cls.__name__,
)


def test_the_module_defines_the_documented_classes() -> None:
    assert [cls.__name__ for cls in DEFINED] == sorted(_exceptions.__all__)
    assert len(DEFINED) == 12


@pytest.mark.parametrize("cls", DEFINED, ids=lambda cls: cls.__name__)
def test_every_error_is_a_vector_memory_error(cls: type[Exception]) -> None:
    assert issubclass(cls, VectorMemoryError)
    assert issubclass(cls, Exception)


@pytest.mark.parametrize("cls", DEFINED, ids=lambda cls: cls.__name__)
def test_the_module_docstring_draws_every_class(cls: type[Exception]) -> None:
    assert _exceptions.__doc__ is not None
    assert cls.__name__ in _exceptions.__doc__


@pytest.mark.parametrize("cls", DEFINED, ids=lambda cls: cls.__name__)
def test_every_class_has_a_docstring_and_is_re_exported(cls: type[Exception]) -> None:
    assert cls.__doc__ and cls.__doc__.strip()
    assert getattr(core, cls.__name__) is cls


@pytest.mark.parametrize(
    ("child", "parents"),
    [
        (ValidationError, (VectorMemoryError, ValueError)),
        (FilterError, (ValidationError, ValueError)),
        (NotFoundError, (VectorMemoryError, LookupError)),
        (ConflictError, (VectorMemoryError,)),
        (IsolationError, (AccessDeniedError, PermissionError, VectorMemoryError)),
        (QuotaExceededError, (VectorMemoryError,)),
        (AccessDeniedError, (VectorMemoryError, PermissionError)),
        (RetryableError, (VectorMemoryError,)),
        (ThrottledError, (RetryableError,)),
        (BackendUnavailableError, (RetryableError,)),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else None,
)
def test_the_tree_has_the_documented_shape(child: type[Exception], parents: tuple[type[Exception], ...]) -> None:
    for parent in parents:
        assert issubclass(child, parent)


def test_only_validation_errors_are_value_errors() -> None:
    assert {cls for cls in DEFINED if issubclass(cls, ValueError)} == {ValidationError, FilterError, GuardrailError}


def test_retryable_errors_are_not_validation_errors() -> None:
    assert not issubclass(RetryableError, ValidationError)
    assert not issubclass(ValidationError, RetryableError)


def test_the_root_does_not_shadow_a_builtin() -> None:
    import builtins

    assert all(not hasattr(builtins, cls.__name__) for cls in DEFINED)


def test_validation_error_carries_field_and_limit() -> None:
    error = ValidationError("key too long", field="key", limit="1-1024 characters")
    assert (error.field, error.limit, str(error)) == ("key", "1-1024 characters", "key too long")
    bare = FilterError("bad filter")
    assert bare.field is None and bare.limit is None
    with pytest.raises(ValueError, match="key too long"):
        raise error


def test_catching_the_root_catches_every_error() -> None:
    for cls in DEFINED:
        with pytest.raises(VectorMemoryError):
            raise cls("boom")
