"""The catalog's tables, all in schema `catalog` (SQLAlchemy Core; the migrations own the DDL)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Computed,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR, UUID

from mercato.platform.inbox import dead_letter_table, inbox_table
from mercato.platform.outbox import outbox_table

SCHEMA = "catalog"
metadata = MetaData(schema=SCHEMA)

categories = Table(
    "categories",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("parent_id", UUID(as_uuid=True), ForeignKey("catalog.categories.id")),
    Column("slug", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("position", Integer, nullable=False),
    # "/<root id>/<child id>/": a subtree is a prefix match, no recursive query on the hot path.
    Column("path", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

products = Table(
    "products",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("slug", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("category_id", UUID(as_uuid=True), ForeignKey("catalog.categories.id")),
    Column("attributes", JSONB, nullable=False),
    Column("media", JSONB, nullable=False),
    Column("published", Boolean, nullable=False),
    Column("min_price_amount", BigInteger, nullable=False),
    # The dearest variant's price: with the cheapest, the product's price span (a listing's price band).
    Column("max_price_amount", BigInteger, nullable=False),
    Column("currency", Text),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column(
        "search",
        TSVECTOR,
        Computed(
            "setweight(to_tsvector('simple', name), 'A') || "
            "setweight(to_tsvector('simple', description), 'B')"
        ),
    ),
)

variants = Table(
    "variants",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column(
        "product_id",
        UUID(as_uuid=True),
        ForeignKey("catalog.products.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("sku", Text, nullable=False, unique=True),
    Column("attributes", JSONB, nullable=False),
    Column("price_amount", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("position", Integer, nullable=False),
)

# Read model fed by inventory events: units of each SKU that can be sold now.
sku_availability = Table(
    "sku_availability",
    metadata,
    Column("sku", Text, primary_key=True),
    Column("available", Integer, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
dead_letters = dead_letter_table(metadata)
