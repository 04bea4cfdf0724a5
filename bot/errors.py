"""Domain errors: exceptions that carry a message safe to show to a player or admin."""

from __future__ import annotations


class EnsembleError(Exception):
    """Base for errors whose ``user_message`` may be shown verbatim in a channel or terminal."""

    def __init__(self, user_message: str, *, detail: str | None = None) -> None:
        super().__init__(detail or user_message)
        self.user_message = user_message


class ConfigError(EnsembleError):
    """A setting is missing or invalid; the message names the variable to set."""


class ContentError(EnsembleError):
    """A content file (world, character, card) is malformed; the message names file and field."""


class ModelUnavailable(EnsembleError):
    """The model server could not produce a reply after bounded retries."""


class StoreError(EnsembleError):
    """The database cannot be used as it is (for example it is newer than this code)."""


class NotFound(EnsembleError):
    """A named thing (character, place, scene, message) does not exist where it was asked for."""


class Refused(EnsembleError):
    """The request is understood but the world or the rules do not allow it."""
