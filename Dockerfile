# microdesk in a container: the README's install (pip install .) on Python 3.11, run as a
# non-root user, everything it stores in the /data volume. Build and start: docker compose up -d
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/data \
    KNOWLEDGE_DIR=/knowledge

RUN useradd --system --create-home --uid 10001 --user-group microdesk \
    && mkdir -p /data /knowledge \
    && chown microdesk:microdesk /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY prompts ./prompts
RUN pip install . && rm -rf /app/build

USER microdesk
VOLUME ["/data"]
# No EXPOSE: long polling needs no port. Webhook mode listens on 0.0.0.0:WEBHOOK_PORT (8443);
# compose.webhook.yaml publishes it.
CMD ["microdesk", "run"]
