"""search: products bought together (item-to-item co-occurrence counted from confirmed orders)

Revision ID: search_0003
Revises: search_0002
"""

from alembic import op

revision = "search_0003"
down_revision = "search_0002"
branch_labels = None
depends_on = None

S = "search"


def upgrade() -> None:
    # Both directions of each pair are stored: "bought with X" is then one index range per product.
    op.execute(f"""CREATE TABLE {S}.co_purchases (
        product_id uuid NOT NULL,
        other_id uuid NOT NULL,
        orders integer NOT NULL CHECK (orders > 0),
        PRIMARY KEY (product_id, other_id),
        CHECK (product_id <> other_id))""")
    # The strongest pairs of a product first: what `boughtTogether` reads, LIMIT-ed per product.
    op.execute(
        f"CREATE INDEX co_purchases_strongest_idx ON {S}.co_purchases (product_id, orders DESC, other_id)"
    )


def downgrade() -> None:
    op.execute(f"DROP TABLE {S}.co_purchases")
