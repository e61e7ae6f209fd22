# syntax=docker/dockerfile:1.7
# Mercato image, one for every process: `mercato serve` (GraphQL and every context in one process, the
# default CMD), `mercato serve gateway` (GraphQL over gRPC), `mercato serve <context>` (one context:
# gRPC on MERCATO_GRPC_PORT, health and /metrics on MERCATO_HTTP_PORT) and `mercato migrate`.
# Build:  make image        (docker build -t mercato:$(version) .)
# Run:    docker run -p 8000:8000 -e MERCATO_DATABASE_URL=... -e MERCATO_NATS_URL=... \
#           -e MERCATO_REDIS_URL=... -e MERCATO_AUTH_SECRET=... --read-only --tmpfs /tmp mercato:0.1.0
# The runtime stage writes nothing outside /tmp, so it runs with a read-only root filesystem.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- builder: install the project (not editable) into a self-contained venv -------------------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /build
# Every dependency ships manylinux wheels for amd64, so no compiler is installed here.
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --upgrade pip \
    && pip install . \
    # Byte-compile now: the runtime root filesystem is read-only, so Python could not cache .pyc later.
    && python -m compileall -q /opt/venv/lib \
    && mercato --help > /dev/null

# ---- runtime: slim, non-root, read-only-root friendly --------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="mercato" \
      org.opencontainers.image.description="Headless e-commerce backend: GraphQL gateway and domain services" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"

# A fixed numeric uid/gid so Kubernetes' runAsNonRoot can verify it without a passwd lookup.
RUN groupadd --system --gid 10001 mercato \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin mercato

COPY --from=builder /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    MERCATO_DATA_DIR=/tmp/mercato \
    MERCATO_HTTP_HOST=0.0.0.0 \
    MERCATO_HTTP_PORT=8000 \
    MERCATO_GRAPHIQL=false

# An empty, root-owned working directory: pydantic-settings looks for ./.env here and finds none.
WORKDIR /app
USER 10001:10001
EXPOSE 8000
# A context's gRPC port (`mercato serve <context>`; set MERCATO_GRPC_HOST=0.0.0.0 to reach it).
EXPOSE 50051

# slim has no curl: probe /healthz with the standard library.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('MERCATO_HTTP_PORT', '8000'), timeout=2)"]

ENTRYPOINT ["mercato"]
CMD ["serve", "--host", "0.0.0.0"]
