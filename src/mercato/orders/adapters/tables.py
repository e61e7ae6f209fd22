"""The orders' tables, all in schema `orders` (SQLAlchemy Core; the migrations own the DDL)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from mercato.platform.inbox import dead_letter_table, inbox_table
from mercato.platform.outbox import outbox_table

SCHEMA = "orders"
metadata = MetaData(schema=SCHEMA)

orders = Table(
    "orders",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("customer_id", UUID(as_uuid=True), nullable=False),
    Column("idempotency_key", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("reason", Text),
    Column("lines", JSONB, nullable=False),  # [{sku, quantity, unit_price}] in minor units
    Column("total_amount", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("shipping_address", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("refunded_amount", BigInteger, nullable=False),
    Column("tracking_number", Text),
    Column("cart_id", UUID(as_uuid=True)),
)

status_history = Table(
    "status_history",
    metadata,
    Column("order_id", UUID(as_uuid=True), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("status", Text, nullable=False),
    Column("reason", Text),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", Text),
    Column("note", Text),
)

sagas = Table(
    "sagas",
    metadata,
    Column("order_id", UUID(as_uuid=True), primary_key=True),
    Column("status", Text, nullable=False),
    Column("state", JSONB, nullable=False),  # `domain.saga_codec` document
    Column("deadline", DateTime(timezone=True)),
    Column("version", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # The step awaited (`saga_types.awaited_step`) and when it began: step durations, stuck sagas.
    Column("step", Text),
    Column("step_started_at", DateTime(timezone=True)),
)

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
dead_letters = dead_letter_table(metadata)
