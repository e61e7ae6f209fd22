"""orders: after the purchase (cancel, fulfil, refund): new statuses, refunded total, tracking
number, who moved an order and why

Revision ID: orders_0002
Revises: orders_0001
"""

from alembic import op

revision = "orders_0002"
down_revision = "orders_0001"
branch_labels = None
depends_on = None

S = "orders"
OLD = "'PENDING', 'STOCK_RESERVED', 'PAYMENT_AUTHORIZED', 'PAYMENT_CAPTURED', 'COMPENSATING', 'CONFIRMED', 'REJECTED'"
STATUSES = OLD + ", 'CANCELLING', 'CANCELLED', 'FULFILLED', 'PARTIALLY_REFUNDED', 'REFUNDED'"
# The CHECKs of 0001 were declared on the column, so PostgreSQL named them <table>_status_check.
STATUS_COLUMNS = ("orders", "status_history", "sagas")


def _statuses(allowed: str) -> None:
    for table in STATUS_COLUMNS:
        op.execute(f"ALTER TABLE {S}.{table} DROP CONSTRAINT IF EXISTS {table}_status_check")
        op.execute(
            f"ALTER TABLE {S}.{table} ADD CONSTRAINT {table}_status_check CHECK (status IN ({allowed}))"
        )


def upgrade() -> None:
    _statuses(STATUSES)
    op.execute(f"ALTER TABLE {S}.orders ADD COLUMN refunded_amount bigint NOT NULL DEFAULT 0")
    op.execute(
        f"ALTER TABLE {S}.orders ADD CONSTRAINT orders_refunded_amount_check "
        "CHECK (refunded_amount BETWEEN 0 AND total_amount)"
    )
    op.execute(
        f"ALTER TABLE {S}.orders ADD COLUMN tracking_number text "
        "CHECK (char_length(tracking_number) BETWEEN 1 AND 100)"
    )
    # Who moved the order by hand (a customer's or staff's user id) and why; NULL for the saga.
    op.execute(f"ALTER TABLE {S}.status_history ADD COLUMN actor text CHECK (char_length(actor) <= 200)")
    op.execute(f"ALTER TABLE {S}.status_history ADD COLUMN note text CHECK (char_length(note) <= 200)")


def downgrade() -> None:
    for column in ("actor", "note"):
        op.execute(f"ALTER TABLE {S}.status_history DROP COLUMN IF EXISTS {column}")
    for column in ("tracking_number", "refunded_amount"):
        op.execute(f"ALTER TABLE {S}.orders DROP COLUMN IF EXISTS {column}")
    _statuses(OLD)
