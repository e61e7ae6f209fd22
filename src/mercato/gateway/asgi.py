"""ASGI entry point for production servers: `uvicorn --factory mercato.gateway.asgi:create`.

Engines are never started here: MERCATO_DATABASE_URL, MERCATO_NATS_URL and MERCATO_REDIS_URL must be
set (the process fails at start-up with one line if not). Each worker runs its own relays and
consumers; the outbox claims rows with SKIP LOCKED and consumers share durable JetStream consumers,
so any number of workers cooperate.
"""

from __future__ import annotations

from starlette.types import ASGIApp

from mercato.gateway.app import create_app, gateway_app
from mercato.platform.config import Settings
from mercato.platform.errors import MercatoError
from mercato.platform.telemetry import configure_tracing


def create() -> ASGIApp:
    configure_tracing("mercato")  # here, in each worker: an exporter's thread does not survive a fork
    settings = Settings()
    missing = [
        name
        for name, url in (
            ("MERCATO_DATABASE_URL", settings.database_url),
            ("MERCATO_NATS_URL", settings.nats_url),
            ("MERCATO_REDIS_URL", settings.redis_url),
        )
        if not url
    ]
    if missing:
        raise SystemExit(f"mercato: set {', '.join(missing)} (or use `mercato dev`, which starts engines)")
    return create_app(settings)


def create_remote() -> ASGIApp:
    """`mercato serve gateway`: GraphQL over gRPC to each context's own process (MERCATO_*_ADDRESS)."""
    from mercato.app.topology import RemoteContexts

    configure_tracing("mercato-gateway")
    settings = Settings()
    try:
        backend = RemoteContexts(settings)
    except (ValueError, MercatoError) as exc:
        raise SystemExit(f"mercato: {exc}") from None
    return gateway_app(settings, backend, owns_backend=True)
