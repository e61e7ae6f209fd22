"""`mercato serve <context>`: one bounded context in a process of its own.

It serves the context's gRPC API (with grpc.health.v1 and reflection), runs the context's outbox
relay, event consumers and sweepers, and answers /healthz and /readyz on a small HTTP port. Its health
status follows its engines and its watchdog (`platform.watchdog`): NOT_SERVING while one it needs
does not answer, while a wedged loop is being restarted or while readiness flaps, so balancers and
kubelet probes route around it; its liveness fails once the watchdog gave up on a loop.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from typing import Any

from grpc_health.v1 import health_pb2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from mercato.app.components import (
    CONTEXTS,
    ENGINES_OF,
    NATS,
    POSTGRES,
    REDIS,
    Component,
    Engines,
    cart_component,
    catalog_component,
    customers_component,
    inventory_component,
    orders_component,
    payments_component,
    search_component,
)
from mercato.app.host import Host
from mercato.catalog.grpc_client import GrpcCatalogClient
from mercato.ops.self_watch import SelfWatch
from mercato.platform.config import Settings
from mercato.platform.grpc.client import CallPolicy, create_channel
from mercato.platform.grpc.server import GrpcServer
from mercato.platform.grpc.tls import channel_tls, server_tls
from mercato.platform.metrics import HttpMetricsMiddleware, Metrics, metrics_endpoint
from mercato.platform.shutdown import STOP_GRACE_SECONDS, stop_tasks, within

log = logging.getLogger(__name__)

HEALTH_INTERVAL_SECONDS = 2.0
# A grpc.health.v1 name that is SERVING while the process serves at all, whatever its engines do: what a
# liveness probe asks (restarting a process because its database is down would not bring it back).
LIVENESS = "liveness"
ENGINE_VARIABLES = {POSTGRES: "MERCATO_DATABASE_URL", NATS: "MERCATO_NATS_URL", REDIS: "MERCATO_REDIS_URL"}
# What each context's process needs besides its engines: the services it calls (the cart prices its
# lines with the catalog; search re-reads the products its events name from it).
CALLS: dict[str, tuple[str, ...]] = {"cart": ("catalog",), "search": ("catalog",)}


def missing_configuration(settings: Settings, context: str) -> list[str]:
    """The settings `mercato serve <context>` needs and lacks (environment variable names)."""
    urls = {POSTGRES: settings.database_url, NATS: settings.nats_url, REDIS: settings.redis_url}
    missing = [ENGINE_VARIABLES[e] for e in sorted(ENGINES_OF[context]) if not urls[e]]
    missing += [
        f"MERCATO_{peer.upper()}_ADDRESS" for peer in CALLS.get(context, ()) if not _address(settings, peer)
    ]
    if not settings.auth_secret:
        missing.append("MERCATO_AUTH_SECRET")
    return missing


def _check_free(host: str, port: int) -> None:
    """Fail with one clear line when the gRPC port is taken (gRPC itself logs a C++ error and says less)."""
    if port == 0:
        return
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ValueError(f"cannot listen on {host}:{port} for gRPC: {exc.strerror}") from None


def _address(settings: Settings, context: str) -> str | None:
    value = getattr(settings, f"{context}_address")
    return str(value) if value else None


class ServiceProcess:
    """Build inside the running event loop (gRPC channels bind to it); `start()`, then `stop()`."""

    def __init__(self, settings: Settings, context: str) -> None:
        if context not in CONTEXTS:
            raise ValueError(f"unknown context {context!r}: one of {', '.join(CONTEXTS)}")
        missing = missing_configuration(settings, context)
        if missing:
            raise ValueError(f"`mercato serve {context}` needs {', '.join(missing)}")
        self.context = context
        self.settings = settings
        self.engines = Engines(settings)
        self._channels: list[Any] = []
        self.component: Component[Any] = self._build(context)
        self.host = Host(self.engines, [self.component])
        self.metrics = Metrics()
        _check_free(settings.grpc_host, settings.grpc_port)
        self.grpc = GrpcServer(
            [self.component.registration],
            secret=settings.auth_secret,
            address=f"{settings.grpc_host}:{settings.grpc_port}",
            credentials=server_tls(settings),
            metrics=self.metrics,
        )
        self._watch: asyncio.Task[None] | None = None
        self._self_watch: asyncio.Task[None] | None = None
        self.serving = False

    def _build(self, context: str) -> Component[Any]:
        builders: dict[str, Callable[[], Component[Any]]] = {
            "catalog": lambda: catalog_component(self.engines),
            "inventory": lambda: inventory_component(self.engines),
            "cart": lambda: cart_component(self.engines, self._catalog_client()),
            "customers": lambda: customers_component(self.engines),
            "payments": lambda: payments_component(self.engines),
            "orders": lambda: orders_component(self.engines),
            "search": lambda: search_component(self.engines, self._catalog_client()),
        }
        return builders[context]()

    def _catalog_client(self) -> GrpcCatalogClient:
        channel = create_channel(
            str(_address(self.settings, "catalog")), credentials=channel_tls(self.settings)
        )
        self._channels.append(channel)
        policy = CallPolicy(timeout=self.settings.grpc_deadline_seconds)
        return GrpcCatalogClient(
            channel, service=self.context, secret=self.settings.auth_secret, policy=policy
        )

    @property
    def grpc_port(self) -> int:
        return self.grpc.port

    async def start(self) -> None:
        await self.host.start()
        self.host.instrument(self.metrics)
        await self.grpc.start()
        await self.grpc.health.set(LIVENESS, health_pb2.HealthCheckResponse.SERVING)
        self.serving = True
        self._watch = asyncio.create_task(self._follow_engines())
        if self.settings.anomaly_watch_interval_seconds > 0:
            watch = SelfWatch(self.metrics, interval=self.settings.anomaly_watch_interval_seconds)
            self._self_watch = asyncio.create_task(watch.run())

    async def _follow_engines(self) -> None:
        """Report NOT_SERVING while an engine this context needs does not answer, SERVING once it does."""
        names = ["", self.component.registration.name]
        status = health_pb2.HealthCheckResponse
        gave_up = False
        while True:
            await asyncio.sleep(HEALTH_INTERVAL_SECONDS)
            try:
                serving = all((await self.host.ready()).values())
            except Exception:  # noqa: BLE001 - a failed check is a failed check
                serving = False
            if serving != self.serving:
                self.serving = serving
                log.warning("%s is %s", self.context, "serving again" if serving else "not serving")
                for name in names:
                    await self.grpc.health.set(name, status.SERVING if serving else status.NOT_SERVING)
            if not self.host.healthy and not gave_up:
                # The watchdog spent its restarts on a wedged loop: let the orchestrator replace us.
                gave_up = True
                await self.grpc.health.set(LIVENESS, status.NOT_SERVING)

    def http_app(self) -> ASGIApp:
        """/healthz (the process is alive), /readyz (its engines answer) and /metrics (Prometheus)."""

        async def healthz(_: Request) -> Response:
            if not self.host.healthy:  # the watchdog gave up on a wedged loop: replace this process
                return JSONResponse({"status": "wedged", "context": self.context}, status_code=503)
            return JSONResponse({"status": "ok", "context": self.context})

        async def readyz(_: Request) -> Response:
            checks = await self.host.ready()
            ready = all(checks.values())
            return JSONResponse(
                {"ready": ready, "context": self.context, "checks": checks}, status_code=200 if ready else 503
            )

        routes = [
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint(self.metrics)),
        ]
        return HttpMetricsMiddleware(Starlette(routes=routes), self.metrics)

    async def stop(self) -> None:
        """Drain gRPC first (health goes NOT_SERVING, in-flight calls finish), then the background work."""
        watching = [task for task in (self._watch, self._self_watch) if task is not None]
        if watching:
            await stop_tasks(watching, grace=1.0)
        await within(self.grpc.stop(), STOP_GRACE_SECONDS + 1, "stopping the gRPC server")
        await self.host.stop()
        for channel in self._channels:
            await within(channel.close(), 1.0, "closing a gRPC channel")
        await self.engines.close()
