"""orders: the cart an order was checked out from (the cart context empties it on confirmation)

Revision ID: orders_0003
Revises: orders_0002
"""

from alembic import op

revision = "orders_0003"
down_revision = "orders_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: orders placed before this revision, or by other means than a cart, have none.
    op.execute("ALTER TABLE orders.orders ADD COLUMN cart_id uuid")


def downgrade() -> None:
    op.execute("ALTER TABLE orders.orders DROP COLUMN cart_id")
