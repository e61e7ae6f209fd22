"""`mercato ops top`: what a topology's processes are doing, from two scrapes of their `/metrics`.

A `Snapshot` is one scrape: every sample by (name, labels). `Top` keeps the last two of each process
and turns them into a `Frame`: throughput and errors as rates over the interval between the scrapes,
latency quantiles from the histogram buckets observed in that interval (or, if nothing was observed
in it, over the process's life, and then marked so), order and saga counts, consumer lag and outbox
backlog as they are now, and the anomalies the streaming detector (`ops.watch.Watch`, one per
process) finds active. Rendering is `ops/top_view.py`; this module computes only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

from mercato.ops.watch import Watch

Key = tuple[str, frozenset[tuple[str, str]]]
Match = Callable[[Mapping[str, str]], bool]
ACTIVE_SCORE = 0.5
SERVER_GRPC_CODES = frozenset({"INTERNAL", "UNAVAILABLE", "UNKNOWN", "DEADLINE_EXCEEDED", "DATA_LOSS"})
GRAPHQL_SECONDS = "mercato_graphql_operation_duration_seconds"
GRPC_SECONDS = "mercato_grpc_request_duration_seconds"
# Orders that left the saga, one way or the other: what "in flight" subtracts from "placed".
SETTLED_EVENTS = ("confirmed", "rejected")


@dataclass(frozen=True)
class Snapshot:
    t: float
    samples: dict[Key, float]

    @classmethod
    def parse(cls, t: float, exposition: str) -> Snapshot:
        samples: dict[Key, float] = {}
        for family in text_string_to_metric_families(exposition):
            for sample in family.samples:
                samples[(sample.name, frozenset(sample.labels.items()))] = float(sample.value)
        return cls(t, samples)

    def total(self, name: str, match: Match | None = None) -> float:
        return sum(v for (n, labels), v in self.samples.items() if n == name and _ok(labels, match))

    def by(self, name: str, label: str, match: Match | None = None) -> dict[str, float]:
        out: dict[str, float] = {}
        for (n, labels), value in self.samples.items():
            if n == name and _ok(labels, match):
                key = dict(labels).get(label, "")
                out[key] = out.get(key, 0.0) + value
        return out

    def has(self, name: str) -> bool:
        return any(n == name for n, _ in self.samples)


def _ok(labels: frozenset[tuple[str, str]], match: Match | None) -> bool:
    return match is None or match(dict(labels))


@dataclass(frozen=True)
class Latency:
    p50: float | None
    p99: float | None
    lifetime: bool  # nothing observed in the interval: quantiles over the process's life


@dataclass(frozen=True)
class ProcessRow:
    url: str
    error: str | None = None
    graphql_per_s: float = 0.0
    grpc_per_s: float = 0.0
    errors_per_s: float = 0.0
    latency: Latency | None = None
    in_flight: float = 0.0


@dataclass(frozen=True)
class OperationRow:
    kind: str
    field: str
    per_s: float
    errors_per_s: float
    latency: Latency


@dataclass(frozen=True)
class Anomaly:
    url: str
    series: str
    value: float
    expected: float
    score: float


@dataclass
class Frame:
    interval: float | None  # seconds between the two scrapes the rates come from; None: one scrape
    processes: list[ProcessRow] = field(default_factory=list)
    operations: list[OperationRow] = field(default_factory=list)
    orders_per_min: dict[str, float] = field(default_factory=dict)
    orders_total: dict[str, float] = field(default_factory=dict)
    in_flight_orders: float = 0.0
    checkouts: dict[str, float] = field(default_factory=dict)  # answered, by status, since start
    rejections: dict[str, float] = field(default_factory=dict)
    stuck: dict[str, float] = field(default_factory=dict)  # sagas stuck, by the step they await
    parked: dict[str, float] = field(default_factory=dict)  # sagas parked for a person, by step
    consumers: list[tuple[str, str, float]] = field(default_factory=list)  # stream, durable, lag
    deliveries: dict[str, tuple[float, float]] = field(default_factory=dict)  # redelivered, dead letters
    outboxes: list[tuple[str, float, float]] = field(default_factory=list)  # context, pending, age
    anomalies: list[Anomaly] = field(default_factory=list)


class Top:
    """The last two scrapes of every process, and a detector per process."""

    def __init__(self, urls: Iterable[str]) -> None:
        self.urls = list(urls)
        self._last: dict[str, Snapshot] = {}
        self._previous: dict[str, Snapshot] = {}
        self._errors: dict[str, str] = {}
        self._watches = {url: Watch() for url in self.urls}

    def feed(self, url: str, t: float, exposition: str | None, error: str | None = None) -> None:
        if exposition is None:
            self._errors[url] = error or "no answer"
            return
        self._errors.pop(url, None)
        if url in self._last:
            self._previous[url] = self._last[url]
        self._last[url] = Snapshot.parse(t, exposition)
        self._watches[url].feed(t, exposition)

    def frame(self) -> Frame:
        gaps = [self._last[u].t - self._previous[u].t for u in self._previous if u in self._last]
        frame = Frame(interval=max(gaps) if gaps else None)
        for url in self.urls:
            frame.processes.append(self._process(url))
        live = [
            (self._previous.get(u), self._last[u])
            for u in self.urls
            if u in self._last and u not in self._errors
        ]
        frame.operations = _operations(live)
        _business(frame, live)
        _broker(frame, [now for _, now in live])
        for url in self.urls:
            for series, (value, reading) in sorted(self._watches[url].last.items()):
                if reading.score >= ACTIVE_SCORE:
                    frame.anomalies.append(Anomaly(url, series, value, reading.expected, reading.score))
        return frame

    def _process(self, url: str) -> ProcessRow:
        if url in self._errors or url not in self._last:
            return ProcessRow(url, error=self._errors.get(url, "not scraped yet"))
        now, before = self._last[url], self._previous.get(url)
        histogram = GRAPHQL_SECONDS if now.has(f"{GRAPHQL_SECONDS}_count") else GRPC_SECONDS
        return ProcessRow(
            url,
            graphql_per_s=_rate(before, now, "mercato_graphql_operations_total"),
            grpc_per_s=_rate(before, now, "mercato_grpc_requests_total"),
            errors_per_s=_rate(
                before, now, "mercato_graphql_operations_total", lambda lb: lb.get("outcome") == "error"
            )
            + _rate(
                before, now, "mercato_grpc_requests_total", lambda lb: lb.get("code") in SERVER_GRPC_CODES
            ),
            latency=_latency([(before, now)], histogram),
            in_flight=now.total("mercato_http_requests_in_flight")
            + now.total("mercato_grpc_requests_in_flight"),
        )


def _rate(before: Snapshot | None, now: Snapshot, name: str, match: Match | None = None) -> float:
    if before is None or now.t <= before.t:
        return 0.0
    # A counter lower than before: the process restarted; its count since then is the increase.
    after, earlier = now.total(name, match), before.total(name, match)
    return (after - earlier if after >= earlier else after) / (now.t - before.t)


def _latency(
    pairs: list[tuple[Snapshot | None, Snapshot]], histogram: str, match: Match | None = None
) -> Latency:
    """p50 and p99 over the interval's observations of every process, else over their lives."""
    interval: dict[float, float] = {}
    lifetime: dict[float, float] = {}
    for before, now in pairs:
        for le, count in _buckets(now, histogram, match).items():
            lifetime[le] = lifetime.get(le, 0.0) + count
            earlier = _buckets(before, histogram, match).get(le, 0.0) if before is not None else count
            interval[le] = interval.get(le, 0.0) + max(0.0, count - earlier)
    if interval.get(math.inf, 0.0) > 0:
        return Latency(_quantile(0.5, interval), _quantile(0.99, interval), lifetime=False)
    return Latency(_quantile(0.5, lifetime), _quantile(0.99, lifetime), lifetime=True)


def _buckets(snapshot: Snapshot, histogram: str, match: Match | None) -> dict[float, float]:
    out: dict[float, float] = {}
    for (name, labels), value in snapshot.samples.items():
        if name == f"{histogram}_bucket" and _ok(labels, match):
            le = float(dict(labels)["le"])
            out[le] = out.get(le, 0.0) + value
    return out


def _quantile(q: float, buckets: Mapping[float, float]) -> float | None:
    """Prometheus' histogram_quantile: linear within the bucket the rank falls in."""
    total = buckets.get(math.inf, 0.0)
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for bound in sorted(buckets):
        count = buckets[bound]
        if count >= rank:
            if bound == math.inf:
                return lower
            return lower + (bound - lower) * (rank - below) / (count - below) if count > below else bound
        lower, below = bound, count
    return None


def _operations(live: list[tuple[Snapshot | None, Snapshot]], limit: int = 12) -> list[OperationRow]:
    fields: set[tuple[str, str]] = set()
    for _, now in live:
        for name, labels in now.samples:
            if name == "mercato_graphql_operations_total":
                values = dict(labels)
                fields.add((values.get("type", ""), values.get("field", "")))
    rows = []
    for kind, name in fields:

        def match(lb: Mapping[str, str], kind: str = kind, name: str = name) -> bool:
            return lb.get("type") == kind and lb.get("field") == name

        def failed(lb: Mapping[str, str], match: Match = match) -> bool:
            return match(lb) and lb.get("outcome") == "error"

        total = "mercato_graphql_operations_total"
        rows.append(
            OperationRow(
                kind,
                name,
                sum(_rate(before, now, total, match) for before, now in live),
                sum(_rate(before, now, total, failed) for before, now in live),
                _latency(live, GRAPHQL_SECONDS, match),
            )
        )
    rows.sort(key=lambda r: (-r.per_s, r.kind, r.field))
    return rows[:limit]


def _business(frame: Frame, live: list[tuple[Snapshot | None, Snapshot]]) -> None:
    for before, now in live:
        for event, total in now.by("mercato_orders_total", "event").items():
            frame.orders_total[event] = frame.orders_total.get(event, 0.0) + total

            def step(lb: Mapping[str, str], event: str = event) -> bool:
                return lb.get("event") == event

            rate = _rate(before, now, "mercato_orders_total", step) * 60
            frame.orders_per_min[event] = frame.orders_per_min.get(event, 0.0) + rate
        for status, count in now.by("mercato_checkout_duration_seconds_count", "status").items():
            frame.checkouts[status] = frame.checkouts.get(status, 0.0) + count
        for reason, count in now.by("mercato_orders_rejected_total", "reason").items():
            frame.rejections[reason] = frame.rejections.get(reason, 0.0) + count
    # Sampled from orders.sagas by every orders replica alike: the largest value, not the sum.
    for _, now in live:
        for name, into in (("mercato_sagas_stuck", frame.stuck), ("mercato_sagas_parked", frame.parked)):
            for awaited, count in now.by(name, "step").items():
                into[awaited] = max(into.get(awaited, 0.0), count)
        settled = sum(frame.orders_total.get(e, 0.0) for e in SETTLED_EVENTS)
    frame.in_flight_orders = max(0.0, frame.orders_total.get("placed", 0.0) - settled)


def _broker(frame: Frame, snapshots: list[Snapshot]) -> None:
    # Every replica reports the same durable consumer and outbox: the largest value, not the sum.
    lag: dict[tuple[str, str], float] = {}
    for now in snapshots:
        for (name, labels), value in now.samples.items():
            if name == "mercato_consumer_pending_messages":
                values = dict(labels)
                key = (values.get("stream", ""), values.get("consumer", ""))
                lag[key] = max(lag.get(key, 0.0), value)
    frame.consumers = [(stream, durable, value) for (stream, durable), value in sorted(lag.items())]
    # Redeliveries and dead letters are counted by the process that received them: summed.
    deliveries: dict[str, list[float]] = {}
    for now in snapshots:
        for column, name in enumerate(
            ("mercato_consumer_redeliveries_total", "mercato_consumer_dead_letters_total")
        ):
            for consumer, total in now.by(name, "consumer").items():
                deliveries.setdefault(consumer, [0.0, 0.0])[column] += total
    frame.deliveries = {consumer: (row[0], row[1]) for consumer, row in sorted(deliveries.items())}
    pending: dict[str, float] = {}
    age: dict[str, float] = {}
    for now in snapshots:
        for context, value in now.by("mercato_outbox_pending_events", "context").items():
            pending[context] = max(pending.get(context, 0.0), value)
        for context, value in now.by("mercato_outbox_oldest_pending_age_seconds", "context").items():
            age[context] = max(age.get(context, 0.0), value)
    frame.outboxes = [(c, pending[c], age.get(c, 0.0)) for c in sorted(pending)]
