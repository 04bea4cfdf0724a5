# Ensemble: the Discord bot (and, with the compose profile local-model, a local OpenAI-compatible test model).
# Two stages: the first builds the wheel (code plus migrations, schemas, worlds and characters as package
# data), the second installs only that wheel, so the image runs exactly what `pip install` would give.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY bot ./bot
COPY migrations ./migrations
COPY schemas ./schemas
COPY worlds ./worlds
COPY characters ./characters
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# A CJK font, so that /map can draw the names of a Chinese world (matplotlib finds it by name).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-wqy-microhei && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 ensemble
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels

WORKDIR /app
RUN mkdir -p /app/data && chown ensemble:ensemble /app/data
USER ensemble
# The shipped worlds and characters come with the package; CHARACTERS_DIR/WORLDS_DIR (mounted by
# docker-compose.yml) add to them or override them by id.
ENV DATABASE_PATH=/app/data/ensemble.db
VOLUME ["/app/data"]
# /metrics and /healthz when METRICS_PORT is set (docker-compose.yml sets 9464).
EXPOSE 9464

CMD ["python", "-m", "bot", "run"]
