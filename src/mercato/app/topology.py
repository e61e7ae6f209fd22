"""The gRPC topology: every context served over gRPC, and the gateway's clients going through it.

`GrpcTopology` hosts the contexts' gRPC services on a loopback port and builds the gateway's clients on
a channel to it, so the same GraphQL code runs either on the in-process clients or entirely over gRPC
(signed service tokens, the caller's principal as signed metadata, status details for errors).
One process per context (`mercato serve <context>`) reuses these same servicers and clients.
"""

from __future__ import annotations

from typing import Any

from mercato.app.runtime import Runtime
from mercato.cart.entrypoints.grpc_server import registration as cart_service
from mercato.cart.grpc_client import GrpcCartClient
from mercato.catalog.entrypoints.grpc_server import registration as catalog_service
from mercato.catalog.grpc_client import GrpcCatalogClient
from mercato.customers.entrypoints.grpc_server import registration as customers_service
from mercato.customers.grpc_client import GrpcCustomersClient
from mercato.gateway.context import Clients
from mercato.inventory.entrypoints.grpc_server import registration as inventory_service
from mercato.inventory.grpc_client import GrpcInventoryClient
from mercato.orders.entrypoints.grpc_server import registration as orders_service
from mercato.orders.grpc_client import GrpcOrdersClient
from mercato.payments.entrypoints.grpc_server import registration as payments_service
from mercato.platform.grpc.client import CallPolicy, create_channel
from mercato.platform.grpc.server import GrpcServer

GATEWAY = "gateway"


class GrpcTopology:
    def __init__(self, runtime: Runtime, address: str = "127.0.0.1:0") -> None:
        secret = runtime.settings.auth_secret
        self.server = GrpcServer(
            [
                catalog_service(runtime.catalog),
                inventory_service(runtime.inventory),
                cart_service(runtime.cart),
                customers_service(runtime.customers),
                orders_service(runtime.orders),
                payments_service(runtime.payments),
            ],
            secret=secret,
            address=address,
        )
        self._secret = secret
        self._policy = CallPolicy(timeout=runtime.settings.grpc_deadline_seconds)
        self._channel: Any = None

    async def start(self) -> Clients:
        await self.server.start()
        self._channel = create_channel(f"127.0.0.1:{self.server.port}")
        channel, secret, policy = self._channel, self._secret, self._policy
        return Clients(
            catalog=GrpcCatalogClient(channel, service=GATEWAY, secret=secret, policy=policy),
            inventory=GrpcInventoryClient(channel, service=GATEWAY, secret=secret, policy=policy),
            cart=GrpcCartClient(channel, service=GATEWAY, secret=secret, policy=policy),
            customers=GrpcCustomersClient(channel, service=GATEWAY, secret=secret, policy=policy),
            orders=GrpcOrdersClient(channel, service=GATEWAY, secret=secret, policy=policy),
        )

    async def stop(self) -> None:
        if self._channel is not None:
            await self._channel.close()
        await self.server.stop()
