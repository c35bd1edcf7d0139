# Front Door: web app and worker in one image (compose.yaml runs both).
# Build: docker build -t frontdoor .   Run: docker compose up
# Stage 1 installs the locked dependencies (hashes checked) into a virtualenv;
# the final stage copies only that virtualenv and the code: no compiler, no
# pip cache, no apt lists, and it runs as an unprivileged user.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
COPY requirements.lock ./
# Wheels only: the image never compiles anything.
RUN pip install --only-binary=:all: --require-hashes -r requirements.lock
COPY pyproject.toml README.md babel.cfg ./
COPY bot ./bot
COPY content ./content
COPY locales ./locales
RUN pip install --no-deps -e . && python -m compileall -q bot

FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    FRONTDOOR_ENV=production \
    VAR_DIR=/var/lib/frontdoor \
    PORT=8000
RUN groupadd --system --gid 10001 frontdoor \
    && useradd --system --uid 10001 --gid frontdoor --home-dir /app --shell /usr/sbin/nologin frontdoor \
    && mkdir -p /var/lib/frontdoor && chown frontdoor:frontdoor /var/lib/frontdoor
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
USER frontdoor
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz\", timeout=4)"]
# The worker overrides this command (compose.yaml).
CMD ["sh", "-c", "frontdoor db upgrade && exec frontdoor serve --host 0.0.0.0 --port \"$PORT\""]
