"""`mercato verify` and `mercato ops` as an operator runs them, on a database and a namespace of their
own: dead letters listed and replayed (published again, dropped, audited), stuck sagas listed and
driven on (audited), the checker's table and exit code."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import text

from mercato.app.contexts import MIGRATIONS
from mercato.orders.domain.saga import begin
from mercato.orders.domain.saga_codec import to_document
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.engines import EngineUrls
from mercato.platform.messaging import Broker
from mercato.platform.migrations import migrate
from mercato.platform.types import Money
from tests.conftest import own_database
from tests.e2e.test_cli import run
from tests.integration.test_invariants import plant_order


@dataclass
class Own:
    settings: Settings
    db: Database
    broker: Broker
    data_dir: Path


@pytest.fixture
async def own(engine_urls: EngineUrls, settings: Settings, tmp_path: Path) -> AsyncIterator[Own]:
    namespace = f"ops{secrets.token_hex(3)}"
    async with own_database(engine_urls, namespace) as url:
        db = Database(url, pool_size=2)
        await migrate(db, MIGRATIONS)
        broker = Broker(engine_urls.nats, namespace)
        await broker.connect()
        mine = settings.model_copy(update={"namespace": namespace, "database_url": url})
        try:
            yield Own(mine, db, broker, tmp_path / "data")
        finally:
            await broker.delete_streams()
            await broker.close()
            await db.dispose()


def audit_lines(data_dir: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (data_dir / "ops-audit.jsonl").read_text().splitlines()]


async def test_a_dead_letter_is_listed_then_replayed_once_and_audited(own: Own) -> None:
    event_id = uuid.uuid4()
    subject = f"{own.settings.namespace}.orders.v1.capture_payment_requested"
    body = orjson.dumps({"id": str(event_id), "type": "orders.capture_payment_requested", "payload": {}})
    stream = await own.broker.ensure_stream("orders")
    async with own.db.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO payments.dead_letters (consumer, event_id, subject, body, error) "
                "VALUES ('saga_commands', :id, :subject, :body, 'ProviderDown()')"
            ),
            {"id": event_id, "subject": subject, "body": body},
        )
    env = {"MERCATO_DATA_DIR": str(own.data_dir)}

    listed = run(own.settings, "ops", "dead-letters", **env)
    verified = run(own.settings, "verify", **env)
    replayed = run(own.settings, "ops", "dead-letters", "--replay", str(event_id), "--actor", "ada", **env)
    again = run(own.settings, "ops", "dead-letters", "--replay", str(event_id), "--actor", "ada", **env)

    assert listed.returncode == 0 and str(event_id) in listed.stdout and "saga_commands" in listed.stdout
    assert verified.returncode == 1 and "1 messages of saga_commands parked" in verified.stdout
    assert replayed.returncode == 0 and str(event_id) not in replayed.stdout
    assert again.returncode == 0  # nothing left to replay: no second publish
    info = await own.broker.js.stream_info(stream)
    last = await own.broker.js.get_last_msg(stream, subject)
    assert (info.state.messages, last.data) == (1, body)
    [entry] = audit_lines(own.data_dir)
    assert (entry["action"], entry["actor"], entry["event_id"], entry["consumer"]) == (
        "dead-letter.replay",
        "ada",
        str(event_id),
        "saga_commands",
    )
    assert run(own.settings, "verify", **env).returncode == 0


async def test_a_stuck_saga_is_listed_and_driven_on_audited(own: Own) -> None:
    """A checkout whose reservation request went unanswered and nothing timed it out for 10 minutes:
    driving on re-sends it (the saga's timeout), so it is no longer stuck."""
    late = datetime.now(UTC) - timedelta(minutes=10)
    async with own.db.begin() as conn:
        stuck = await plant_order(conn, "PENDING", saga_deadline=late)
        state, _ = begin(stuck, (("SKU-1", 1),), Money(5000, "USD"), "pm_x", late - timedelta(seconds=30))
        await conn.execute(
            text("UPDATE orders.sagas SET state = CAST(:state AS jsonb) WHERE order_id = :id"),
            {"state": orjson.dumps(to_document(state)).decode(), "id": stuck},
        )
    env = {"MERCATO_DATA_DIR": str(own.data_dir)}

    listed = run(own.settings, "ops", "sagas", "--stuck", **env)
    driven = run(own.settings, "ops", "sagas", "--stuck", "--drive", "--actor", "grace", **env)

    assert listed.returncode == 1 and str(stuck) in listed.stdout
    assert "Fed 1 due sagas their timeout" in driven.stdout
    assert driven.returncode == 0 and str(stuck) not in driven.stdout  # re-sent: due again in 30 s
    [entry] = audit_lines(own.data_dir)
    assert (entry["action"], entry["actor"], entry["stuck"]) == ("saga.drive", "grace", [str(stuck)])


async def test_a_parked_saga_is_listed_with_its_reason_and_resumed_audited(own: Own) -> None:
    """A confirmed order whose staff refund payments never confirmed: the saga parked itself. The
    operator sees why, resumes it (audited), and it is due again; a bad id is a one-line error."""
    at = datetime.now(UTC) - timedelta(hours=2)
    async with own.db.begin() as conn:
        order_id = await plant_order(conn, "CONFIRMED")
        state, _ = begin(order_id, (("SKU-1", 1),), Money(5000, "USD"), "pm_x", at)
        reason = "refund of 5000 minor units unconfirmed after 120 re-sends"
        parked = replace(state, deadline=None, attempts=120, parked=reason)
        await conn.execute(
            text(
                "UPDATE orders.sagas SET state = CAST(:state AS jsonb), deadline = NULL WHERE order_id = :id"
            ),
            {"state": orjson.dumps(to_document(parked)).decode(), "id": order_id},
        )
    env = {"MERCATO_DATA_DIR": str(own.data_dir)}

    listed = run(own.settings, "ops", "sagas", "--stuck", **env)
    resumed = run(own.settings, "ops", "sagas", "--stuck", "--resume", str(order_id), "--actor", "ada", **env)
    bad = run(own.settings, "ops", "sagas", "--stuck", "--resume", "not-an-id", **env)

    assert (
        listed.returncode == 1 and str(order_id) in listed.stdout and "unconfirmed after 120" in listed.stdout
    )
    assert resumed.returncode == 0 and str(order_id) not in resumed.stdout  # due now: not stuck
    assert bad.returncode == 1 and "is not an order id" in bad.stdout + bad.stderr
    assert len((bad.stdout + bad.stderr).strip().splitlines()) == 1
    [entry] = audit_lines(own.data_dir)
    assert (entry["action"], entry["actor"], entry["order_id"], entry["resumed"]) == (
        "saga.resume",
        "ada",
        str(order_id),
        True,
    )
    async with own.db.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT deadline, state ->> 'parked' AS parked FROM orders.sagas WHERE order_id = :id"),
                {"id": order_id},
            )
        ).one()
    assert row.deadline is not None and row.parked is None
