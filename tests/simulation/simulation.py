"""One seed of the deterministic simulation: a shop's checkouts through the real saga, with a
seeded scheduler choosing every delivery, fault and crash (tests only; docs/reliability.md).

Per seed, from `random.Random(seed)` alone: the stock, the orders (their lines, cards, when they
are placed; some retried, cancelled or partly refunded by staff), and the fault rates. Then, step by
step, the scheduler picks one ready thing at random — a message delivery to a consumer, an outbox
row for its relay, a client request, a sweeper's tick — which reorders messages; while faults are
on (the first `FAULT_SECONDS` of virtual time, at most `FAULTY_ATTEMPTS` faulty deliveries of a
message), it also drops a delivery (redelivered after the ack wait, as JetStream does), duplicates
it (delivered again later, as after a relay that re-published past the broker's dedup window),
delays it, makes the provider fail or lose its answer, and crashes the process at a chosen crash
point: any statement or commit of any transaction, the provider call, or the ack after a commit.
When nothing is ready the virtual clock jumps to the next due thing; the run ends once the system
is quiet (`quiet`), and the invariants are checked (`checks`).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from mercato.inventory.domain.commands import AdjustStock, CreateWarehouse, ExpireReservations
from mercato.orders.domain.commands import CancelOrder, ExpireSagas, PlaceOrder, RefundOrder
from mercato.orders.domain.model import order_id_for
from mercato.payments.domain.operations import OperationStatus
from mercato.platform.errors import ClientError, Unavailable
from mercato.platform.events import Envelope
from mercato.platform.postal import PostalAddress
from mercato.platform.types import Money
from tests.simulation.faults import FAULT_SECONDS, FaultRates, Stats
from tests.simulation.memory import Crash
from tests.simulation.world import World

FAULTY_ATTEMPTS = 3  # deliveries of one message that may be faulty; later ones go through
ACK_WAIT = timedelta(seconds=10)  # JetStream redelivers an unacknowledged message after this
MAX_DELIVERIES = 10  # then the consumer parks it (a dead letter)
MAX_STEPS = 5_000
CRASH_POINTS = 16  # a crash is armed at point 1..CRASH_POINTS of the step (later: the step survives)
ADDRESS = PostalAddress(first_name="Sim", last_name="Shopper", line1="1 Main St", city="Lyon", country="FR")
PRICES = {"SKU-A": 1_000, "SKU-B": 2_500, "SKU-C": 499}
# No `tok_provider_error`: a card the provider errors on for ever leaves its operation to a person
# (item 7), not something the system recovers from; transient provider faults come from `FaultyProvider`.
CARDS = ("tok_success",) * 8 + ("tok_decline", "tok_insufficient_funds")
_IDS = uuid.UUID("0c6b8d1e-5d43-4a8f-9b0e-2f1a7c3d9e55")


@dataclass
class Delivery:
    consumer: int  # index in `World.consumers`
    envelope: Envelope
    due: datetime
    seq: int
    attempt: int = 1


@dataclass
class Timed:
    """A client request or a sweeper tick, due at `due`."""

    label: str
    due: datetime
    run: Callable[[], Awaitable[None]]
    seq: int
    period: timedelta | None = None  # a sweeper: due again after this


class Simulation:
    def __init__(self, seed: int, *, without_inbox: frozenset[str] = frozenset()) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.rates = FaultRates.draw(self.rng)
        self.world = World(self._provider_fault)
        self.clock = self.world.clock
        self.without_inbox = without_inbox  # consumers whose inbox is switched off (a planted bug)
        self.deliveries: list[Delivery] = []
        self.timed: list[Timed] = []
        self.trace: list[str] = []
        self.errors: list[str] = []  # what a handler, request or sweeper raised that it must not
        self.stats = Stats()
        self.order_ids: dict[uuid.UUID, int] = {}
        self.carts: dict[uuid.UUID, uuid.UUID] = {}  # order -> cart
        self.initial: dict[tuple[str, uuid.UUID], int] = {}
        self._seq = 0

    # -- faults ------------------------------------------------------------------------------

    @property
    def faulty(self) -> bool:
        return self.clock.monotonic() < FAULT_SECONDS

    def _provider_fault(self) -> str | None:
        outage, now = self.rates.outage, self.clock.monotonic()
        if outage is not None and outage[0] <= now < outage[1]:
            self.stats.provider_faults += 1
            return "unavailable"
        if not self.faulty or self.rng.random() >= self.rates.provider:
            return None
        self.stats.provider_faults += 1
        return self.rng.choice(("unavailable", "answer_lost"))

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def _log(self, text: str) -> None:
        self.trace.append(f"{self.clock.monotonic():8.1f}s {text}")

    # -- the shop ------------------------------------------------------------------------------

    async def setup(self) -> None:
        inventory = self.world.inventory
        warehouses = [
            (await inventory.handle(CreateWarehouse(code=f"warehouse-{n}", name=f"Warehouse {n}"))).id
            for n in range(self.rng.randint(1, 2))
        ]
        skus = sorted(PRICES)[: self.rng.randint(1, 3)]
        for sku in skus:
            for warehouse in warehouses:
                units = self.rng.randint(0, 3)
                self.initial[(sku, warehouse)] = units
                if units:
                    await inventory.handle(
                        AdjustStock(
                            sku=sku, warehouse_id=warehouse, reason="RECEIVED", actor="sim", delta=units
                        )
                    )
        for n in range(self.rng.randint(1, 5)):
            self._plan_order(n, skus)
        self._every("saga sweeper", timedelta(seconds=5), self._sweep_sagas)
        self._every("pending payments sweeper", timedelta(seconds=10), self._sweep_payments)
        self._every("reservation expiry", timedelta(seconds=60), self._sweep_reservations)

    def _plan_order(self, n: int, skus: list[str]) -> None:
        customer = uuid.uuid5(_IDS, f"customer-{n % 3}")
        chosen = sorted(self.rng.sample(skus, self.rng.randint(1, len(skus))))
        lines = [(sku, self.rng.randint(1, 2)) for sku in chosen]
        cart = self.world.cart_store.put(customer, dict(lines), self.clock())
        key = f"checkout-{n}"
        order_id = order_id_for(customer, key)
        self.order_ids[order_id] = n
        self.carts[order_id] = cart.id
        priced = [(sku, q, Money(PRICES[sku], "EUR")) for sku, q in lines]
        total = Money(sum(q * PRICES[sku] for sku, q in lines), "EUR")
        place = PlaceOrder(customer, key, cart.id, priced, total, ADDRESS, self.rng.choice(CARDS))
        at = timedelta(seconds=self.rng.uniform(0, 20))
        self._request(f"place o{n}", at, place)
        if self.rng.random() < 0.2:  # the shopper presses the button again
            self._request(f"place o{n} again", at + timedelta(seconds=self.rng.uniform(0, 60)), place)
        if self.rng.random() < 0.25:
            cancel = CancelOrder(order_id, actor="customer", reason="changed my mind", customer_id=customer)
            self._request(f"cancel o{n}", at + timedelta(seconds=self.rng.uniform(0, 90)), cancel)
        if self.rng.random() < 0.2:
            part = Money(self.rng.randint(1, PRICES[chosen[0]]), "EUR")
            refund = RefundOrder(order_id, part, idempotency_key=f"refund-{n}", actor="staff")
            self._request(f"refund o{n}", at + timedelta(seconds=self.rng.uniform(0, 120)), refund)

    def _request(self, label: str, at: timedelta, cmd: object) -> None:
        async def send() -> None:
            try:
                await self.world.orders.handle(cmd)  # type: ignore[call-overload]
            except ClientError as exc:  # refused (a cancel too late, a refund of an unpaid order)
                self._log(f"{label} refused: {exc.code_name}")

        self.timed.append(Timed(label, self.clock() + at, send, self._next()))

    def _every(self, label: str, period: timedelta, run: Callable[[], Awaitable[None]]) -> None:
        self.timed.append(Timed(label, self.clock() + period, run, self._next(), period))

    async def _sweep_sagas(self) -> None:
        await self.world.orders.handle(ExpireSagas(now=self.clock(), limit=100))

    async def _sweep_payments(self) -> None:
        await self.world.payments.resolve_pending()

    async def _sweep_reservations(self) -> None:
        await self.world.inventory.handle(ExpireReservations(now=self.clock(), limit=100))

    # -- the run ---------------------------------------------------------------------------

    async def run(self) -> None:
        await self.setup()
        self._publish_all()  # the setup's events (stock levels): nobody in the saga listens
        while self.stats.steps < MAX_STEPS:
            ready = self._ready()
            if not ready:
                if self.quiet():
                    return
                self.clock.advance_to(self._next_due())
                continue
            self.stats.steps += 1
            await self._perform(self.rng.choice(ready))
        self.errors.append(f"not quiet after {MAX_STEPS} steps")

    def _ready(self) -> list[object]:
        now = self.clock()
        ready: list[object] = [d for d in self.deliveries if d.due <= now]
        ready += [name for name, db in self.world.dbs.items() if db.unpublished]
        ready += [t for t in self.timed if t.due <= now]
        return ready

    def _next_due(self) -> datetime:
        return min([d.due for d in self.deliveries] + [t.due for t in self.timed])

    def quiet(self) -> bool:
        """Nothing in flight, nothing requested still to come, no saga waiting on a deadline, no
        payment operation pending."""
        if self.deliveries or any(db.unpublished for db in self.world.dbs.values()):
            return False
        if any(t.period is None for t in self.timed):
            return False
        tables = self.world.dbs
        if any(s.deadline is not None for s in tables["orders"].tables["sagas"].values()):
            return False
        return not any(
            r.operation.status is OperationStatus.PENDING
            for r in tables["payments"].tables["operations"].values()
        )

    async def _perform(self, action: object) -> None:
        if isinstance(action, Delivery):
            await self._deliver(action)
        elif isinstance(action, Timed):
            await self._tick(action)
        else:
            assert isinstance(action, str)
            self._relay(action)

    def _arm(self) -> None:
        crash = self.faulty and self.rng.random() < self.rates.crash
        self.world.points.arm(self.rng.randint(1, CRASH_POINTS) if crash else None)

    def _crashed(self, label: str) -> None:
        self.world.restarted()
        point = self.world.points.fired or "?"
        self.stats.crashes[point] += 1
        self._log(f"{label}: CRASH at {point}")

    async def _tick(self, timed: Timed) -> None:
        if timed.period is None:
            self.timed.remove(timed)
        else:
            timed.due = self.clock() + timed.period
        self._arm()
        try:
            await timed.run()
            self._log(timed.label)
        except Crash:
            self._crashed(timed.label)
            if timed.period is None:  # the client saw no answer: it retries the same request
                retry = self.clock() + timedelta(seconds=self.rng.uniform(1, 5))
                self.timed.append(Timed(timed.label + " (retry)", retry, timed.run, self._next()))
        except Unavailable as exc:
            self._log(f"{timed.label}: {type(exc).__name__}")
        except Exception as exc:  # noqa: BLE001 - any other error is what the simulation looks for
            self.errors.append(f"{timed.label} raised {exc!r}")
        finally:
            self.world.points.arm(None)

    def _relay(self, context: str) -> None:
        """The relay publishes the context's oldest unpublished row to every consumer of it; it may
        crash before marking it published, and publish it again later."""
        db = self.world.dbs[context]
        row = db.unpublished.pop(0)
        envelope = Envelope.from_json(row.body)
        again = self.faulty and self.rng.random() < self.rates.relay_again
        if again:
            db.unpublished.append(row)
        self._log(
            f"relay {envelope.type} {self._about(envelope)}{' (publishes it again later)' if again else ''}"
        )
        for index, consumer in enumerate(self.world.consumers):
            handles = consumer.handlers if consumer.handlers is not None else consumer.listener
            if consumer.source == envelope.context and handles and envelope.type in handles:
                self.deliveries.append(Delivery(index, envelope, self._delayed(), self._next()))

    def _publish_all(self) -> None:
        for db in self.world.dbs.values():
            db.unpublished.clear()

    def _delayed(self) -> datetime:
        delay = self.rng.uniform(0, self.rates.delay_seconds) if self.faulty else 0.0
        return self.clock() + timedelta(seconds=delay)

    def _about(self, envelope: Envelope) -> str:
        p = envelope.payload
        for field_name in ("order_id", "reference", "order_reference"):
            try:
                n = self.order_ids.get(uuid.UUID(str(p.get(field_name))))
            except ValueError:
                continue
            if n is not None:
                return f"o{n}"
        return "-"

    async def _deliver(self, d: Delivery) -> None:
        self.deliveries.remove(d)
        self.stats.deliveries += 1
        consumer = self.world.consumers[d.consumer]
        label = f"{consumer.name} <- {d.envelope.type} {self._about(d.envelope)} #{d.attempt}"
        if self.faulty and d.attempt <= FAULTY_ATTEMPTS:
            draw = self.rng.random()
            if draw < self.rates.drop:
                self.stats.dropped += 1
                self._log(f"{label}: dropped")
                self._redeliver(d)
                return
            if draw < self.rates.drop + self.rates.duplicate:
                self.stats.duplicated += 1
                self.deliveries.append(
                    Delivery(d.consumer, d.envelope, self._delayed(), self._next(), d.attempt)
                )
                label += " (duplicated)"
        self._arm()
        try:
            await self._apply(d)
            self.world.points.point("consumer.ack")  # a crash here: committed, the ack is lost
            self._log(label)
        except Crash:
            self._crashed(label)
            self._redeliver(d)
        except Unavailable as exc:
            self._log(f"{label}: {type(exc).__name__}, nak")
            self._redeliver(d)
        except Exception as exc:  # noqa: BLE001 - any other error is what the simulation looks for
            self.errors.append(f"{label} raised {exc!r}")
        finally:
            self.world.points.arm(None)

    def _redeliver(self, d: Delivery) -> None:
        if d.attempt >= MAX_DELIVERIES:
            self.stats.parked += 1
            self.errors.append(
                f"parked after {d.attempt} deliveries: {d.envelope.type} {self._about(d.envelope)}"
            )
            return
        self.deliveries.append(
            Delivery(d.consumer, d.envelope, self.clock() + ACK_WAIT, self._next(), d.attempt + 1)
        )

    async def _apply(self, d: Delivery) -> None:
        """What a durable consumer does with one message: its inbox row and its handler in one unit of
        work, committed (or the listener's idempotent handler, for the cart)."""
        consumer = self.world.consumers[d.consumer]
        if consumer.listener is not None:
            await consumer.listener[d.envelope.type](d.envelope)
            return
        assert consumer.handlers is not None and consumer.uow is not None and consumer.memory is not None
        async with consumer.uow() as uow:
            consumer.memory.statement("inbox.claim")
            key = (consumer.name, d.envelope.id)
            first = uow.conn.get("inbox", key) is None or consumer.name in self.without_inbox
            if first:
                uow.conn.put("inbox", key, self.clock())
                await consumer.handlers[d.envelope.type](d.envelope, uow)
            await uow.commit()
