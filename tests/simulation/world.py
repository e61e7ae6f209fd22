"""The contexts of the checkout saga wired in one process on memory stores and a virtual clock
(tests only): the real services (`OrdersService`, `InventoryService`, `PaymentsService` with the
sandbox provider, the cart's handlers), the real consumers' handlers (`orders.entrypoints.saga`,
both participants' `saga_subscription`, the cart's `order_events`), and in front of the provider a
double that fails when the scheduler says so.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

from mercato.cart.domain.model import CartLimits
from mercato.cart.entrypoints.consumers import order_events
from mercato.cart.service_layer.dispatch import COMMAND_HANDLERS as CART_HANDLERS
from mercato.cart.service_layer.ports import CartDeps
from mercato.inventory.bootstrap import InventoryService, inventory_outbox
from mercato.inventory.entrypoints.saga_commands import saga_subscription as inventory_saga
from mercato.inventory.service_layer.unit_of_work import InventoryUnitOfWork
from mercato.orders.bootstrap import OrdersService, orders_outbox
from mercato.orders.domain.saga_types import SagaPolicy
from mercato.orders.entrypoints.saga import subscriptions as orders_saga
from mercato.orders.service_layer.unit_of_work import OrdersUnitOfWork
from mercato.payments.adapters.sandbox import SandboxProvider
from mercato.payments.bootstrap import PaymentsService, payments_outbox
from mercato.payments.domain.breaker import BreakerSettings, BreakerState, CircuitBreaker
from mercato.payments.domain.provider import ProviderResult, ProviderUnavailable
from mercato.payments.entrypoints.saga_commands import saga_subscription as payments_saga
from mercato.payments.service_layer.operations import OperationRunner, PaymentsDeps, RunnerSettings
from mercato.payments.service_layer.unit_of_work import PaymentsUnitOfWork
from mercato.platform.events import Envelope
from mercato.platform.inbox import Handler
from mercato.platform.types import Money
from tests.simulation.memory import Crash, CrashPoints, MemoryDatabase, MemoryUnitOfWork
from tests.simulation.payments_store import MemoryPaymentsStore
from tests.simulation.stores import MemoryCartStore, MemoryInventoryStore, MemoryOrdersStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NAMESPACE = "sim"


class VirtualClock:
    """The one clock of the simulation: moved by the scheduler only."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return (self.now - T0).total_seconds()

    def advance_to(self, when: datetime) -> None:
        self.now = max(self.now, when)


class SimOrdersUnitOfWork(OrdersUnitOfWork, MemoryUnitOfWork):
    pass


class SimInventoryUnitOfWork(InventoryUnitOfWork, MemoryUnitOfWork):
    pass


class SimPaymentsUnitOfWork(PaymentsUnitOfWork, MemoryUnitOfWork):
    """Payments' unit of work on memory. A dead process frees no lease: after a `Crash` the leases
    its outcomes held stay until they run out, as they would."""

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None and issubclass(exc_type, Crash):
            self._leases = []
        await super().__aexit__(exc_type, exc, tb)

    async def _release(self, leases: list[tuple[uuid.UUID, uuid.UUID | None]]) -> None:
        if not leases:
            return
        tx = self.memory.begin()
        await MemoryPaymentsStore(tx, self.clock).release_all(leases, "the outcome's transaction rolled back")
        tx.commit()


class SimRunner(OperationRunner):
    """The real runner; only its wait for someone else's lease passes in virtual time (the holder
    is a process that died: nothing else runs meanwhile, the lease simply runs out)."""

    clock: VirtualClock

    async def _wait(self, operation_id: uuid.UUID, deadline: float) -> None:
        async with self.unit_of_work() as uow:
            current = await uow.store.operation(operation_id)
        if current is not None and current.leased:
            self.clock.advance_to(self.clock.now + timedelta(seconds=self.settings.lease_seconds))


class FaultyProvider:
    """The sandbox behind a double that, when `fault()` says so, fails a call before it reaches the
    sandbox (nothing charged) or loses the answer after it (charged, the caller never knows), or
    crashes the process around the call."""

    def __init__(
        self, sandbox: SandboxProvider, fault: Callable[[], str | None], points: CrashPoints
    ) -> None:
        self.sandbox = sandbox
        self.fault = fault
        self.points = points
        self.calls = 0

    @property
    def name(self) -> str:
        return self.sandbox.name

    async def _call(self, call: Callable[[], Any]) -> ProviderResult:
        self.calls += 1
        self.points.point("provider.before_call")
        kind = self.fault()
        if kind == "unavailable":
            raise ProviderUnavailable("sandbox unreachable (simulated)")
        result: ProviderResult = await call()
        self.points.point("provider.after_call")  # charged, and the process dies before it knows
        if kind == "answer_lost":
            raise ProviderUnavailable("the sandbox's answer was lost (simulated)")
        return result

    async def authorize(self, token: str, amount: Money, reference: str) -> ProviderResult:
        return await self._call(lambda: self.sandbox.authorize(token, amount, reference))

    async def capture(self, charge: str, amount: Money, reference: str) -> ProviderResult:
        return await self._call(lambda: self.sandbox.capture(charge, amount, reference))

    async def void(self, charge: str, reference: str) -> ProviderResult:
        return await self._call(lambda: self.sandbox.void(charge, reference))

    async def refund(self, charge: str, amount: Money, reference: str) -> ProviderResult:
        return await self._call(lambda: self.sandbox.refund(charge, amount, reference))


class SimOrders(OrdersService):
    memory: MemoryDatabase

    def uow(self) -> OrdersUnitOfWork:
        uow = SimOrdersUnitOfWork(None, self.outbox, None, store=MemoryOrdersStore)  # type: ignore[arg-type]
        uow.memory = self.memory
        return uow


class SimInventory(InventoryService):
    memory: MemoryDatabase

    def unit_of_work(self) -> InventoryUnitOfWork:
        uow = SimInventoryUnitOfWork(None, self.outbox, None, store=MemoryInventoryStore, clock=self.clock)  # type: ignore[arg-type]
        uow.memory = self.memory
        return uow


class SimPayments(PaymentsService):
    memory: MemoryDatabase

    def unit_of_work(self) -> PaymentsUnitOfWork:
        clock = self.clock
        uow = SimPaymentsUnitOfWork(
            None,  # type: ignore[arg-type]
            self.outbox,
            None,
            store=lambda tx: MemoryPaymentsStore(tx, clock),  # type: ignore[arg-type]
            clock=clock,
        )
        uow.memory = self.memory
        return uow


class SimCart:
    """The cart's `handle` (as `CartService.handle`) on a memory store."""

    def __init__(self, store: MemoryCartStore, clock: VirtualClock) -> None:
        self.store = store
        self.deps = CartDeps(
            store=store,  # type: ignore[arg-type]
            catalog=None,  # type: ignore[arg-type]
            limits=CartLimits(max_lines=50, max_quantity=99),
            default_currency="EUR",
            clock=clock,
        )

    async def handle(self, cmd: Any) -> Any:
        return await CART_HANDLERS[type(cmd)](cmd, self.deps)


@dataclass(frozen=True)
class Consumer:
    """A durable consumer: `name`, the context whose events it reads, its handlers, and the unit of
    work its inbox row and handler share (None: the cart's listener, idempotent by itself)."""

    name: str
    source: str
    handlers: dict[str, Handler] | None
    listener: dict[str, Callable[[Envelope], Any]] | None
    uow: Callable[[], Any] | None
    memory: MemoryDatabase | None


class World:
    """Everything one seed runs on."""

    def __init__(self, provider_fault: Callable[[], str | None], policy: SagaPolicy | None = None) -> None:
        self.clock = VirtualClock()
        self.breaker_opened = 0
        self.points = CrashPoints()
        self.policy = policy or SagaPolicy()
        self.dbs = {name: MemoryDatabase(name, self.points) for name in ("orders", "inventory", "payments")}
        self.orders = SimOrders(None, orders_outbox(NAMESPACE), clock=self.clock, policy=self.policy)  # type: ignore[arg-type]
        self.orders.memory = self.dbs["orders"]
        self.inventory = SimInventory(None, inventory_outbox(NAMESPACE), clock=self.clock)  # type: ignore[arg-type]
        self.inventory.memory = self.dbs["inventory"]
        self.provider = FaultyProvider(SandboxProvider(), provider_fault, self.points)
        self.payments = SimPayments(None, payments_outbox(NAMESPACE), self.provider, clock=self.clock)  # type: ignore[arg-type]
        self.payments.memory = self.dbs["payments"]
        runner = SimRunner(
            self.payments.unit_of_work,
            self.provider,
            RunnerSettings(),
            self.payments.vault.token_for,
            self._new_breaker(),
        )
        runner.clock = self.clock
        self.payments.runner = runner
        self.payments.deps = PaymentsDeps(runner=runner)
        self.cart_store = MemoryCartStore()
        self.cart = SimCart(self.cart_store, self.clock)
        self.consumers = self._consumers()

    def _new_breaker(self) -> CircuitBreaker:
        return CircuitBreaker(BreakerSettings(), clock=self.clock.monotonic, on_change=self._breaker_moved)

    def restarted(self) -> None:
        """The process died and came back: what it kept in memory is gone (the breaker, which a
        probe cut short would otherwise keep half-open for ever, and the sandbox's book)."""
        self.payments.runner.breaker = self._new_breaker()
        self.provider.sandbox = SandboxProvider()

    def _breaker_moved(self, state: BreakerState, failures: int, open_seconds: float) -> None:
        if state is BreakerState.OPEN:
            self.breaker_opened += 1

    def _consumers(self) -> list[Consumer]:
        consumers = [
            Consumer(
                f"orders.{s.name}",
                s.source_context,
                s.one_at_a_time(),
                None,
                self.orders.uow,
                self.dbs["orders"],
            )
            for s in orders_saga(self.clock, self.policy)
        ]
        inventory = inventory_saga(self.inventory)
        consumers.append(
            Consumer(
                "inventory.saga_commands",
                "orders",
                inventory.one_at_a_time(),
                None,
                self.inventory.unit_of_work,
                self.dbs["inventory"],
            )
        )
        payments = payments_saga(self.payments)
        consumers.append(
            Consumer(
                "payments.saga_commands",
                "orders",
                payments.one_at_a_time(),
                None,
                self.payments.unit_of_work,
                self.dbs["payments"],
            )
        )
        cart = order_events(self.cart)
        consumers.append(Consumer("cart.orders", "orders", None, dict(cart.handlers), None, None))
        return consumers
