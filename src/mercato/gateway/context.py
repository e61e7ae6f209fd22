"""What every resolver can reach: settings, the contexts' clients and this request's DataLoaders."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mercato.cart.client import CartClient
from mercato.catalog.client import CatalogClient
from mercato.customers.client import CustomersClient
from mercato.gateway.graphql.catalog.availability import AvailabilityLoader
from mercato.gateway.graphql.catalog.dataloaders import CatalogLoaders
from mercato.gateway.graphql.search.recommendations import SearchLoaders
from mercato.gateway.rate_limits import GatewayRateLimits
from mercato.inventory.client import InventoryClient
from mercato.orders.client import OrdersClient
from mercato.payments.client import PaymentsClient
from mercato.platform.auth import Principal
from mercato.platform.config import Settings
from mercato.search import SearchClient

# The response header naming what a response shows (platform.cdn's purge keys). The response cache
# keeps it only on responses shared caches may store.
SURROGATE_KEY = "surrogate-key"


@dataclass
class Clients:
    catalog: CatalogClient
    inventory: InventoryClient
    cart: CartClient
    customers: CustomersClient
    orders: OrdersClient
    payments: PaymentsClient  # the vault only: checkout exchanges the payment token for a reference
    # None when no search process is configured (`mercato serve gateway` without
    # MERCATO_SEARCH_ADDRESS): `products(filter: {search})` is then the catalog's word match.
    search: SearchClient | None = None


@dataclass
class GatewayContext:
    settings: Settings
    clients: Clients
    request: Any = None
    response: Any = None
    principal: Principal | None = None  # from the `Authorization: Bearer` access token
    auth_error: str | None = None  # why a presented token was refused
    rate_limits: GatewayRateLimits | None = None  # None: not limited (a test's bare schema)
    catalog_loaders: CatalogLoaders = field(init=False)
    availability: AvailabilityLoader = field(init=False)
    search_loaders: SearchLoaders | None = field(init=False)
    purge_keys: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        # New loaders per request: batching and caching never leak between requests.
        self.catalog_loaders = CatalogLoaders(self.clients.catalog)
        self.availability = AvailabilityLoader(self.clients.catalog)
        self.search_loaders = SearchLoaders(self.clients.search) if self.clients.search else None

    def shows(self, keys: Iterable[str]) -> None:
        """Record that this response shows what `keys` name, so a purge of any of them reaches it."""
        self.purge_keys.update(keys)
        if self.response is not None:
            self.response.headers[SURROGATE_KEY] = " ".join(sorted(self.purge_keys))
