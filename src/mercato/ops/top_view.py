"""A `top.Frame` as Rich tables: processes, GraphQL operations, orders and sagas, broker, anomalies."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from mercato.ops.top import Frame, Latency


def render(frame: Frame) -> RenderableType:
    over = f"rates over the last {frame.interval:.1f} s" if frame.interval else "one scrape: no rates yet"
    parts: list[RenderableType] = [
        Text(f"mercato ops top — {len(frame.processes)} processes, {over}", style="bold")
    ]
    parts += [_processes(frame), _operations(frame), _orders(frame), _broker(frame), _anomalies(frame)]
    return Group(*parts)


def _processes(frame: Frame) -> Table:
    table = Table(title="Processes", title_justify="left", expand=True)
    for column in ("process", "GraphQL/s", "gRPC/s", "errors/s", "p50", "p99", "in flight"):
        table.add_column(column, justify="left" if column == "process" else "right")
    for row in frame.processes:
        if row.error is not None:
            down = Text(row.url)
            down.append(f" down: {row.error}", style="red")
            table.add_row(down, "-", "-", "-", "-", "-", "-")
            continue
        p50, p99 = _quantiles(row.latency)
        errors = Text(_num(row.errors_per_s), style="red" if row.errors_per_s > 0 else "")
        table.add_row(
            row.url, _num(row.graphql_per_s), _num(row.grpc_per_s), errors, p50, p99, _num(row.in_flight)
        )
    return table


def _operations(frame: Frame) -> Table:
    table = Table(title="GraphQL operations (by first root field)", title_justify="left", expand=True)
    for column in ("operation", "per s", "errors/s", "p50", "p99"):
        table.add_column(column, justify="left" if column == "operation" else "right")
    for row in frame.operations:
        p50, p99 = _quantiles(row.latency)
        table.add_row(f"{row.kind} {row.field}", _num(row.per_s), _num(row.errors_per_s), p50, p99)
    if not frame.operations:
        table.add_row("none yet", "", "", "", "")
    return table


def _orders(frame: Frame) -> Table:
    table = Table(title="Orders and sagas", title_justify="left", expand=True)
    table.add_column("step")
    table.add_column("per min", justify="right")
    table.add_column("since start", justify="right")
    for event in sorted(frame.orders_total):
        table.add_row(event, _num(frame.orders_per_min.get(event, 0.0)), _count(frame.orders_total[event]))
    table.add_row(
        Text("in flight (placed, not yet confirmed or rejected)", style="bold"),
        "",
        _count(frame.in_flight_orders),
    )
    for step, count in sorted(frame.stuck.items()):
        table.add_row(Text(f"stuck at {step}", style="red" if count else ""), "", _count(count))
    for step, count in sorted(frame.parked.items()):
        table.add_row(f"parked at {step} (for a person)", "", _count(count))
    for status, count in sorted(frame.checkouts.items()):
        table.add_row(f"checkout answered {status}", "", _count(count))
    for reason, count in sorted(frame.rejections.items(), key=lambda item: -item[1])[:5]:
        table.add_row(f"rejected: {reason}", "", _count(count))
    return table


def _broker(frame: Frame) -> Table:
    table = Table(title="Broker and outboxes", title_justify="left", expand=True)
    table.add_column("what")
    table.add_column("lag / pending", justify="right")
    table.add_column("redelivered / oldest", justify="right")
    table.add_column("dead letters", justify="right")
    for stream, durable, lag in frame.consumers:
        table.add_row(f"consumer {durable} ({stream})", _count(lag), "", "")
    for consumer, (redelivered, dead) in frame.deliveries.items():
        style = "red" if dead > 0 else ""
        table.add_row(f"deliveries {consumer}", "", _count(redelivered), Text(_count(dead), style=style))
    for context, pending, age in frame.outboxes:
        table.add_row(f"outbox {context}", _count(pending), f"{age:.1f} s", "")
    if not (frame.consumers or frame.deliveries or frame.outboxes):
        table.add_row("none", "", "", "")
    return table


def _anomalies(frame: Frame) -> RenderableType:
    if not frame.anomalies:
        return Text("Anomalies: none active (the detector needs about 50 scrapes of history first)")
    table = Table(title="Active anomalies", title_justify="left", expand=True)
    for column in ("process", "series", "now", "normal", "score"):
        table.add_column(column, justify="left" if column in ("process", "series") else "right")
    for a in frame.anomalies:
        table.add_row(a.url, a.series, _num(a.value), _num(a.expected), Text(f"{a.score:.2f}", style="red"))
    return table


def _quantiles(latency: Latency | None) -> tuple[str, str]:
    if latency is None:
        return "", ""
    mark = "*" if latency.lifetime else ""  # since the process started: nothing in the interval
    return _seconds(latency.p50, mark), _seconds(latency.p99, mark)


def _seconds(value: float | None, mark: str) -> str:
    if value is None:
        return "-"
    return (f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s") + mark


def _num(value: float) -> str:
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"


def _count(value: float) -> str:
    return f"{value:.0f}"
