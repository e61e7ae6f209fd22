"""The payments' tables, all in schema `payments` (SQLAlchemy Core; the migrations own the DDL)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from mercato.platform.inbox import dead_letter_table, inbox_table
from mercato.platform.outbox import outbox_table

SCHEMA = "payments"
metadata = MetaData(schema=SCHEMA)

payment_intents = Table(
    "payment_intents",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("order_reference", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("provider", Text, nullable=False),
    Column("provider_reference", Text),
    Column("captured_amount", BigInteger, nullable=False),
    Column("refunded_amount", BigInteger, nullable=False),
    Column("failure_code", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("version", BigInteger, nullable=False),
)

payment_operations = Table(
    "payment_operations",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("operation", Text, nullable=False),
    Column("idempotency_key", Text, nullable=False),
    Column("intent_id", UUID(as_uuid=True), ForeignKey("payments.payment_intents.id"), nullable=False),
    Column("order_reference", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("payment_token", Text),
    Column("reason", Text),
    Column("status", Text, nullable=False),
    Column("outcome_code", Text),
    Column("decline_code", Text),
    Column("provider_reference", Text),
    Column("result", JSONB),
    Column("attempts", Integer, nullable=False),
    Column("lease_until", DateTime(timezone=True), nullable=False),
    Column("lease_token", UUID(as_uuid=True)),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("intent_id", UUID(as_uuid=True), ForeignKey("payments.payment_intents.id"), nullable=False),
    Column(
        "operation_id",
        UUID(as_uuid=True),
        ForeignKey("payments.payment_operations.id"),
        nullable=False,
        unique=True,
    ),
    Column("order_reference", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# The vault (adapters.vault): `sealed` is the AES-GCM-sealed provider token, never the plaintext.
payment_methods = Table(
    "payment_methods",
    metadata,
    Column("id", Text, primary_key=True),
    Column("customer_id", UUID(as_uuid=True), nullable=False),
    Column("idempotency_key", Text, nullable=False),
    Column("sealed", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("customer_id", "idempotency_key", name="payment_methods_customer_key"),
)

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
dead_letters = dead_letter_table(metadata)
