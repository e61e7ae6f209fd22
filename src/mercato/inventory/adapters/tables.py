"""The inventory's tables, all in schema `inventory` (SQLAlchemy Core; the migrations own the DDL)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import UUID

from mercato.platform.inbox import dead_letter_table, inbox_table
from mercato.platform.outbox import outbox_table

SCHEMA = "inventory"
metadata = MetaData(schema=SCHEMA)

warehouses = Table(
    "warehouses",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

stock = Table(
    "stock",
    metadata,
    Column("sku", Text, nullable=False),
    Column("warehouse_id", UUID(as_uuid=True), ForeignKey("inventory.warehouses.id"), nullable=False),
    Column("on_hand", Integer, nullable=False),
    Column("reserved", Integer, nullable=False),
    # Bumped on every change of the row; a SKU's sum of versions orders its stock_level_changed events.
    Column("version", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # The count a bulk import created the row with, and that import (`stock_imports`); 0 and NULL for
    # rows made by adjustments. initial + Σ adjustments - committed = on hand.
    Column("initial", Integer, nullable=False, server_default="0"),
    Column("import_id", UUID(as_uuid=True)),
    PrimaryKeyConstraint("sku", "warehouse_id"),
)

# One row per bulk import that created stock rows: the audit record of their initial counts.
stock_imports = Table(
    "stock_imports",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("actor", Text, nullable=False),
    Column("note", Text, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

adjustments = Table(
    "adjustments",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("sku", Text, nullable=False),
    Column("warehouse_id", UUID(as_uuid=True), ForeignKey("inventory.warehouses.id"), nullable=False),
    Column("delta", Integer, nullable=False),
    Column("on_hand_after", Integer, nullable=False),
    Column("set_on_hand", Integer),
    Column("reason", Text, nullable=False),
    Column("note", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("idempotency_key", Text, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

reservations = Table(
    "reservations",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("reference", Text, nullable=False, unique=True),
    Column("status", Text, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("release_reason", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

reservation_allocations = Table(
    "reservation_allocations",
    metadata,
    Column("reservation_id", UUID(as_uuid=True), ForeignKey("inventory.reservations.id"), nullable=False),
    Column("sku", Text, nullable=False),
    Column("warehouse_id", UUID(as_uuid=True), ForeignKey("inventory.warehouses.id"), nullable=False),
    Column("quantity", Integer, nullable=False),
    PrimaryKeyConstraint("reservation_id", "sku", "warehouse_id"),
)

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
dead_letters = dead_letter_table(metadata)
