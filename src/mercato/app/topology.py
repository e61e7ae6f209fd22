"""The gRPC topology: the gateway's clients over gRPC, to one test server or to one process per context.

`GrpcTopology` hosts every context's gRPC service on one loopback port and builds the gateway's clients
on a channel to it, so the same GraphQL code runs either on the in-process clients or entirely over gRPC
(signed service tokens, the caller's principal as signed metadata, status details for errors).
`RemoteContexts` is what `mercato serve gateway` runs on: a channel to each context's own process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from grpc_health.v1 import health_pb2, health_pb2_grpc

from mercato.app.components import redis_client
from mercato.app.runtime import Runtime
from mercato.cart.grpc_client import GrpcCartClient
from mercato.catalog.client import CATALOG_GENERATION_KEY
from mercato.catalog.grpc_client import GrpcCatalogClient
from mercato.customers.grpc_client import GrpcCustomersClient
from mercato.gateway.context import Clients
from mercato.inventory.grpc_client import GrpcInventoryClient
from mercato.orders.grpc_client import GrpcOrdersClient
from mercato.payments.grpc_client import GrpcPaymentsClient
from mercato.platform.cache import Cache
from mercato.platform.config import Settings
from mercato.platform.grpc.client import CallPolicy, create_channel
from mercato.platform.grpc.server import GrpcServer
from mercato.platform.grpc.tls import channel_tls
from mercato.platform.metrics import Metrics
from mercato.search.grpc_client import GrpcSearchClient

GATEWAY = "gateway"
# The contexts the gateway calls (payments for its vault only: checkout exchanges the shopper's
# payment token for a reference there; payments' money moves through the order saga's events).
GATEWAY_UPSTREAMS = ("catalog", "inventory", "cart", "customers", "orders", "payments", "search")
# Upstreams the gateway serves without: with no MERCATO_SEARCH_ADDRESS, `products(filter: {search})` is
# the catalog's word match and `search` answers UNAVAILABLE (a shop may run no search process).
OPTIONAL_UPSTREAMS = frozenset({"search"})


def gateway_clients(channels: Mapping[str, Any], *, secret: str | None, policy: CallPolicy) -> Clients:
    """The gateway's clients, each on the channel to its context's service (search only if given one)."""
    kw: dict[str, Any] = {"service": GATEWAY, "secret": secret, "policy": policy}
    return Clients(
        catalog=GrpcCatalogClient(channels["catalog"], **kw),
        inventory=GrpcInventoryClient(channels["inventory"], **kw),
        cart=GrpcCartClient(channels["cart"], **kw),
        customers=GrpcCustomersClient(channels["customers"], **kw),
        orders=GrpcOrdersClient(channels["orders"], **kw),
        payments=GrpcPaymentsClient(channels["payments"], **kw),
        search=GrpcSearchClient(channels["search"], **kw) if "search" in channels else None,
    )


class GrpcTopology:
    """Every context of `runtime` served by one gRPC server; the gateway's clients go through it."""

    def __init__(self, runtime: Runtime, address: str = "127.0.0.1:0") -> None:
        secret = runtime.settings.auth_secret
        self.server = GrpcServer(
            [c.registration for c in runtime.components],
            secret=secret,
            address=address,
        )
        self._secret = secret
        self._policy = CallPolicy(timeout=runtime.settings.grpc_deadline_seconds)
        self._channel: Any = None

    async def start(self) -> Clients:
        await self.server.start()
        self._channel = create_channel(f"127.0.0.1:{self.server.port}")
        channels = dict.fromkeys(GATEWAY_UPSTREAMS, self._channel)
        return gateway_clients(channels, secret=self._secret, policy=self._policy)

    async def stop(self) -> None:
        if self._channel is not None:
            await self._channel.close()
        await self.server.stop()


def missing_addresses(settings: Settings, contexts: tuple[str, ...] = GATEWAY_UPSTREAMS) -> list[str]:
    """The MERCATO_<CONTEXT>_ADDRESS variables `contexts` need and `settings` lack (optional ones aside)."""
    return [
        f"MERCATO_{c.upper()}_ADDRESS"
        for c in contexts
        if c not in OPTIONAL_UPSTREAMS and not getattr(settings, f"{c}_address")
    ]


class RemoteContexts:
    """The gateway's backend in the distributed topology: a gRPC channel to each context's process and
    Redis for the response cache. Build it inside the running event loop (gRPC channels bind to it)."""

    def __init__(self, settings: Settings) -> None:
        missing = missing_addresses(settings)
        if missing or not settings.redis_url:
            raise ValueError(f"the gateway needs {', '.join([*missing, 'MERCATO_REDIS_URL'])}")
        self.settings = settings
        self.redis = redis_client(settings.redis_url)
        self.cache = Cache(
            self.redis,
            settings.namespace,
            ttl_seconds=settings.cache_ttl_seconds,
            enabled=settings.cache_enabled,
        )
        self.generation_key = self.cache.key(CATALOG_GENERATION_KEY)
        tls = channel_tls(settings)
        self.channels = {
            c: create_channel(str(address), credentials=tls)
            for c in GATEWAY_UPSTREAMS
            if (address := getattr(settings, f"{c}_address"))
        }
        policy = CallPolicy(timeout=settings.grpc_deadline_seconds)
        self.clients = gateway_clients(self.channels, secret=settings.auth_secret, policy=policy)

    async def start(self) -> None:
        return None  # channels connect on first use and reconnect by themselves

    async def ready(self) -> dict[str, bool]:
        # Nothing gates it: the response cache bypasses Redis when it fails, and each context's
        # outage is answered with typed UNAVAILABLE errors for what needs it.
        return {"serving": True}

    async def upstreams(self) -> dict[str, str]:
        names = list(self.channels)
        states = await asyncio.gather(*(health_status(self.channels[name]) for name in names))
        return dict(zip(names, states, strict=True))

    def instrument(self, metrics: Metrics) -> None:
        return None  # the contexts' processes report their own consumers and outboxes

    @property
    def healthy(self) -> bool:
        return True  # no background loop here: the contexts' processes watch their own

    async def stop(self) -> None:
        for channel in self.channels.values():
            await channel.close()
        await self.redis.aclose()


async def health_status(channel: Any, service: str = "", *, wait_seconds: float = 1.0) -> str:
    """`SERVING`, `NOT_SERVING`, ... from grpc.health.v1 on `channel`, or `UNREACHABLE`."""
    stub = health_pb2_grpc.HealthStub(channel)
    try:
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=wait_seconds)
    except Exception:  # noqa: BLE001 - any failure to answer is "unreachable" to the caller
        return "UNREACHABLE"
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))
