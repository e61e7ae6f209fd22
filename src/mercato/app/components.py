"""Each bounded context as a deployable component, and the engine connections a process shares.

A `Component` is what one context brings to whichever process hosts it: its service, its gRPC
servicer, its outbox, the event subscriptions it consumes and the sweepers it runs. The same builders
wire the single process (`Runtime`, every context) and `mercato serve <context>` (one context), so the
two topologies cannot drift apart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from mercato.cart.bootstrap import CartService
from mercato.cart.entrypoints.consumers import order_events
from mercato.cart.entrypoints.grpc_server import registration as cart_service
from mercato.catalog.bootstrap import CatalogService
from mercato.catalog.client import CATALOG_GENERATION_KEY, CatalogClient
from mercato.catalog.entrypoints.grpc_server import registration as catalog_service
from mercato.customers.bootstrap import CustomersService, build_customers
from mercato.customers.entrypoints.grpc_server import registration as customers_service
from mercato.inventory.bootstrap import InventoryService, inventory_outbox
from mercato.inventory.entrypoints.grpc_server import registration as inventory_service
from mercato.inventory.entrypoints.saga_commands import saga_subscription as inventory_saga
from mercato.orders.bootstrap import OrdersService, build_orders
from mercato.orders.entrypoints.grpc_server import registration as orders_service
from mercato.payments.bootstrap import PaymentsService, build_payments
from mercato.payments.entrypoints.grpc_server import registration as payments_service
from mercato.payments.entrypoints.saga_commands import saga_subscription as payments_saga
from mercato.platform.cache import Cache
from mercato.platform.cdn import build_purger
from mercato.platform.clock import WallClock
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.grpc.server import ServiceRegistration
from mercato.platform.inbox import Subscription
from mercato.platform.listener import EventListener, Listener
from mercato.platform.messaging import Broker
from mercato.platform.outbox import Outbox, OutboxRelay
from mercato.platform.shutdown import STOP_GRACE_SECONDS, within
from mercato.platform.unit_of_work import RelayHandoff, UnitOfWork
from mercato.search.adapters import embedder
from mercato.search.bootstrap import SearchService
from mercato.search.entrypoints.grpc_server import registration as search_service
from mercato.search.service_layer.ports import CatalogPort

S = TypeVar("S")

# In the order a single process builds them (cart prices lines with the catalog, search reads products
# from it).
CONTEXTS = ("catalog", "inventory", "cart", "customers", "payments", "orders", "search")
POSTGRES, NATS, REDIS = "postgres", "nats", "redis"
# The engines each context uses (a process checks them before it starts and for readiness).
ENGINES_OF: dict[str, frozenset[str]] = {
    "catalog": frozenset({POSTGRES, NATS, REDIS}),
    "inventory": frozenset({POSTGRES, NATS}),
    "cart": frozenset({REDIS, NATS}),
    "customers": frozenset({POSTGRES, NATS, REDIS}),
    "payments": frozenset({POSTGRES, NATS}),
    "orders": frozenset({POSTGRES, NATS}),
    # Redis: after a commit that changed the index, search bumps the catalog's cache generation, so the
    # gateway's response cache never serves an answer older than the index.
    "search": frozenset({POSTGRES, NATS, REDIS}),
}


@dataclass(frozen=True)
class ConsumerWiring:
    """One event subscription: the schema holding its inbox and the unit of work its handler runs in."""

    schema: str
    subscription: Subscription
    unit_of_work: Callable[[], UnitOfWork]


@dataclass(frozen=True)
class Sweeper:
    """Periodic work (expiring reservations, timing out saga steps, ...), run every sweep interval."""

    name: str
    run_once: Callable[[], Awaitable[Any]]
    # What is overdue for it (sagas past their deadline, ...): the watchdog restarts a sweeper that has
    # some and stopped sweeping, and sweeps once at once (`nudge_action` names that in its log line).
    backlog: Callable[[], Awaitable[int]] | None = None
    nudge_action: str = "sweep_now"


@dataclass
class Component(Generic[S]):
    name: str
    service: S
    registration: ServiceRegistration
    engines: frozenset[str]
    outbox: Outbox | None = None
    consumers: list[ConsumerWiring] = field(default_factory=list)
    sweepers: list[Sweeper] = field(default_factory=list)
    # What else runs on the broker: consumers without an inbox, subscriptions that wake waiters.
    listeners: list[Listener] = field(default_factory=list)
    # Refreshed when /metrics is scraped (gauges read from the context's tables: stuck sagas).
    samplers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


# Connections one process opens to Redis at most. Past that, callers queue for a connection (for up
# to the pool timeout) instead of failing: a burst of checkouts must wait, not answer UNAVAILABLE.
REDIS_MAX_CONNECTIONS = 64
REDIS_POOL_TIMEOUT_SECONDS = 10.0


def redis_client(url: str) -> Redis:
    # Short timeouts and one retry: a Redis outage must cost a request milliseconds, not seconds.
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=REDIS_MAX_CONNECTIONS,
        timeout=REDIS_POOL_TIMEOUT_SECONDS,
        socket_connect_timeout=0.5,
        socket_timeout=0.5,
        retry=Retry(NoBackoff(), 1),
    )
    return Redis(connection_pool=pool)


class Engines:
    """One process's connections to PostgreSQL, Redis and NATS, shared by the components it hosts.

    Nothing connects here: the database pool and Redis connect on first use, the broker on `connect`,
    so a process that hosts only the cart never opens a database connection.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = self._database(settings.database_url or "")
        # Contexts with a role of their own (settings `<context>_database_url`) get a pool on it.
        self._databases: dict[str, Database] = {settings.database_url or "": self.db}
        self.redis = redis_client(settings.redis_url or "redis://unset")
        self.broker = Broker(settings.nats_url or "", settings.namespace)
        self.cache = Cache(
            self.redis,
            settings.namespace,
            ttl_seconds=settings.cache_ttl_seconds,
            enabled=settings.cache_enabled,
            local_ttl_seconds=settings.cache_local_ttl_seconds,
            local_max_bytes=settings.cache_local_max_bytes,
        )
        self.relays: dict[str, OutboxRelay] = {}
        # The one clock of every context this process hosts (the wall clock, unless a fault run
        # names an offset file: platform/clock.py).
        self.clock = WallClock(settings.clock_offset_file)

    def db_for(self, context: str) -> Database:
        """The database pool of `context`: on its own role when configured, else the shared one."""
        url = self.settings.context_database_url(context) or ""
        if url not in self._databases:
            self._databases[url] = self._database(url)
        return self._databases[url]

    def _database(self, url: str) -> Database:
        s = self.settings
        return Database(
            url,
            pool_size=s.db_pool_size,
            connect_timeout=s.db_connect_timeout_seconds,
            command_timeout=s.db_command_timeout_seconds or None,
            pool_timeout=s.db_pool_timeout_seconds,
        )

    def waker(self, context: str) -> RelayHandoff:
        """The `on_commit` of a context's units of work: after a commit that wrote events, it hands
        them to the context's relay in this process, which publishes them at once."""
        return RelayHandoff(lambda: self.relays.get(context))

    async def ready(self, needed: frozenset[str]) -> dict[str, bool]:
        """Which of the `needed` engines answer right now (for /readyz and the health service)."""
        checks: dict[str, bool] = {}
        if POSTGRES in needed:
            pings = [_answers(db.ping()) for db in self.databases_in_use()]
            checks[POSTGRES] = all(await asyncio.gather(*pings))
        if REDIS in needed:
            checks[REDIS] = await _answers(self.redis.ping())
        if NATS in needed:
            checks[NATS] = await _answers(self.broker.ping())
        return checks

    def databases_in_use(self) -> list[Database]:
        """The shared pool, or the contexts' own pools once any was asked for (the shared one then
        serves nobody in a process whose every context has its own role)."""
        own = [db for db in self._databases.values() if db is not self.db]
        return own or [self.db]

    async def close(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Close the connections, each within `grace` seconds (an engine that is down must not hold
        the process up: its connections die with it)."""
        await within(self.broker.close(), grace, "closing the NATS connection")
        await within(self.redis.aclose(), grace, "closing the Redis connections")
        for db in self._databases.values():
            await within(db.dispose(), grace, "closing a database pool")


async def _answers(probe: Awaitable[Any]) -> bool:
    try:
        async with asyncio.timeout(2):
            await probe
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        return False
    return True


def catalog_component(engines: Engines) -> Component[CatalogService]:
    settings = engines.settings
    purger = build_purger(settings.cdn_purge_url, settings.cdn_purge_token, settings.cdn_purge_auth_header)
    service = CatalogService(
        engines.db_for("catalog"), engines.cache, settings.namespace, engines.waker("catalog"), purger
    )
    return Component(
        "catalog",
        service,
        catalog_service(service),
        ENGINES_OF["catalog"],
        outbox=service.outbox,
        consumers=[ConsumerWiring(service.schema, sub, service.uow) for sub in service.subscriptions()],
    )


def inventory_component(engines: Engines) -> Component[InventoryService]:
    service = InventoryService(
        engines.db_for("inventory"),
        inventory_outbox(engines.settings.namespace),
        engines.waker("inventory"),
        clock=engines.clock,
    )
    return Component(
        "inventory",
        service,
        inventory_service(service),
        ENGINES_OF["inventory"],
        outbox=service.outbox,
        consumers=[ConsumerWiring("inventory", inventory_saga(service), service.unit_of_work)],
        sweepers=[Sweeper("reservation expiry", lambda: service.expire_due(500))],
    )


def cart_component(engines: Engines, catalog: CatalogClient) -> Component[CartService]:
    """The cart prices its lines with `catalog`: in process, or a gRPC client to the catalog service."""
    service = CartService(engines.redis, catalog, engines.settings, clock=engines.clock)
    s = engines.settings
    listener = EventListener(
        order_events(service),
        batch_size=s.consumer_batch_size,
        max_deliveries=s.consumer_max_deliveries,
        ack_wait=s.consumer_ack_wait_seconds,
    )
    return Component("cart", service, cart_service(service), ENGINES_OF["cart"], listeners=[listener])


def customers_component(engines: Engines) -> Component[CustomersService]:
    service = build_customers(
        engines.db_for("customers"),
        engines.redis,
        engines.settings,
        engines.waker("customers"),
        clock=engines.clock,
    )
    return Component(
        "customers",
        service,
        customers_service(service),
        ENGINES_OF["customers"],
        outbox=service.outbox,
    )


def payments_component(engines: Engines) -> Component[PaymentsService]:
    service = build_payments(
        engines.db_for("payments"), engines.settings, engines.waker("payments"), clock=engines.clock
    )
    return Component(
        "payments",
        service,
        payments_service(service),
        ENGINES_OF["payments"],
        outbox=service.outbox,
        consumers=[ConsumerWiring("payments", payments_saga(service), service.unit_of_work)],
        # Finish provider calls whose outcome a crashed or timed-out attempt never recorded.
        sweepers=[Sweeper("pending payments", lambda: service.resolve_pending(100))],
    )


def orders_component(engines: Engines) -> Component[OrdersService]:
    service = build_orders(
        engines.db_for("orders"), engines.settings, engines.waker("orders"), clock=engines.clock
    )
    grace = engines.settings.saga_stuck_grace_seconds
    return Component(
        "orders",
        service,
        orders_service(service),
        ENGINES_OF["orders"],
        outbox=service.outbox,
        consumers=[ConsumerWiring(service.schema, sub, service.uow) for sub in service.subscriptions()],
        # Wakes checkouts waiting for their order to settle.
        listeners=[service.watch],
        # Time out saga steps that got no reply: retry them, then compensate. Sagas past their
        # deadline by more than the grace are stuck: the watchdog drives them on if this stops.
        sweepers=[
            Sweeper(
                "saga expiry",
                lambda: service.expire_due(100),
                backlog=lambda: service.stuck_sagas(grace),
                nudge_action="drive_sagas",
            )
        ],
        samplers=[lambda: service.sample_stuck_sagas(grace)],
    )


def search_component(engines: Engines, catalog: CatalogPort) -> Component[SearchService]:
    """Search keeps its index from catalog and inventory events, reading products with `catalog`: in
    process, or a gRPC client to the catalog service. It publishes nothing, so no outbox relay runs
    for it."""
    generation = engines.cache.key(CATALOG_GENERATION_KEY)

    async def drop_cached_answers() -> None:
        # Cached responses live under the catalog's generation; search answers are among them.
        await engines.cache.bump(generation)

    service = SearchService(
        engines.db_for("search"),
        catalog,
        engines.settings.namespace,
        engines.waker("search"),
        drop_cached_answers,
        embedder=embedder.load(),
        min_support=engines.settings.search_min_support,
    )
    return Component(
        "search",
        service,
        search_service(service),
        ENGINES_OF["search"],
        consumers=[ConsumerWiring(service.schema, sub, service.uow) for sub in service.subscriptions()],
    )
