"""The single process: every context's service, outbox relays, consumers and sweepers.

`Runtime` is built from Settings whose URLs are already resolved (see platform.engines), started
once, and stopped on shutdown. In-process topology: every context lives here and the gateway calls
them directly through their in-process clients. `mercato serve <context>` hosts one of the same
components instead (see `mercato.app.service_process`).
"""

from __future__ import annotations

from typing import Any

from mercato.app.components import (
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
from mercato.cart.client import InProcessCartClient
from mercato.catalog.client import InProcessCatalogClient
from mercato.customers.client import InProcessCustomersClient
from mercato.inventory.client import InProcessInventoryClient
from mercato.orders.client import InProcessOrdersClient
from mercato.payments.client import InProcessPaymentsClient
from mercato.platform.config import Settings
from mercato.platform.inbox import EventConsumer
from mercato.search.client import InProcessSearchClient


class Runtime:
    def __init__(self, settings: Settings) -> None:
        if not (settings.database_url and settings.nats_url and settings.redis_url):
            raise ValueError("Runtime needs resolved engine URLs (see mercato.platform.engines)")
        self.settings = settings
        self.engines = Engines(settings)
        self.db, self.redis, self.broker, self.cache = (
            self.engines.db,
            self.engines.redis,
            self.engines.broker,
            self.engines.cache,
        )
        catalog = catalog_component(self.engines)
        inventory = inventory_component(self.engines)
        self.catalog, self.inventory = catalog.service, inventory.service
        self.catalog_client = InProcessCatalogClient(self.catalog)
        self.inventory_client = InProcessInventoryClient(self.inventory)
        cart = cart_component(self.engines, self.catalog_client)
        customers = customers_component(self.engines)
        payments = payments_component(self.engines)
        orders = orders_component(self.engines)
        self.cart, self.customers = cart.service, customers.service
        self.payments, self.orders = payments.service, orders.service
        self.cart_client = InProcessCartClient(self.cart)
        self.customers_client = InProcessCustomersClient(self.customers)
        self.payments_client = InProcessPaymentsClient(self.payments)
        self.orders_client = InProcessOrdersClient(self.orders)
        search = search_component(self.engines, self.catalog_client)
        self.search = search.service
        self.search_client = InProcessSearchClient(self.search)
        # Served over gRPC by `GrpcTopology`.
        self.components: list[Component[Any]] = [
            catalog,
            inventory,
            cart,
            customers,
            payments,
            orders,
            search,
        ]
        self.host = Host(self.engines, self.components)

    @property
    def consumers(self) -> list[EventConsumer]:
        return self.host.consumers

    async def start(self, *, background: bool = True) -> None:
        """Connect to the broker, create streams and durable consumers; with `background`, run
        relays, consumers and sweepers as tasks until `stop()`."""
        await self.host.start(background=background)

    async def ready(self) -> dict[str, bool]:
        """Which engines answer right now (for /readyz)."""
        return await self.host.ready()

    async def stop(self) -> None:
        await self.host.stop()
        await self.engines.close()
