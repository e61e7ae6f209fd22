"""The summary of a fault run: faults by kind, orders, staff actions, recovery and the checks."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from bench.chaos.run import Outcome
from mercato.app.invariants import SETTLED
from mercato.cli_ops import render


def summary(outcome: Outcome, console: Console) -> None:
    options, tally = outcome.options, outcome.tally
    faults = Table("fault", "count", title=f"faults (seed {options.seed})")
    for what, count in sorted(outcome.faults.items()):
        faults.add_row(what, str(count))
    faults.add_row(
        "payment provider (every call)",
        f"{options.provider_error_rate:.0%} errors, {options.provider_timeout_rate:.0%} answers lost, "
        f"{options.provider_latency_ms} ms + 0-{options.provider_jitter_ms} ms",
    )
    scheduled = len(outcome.schedule)
    applied = f"{outcome.applied} of {scheduled}"
    all_applied = outcome.applied == scheduled
    faults.add_row("scheduled faults applied", applied if all_applied else f"[red]{applied}[/]")
    for failure in outcome.heal_failures:
        faults.add_row("[red]heal failed[/]", failure)
    console.print(faults)

    orders = Table(
        "orders", "count", title=f"load: {outcome.load_seconds:.0f} s, {options.shoppers} shoppers + staff"
    )
    orders.add_row("checkouts submitted", str(tally.submitted))
    for what, count in sorted(tally.checkouts.items()):
        orders.add_row(f"  {what}", str(count))
    for what, count in sorted(tally.carts.items()):
        orders.add_row(f"  cart not filled: {what}", str(count))
    orders.add_row("requests sent again (same key)", str(tally.resent))
    settled = sum(n for status, n in outcome.statuses.items() if status.split()[0] in SETTLED)
    orders.add_row("orders in the database", str(sum(outcome.statuses.values())))
    for status, count in sorted(outcome.statuses.items()):
        orders.add_row(f"  {status}", str(count))
    orders.add_row("  settled", str(settled))
    for status, count in sorted(outcome.reservations.items()):
        orders.add_row(f"reservations {status}", str(count))
    for what, count in sorted(tally.staff.items()):
        orders.add_row(f"staff {what}", str(count))
    console.print(orders)

    recovery = Table("recovery", "value")
    median, p99, slowest = outcome.settling
    # The services write those times with their clock: an order placed before a jump and settled
    # after it counts the jump.
    jumped = (
        " (an order across a clock jump counts it)"
        if any(f.kind == "clock" for f in outcome.schedule)
        else ""
    )
    recovery.add_row(
        f"order placed → terminal: median / p99 / max{jumped}", f"{median:.1f} / {p99:.1f} / {slowest:.1f} s"
    )
    recovery.add_row("load ended, faults healed → every service serving", f"{outcome.recovery_seconds:.1f} s")
    terminal = outcome.terminal_seconds
    recovery.add_row(
        "recovery → every order terminal",
        f"{terminal:.1f} s"
        if terminal is not None
        else f"NOT within {options.terminal_within:.0f} s ({outcome.in_flight_left} in flight)",
    )
    console.print(recovery)
    if outcome.report is not None:
        render(outcome.report, console)
    verdict = "[bold green]PASS[/]" if outcome.ok else "[bold red]FAIL[/]"
    violations = len(outcome.report.violations) if outcome.report is not None else "?"
    unapplied = "" if outcome.every_fault_applied else f", faults applied {applied}"
    unhealed = f", {len(outcome.heal_failures)} heal(s) failed" if outcome.heal_failures else ""
    console.print(f"{verdict}: {violations} violations{unapplied}{unhealed}; replay: {options.command()}")
    if outcome.log_dir is not None:
        console.print(f"services' logs kept in {outcome.log_dir}", highlight=False)
