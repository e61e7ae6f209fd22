"""catalog: each product's dearest variant price beside its cheapest, and an index of the span

Revision ID: catalog_0003
Revises: catalog_0002
"""

from alembic import op

revision = "catalog_0003"
down_revision = "catalog_0002"
branch_labels = None
depends_on = None

S = "catalog"


def upgrade() -> None:
    # A listing's price band (`priceMin`/`priceMax`) holds a product when one of its variants' prices is
    # in it. Sorted by price, that was a walk of the price index from the cheapest product, testing each
    # against its variants (every product cheaper than `priceMin`: 1.6 s at 100k products). With the
    # dearest price beside the cheapest, the band is two index ranges: products whose cheapest price is
    # in it, and the few whose [cheapest, dearest] span contains its low end (the GiST index below).
    # Written by the same statements that write `min_price_amount` (the use cases' repository, the bulk
    # import). Added with a constant default (no rewrite), then set from the variants in one pass.
    op.execute(f"ALTER TABLE {S}.products ADD COLUMN max_price_amount bigint NOT NULL DEFAULT 0")
    # greatest(): the span index refuses a dearest below the cheapest, and a cheapest price that had
    # drifted from the variants must not fail the migration (it cannot happen through the code).
    op.execute(
        f"UPDATE {S}.products p SET max_price_amount = greatest(p.min_price_amount, coalesce("
        f"(SELECT max(v.price_amount) FROM {S}.variants v WHERE v.product_id = p.id), 0))"
    )
    op.execute(
        f"ALTER TABLE {S}.products ADD CONSTRAINT products_price_span_check "
        "CHECK (max_price_amount >= min_price_amount)"
    )
    # The listings' queries name this expression exactly (catalog/service_layer/listing_sql.py).
    op.execute(
        f"CREATE INDEX products_price_span_idx ON {S}.products "
        "USING gist (int8range(min_price_amount, max_price_amount, '[]')) WHERE published"
    )


def downgrade() -> None:
    op.execute(f"DROP INDEX IF EXISTS {S}.products_price_span_idx")
    op.execute(f"ALTER TABLE {S}.products DROP COLUMN IF EXISTS max_price_amount")
