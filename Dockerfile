# Ensemble: the Discord bot (and, with the compose profile local-model, a local OpenAI-compatible test model).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# A CJK font, so that /map can draw the names of a Chinese world (matplotlib finds it by name).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-wqy-microhei && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 ensemble

# Dependencies first, so code edits do not reinstall them.
COPY pyproject.toml README.md ./
COPY bot ./bot
# Editable: the code that runs is /app/bot, next to /app/migrations, which the store applies at start.
RUN pip install -e .

COPY migrations ./migrations
COPY schemas ./schemas
COPY characters ./characters
COPY worlds ./worlds
RUN mkdir -p /app/data && chown ensemble:ensemble /app/data

USER ensemble
ENV DATABASE_PATH=/app/data/ensemble.db \
    CHARACTERS_DIR=/app/characters \
    WORLDS_DIR=/app/worlds
VOLUME ["/app/data"]

CMD ["python", "-m", "bot", "run"]
