"""The small hierarchy of domain errors that every package raises.

`serving` maps these to HTTP answers in exactly one place (``serving/errors.py``):
``InvalidInputError``/``DataValidationError`` -> 422, ``UnknownIdError`` -> 404 (only where no
fallback exists), ``ModelUnavailableError`` -> 503. Messages say what was wrong, show the value
and say what is allowed.
"""

from __future__ import annotations

from typing import Any


class ShelfwiseError(Exception):
    """Base class of every error Shelfwise raises on purpose."""


class InvalidInputError(ShelfwiseError, ValueError):
    """A caller passed a bad value. ``field`` names the offending argument or column."""

    def __init__(self, message: str, *, field: str | None = None, value: Any = None) -> None:
        super().__init__(message)
        self.field = field
        self.value = value


class DataValidationError(InvalidInputError):
    """A data file (or frame) breaks the data contract in docs/DATA.md.

    The message names the file, the column, an example row and what is allowed.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        column: str | None = None,
        example: Any = None,
    ) -> None:
        super().__init__(message, field=column, value=example)
        self.file = file
        self.column = column
        self.example = example


class NotFittedError(ShelfwiseError, AttributeError):
    """A query method was called on a model before ``fit`` or ``load``."""

    def __init__(self, model: object) -> None:
        name = type(model).__name__
        super().__init__(
            f"This {name} instance is not fitted yet. Call 'fit' with training data, "
            f"or '{name}.load(dir)' a saved model, before using it."
        )


class UnknownIdError(ShelfwiseError, KeyError):
    """An id (item, user, series ...) the model has never seen."""

    def __init__(self, kind: str, value: Any, *, field: str | None = None, detail: str | None = None) -> None:
        super().__init__(detail or f"Unknown {kind} {value!r}")
        self.kind = kind
        self.value = value
        self.field = field or kind

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0])


class ConflictError(ShelfwiseError):
    """A request reuses an idempotency key (a transaction id) with a different body."""

    def __init__(self, message: str, *, field: str, value: Any, differing: list[str]) -> None:
        super().__init__(message)
        self.field = field
        self.value = value
        self.differing = differing


class ArtifactError(ShelfwiseError):
    """A saved model directory is missing, corrupt, of another family or of an unknown version."""


class ModelUnavailableError(ShelfwiseError):
    """The model a request needs is not loaded (never trained, or failed to load)."""

    def __init__(self, family: str, detail: str | None = None) -> None:
        msg = f"The '{family}' model is not available"
        msg += f": {detail}" if detail else ". Train and register it: `shelfwise train " + family + "`."
        super().__init__(msg)
        self.family = family
