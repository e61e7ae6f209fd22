"""orders: the step each saga awaits and since when (step durations, stuck sagas by step and age)

Revision ID: orders_0004
Revises: orders_0003
"""

from alembic import op

revision = "orders_0004"
down_revision = "orders_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: a saga saved before this revision gets its step at its next save; until then a stuck
    # one is reported under step "unknown", aged from its last update.
    op.execute("ALTER TABLE orders.sagas ADD COLUMN step text, ADD COLUMN step_started_at timestamptz")
    op.execute("UPDATE orders.sagas SET step_started_at = updated_at WHERE deadline IS NOT NULL")
    # Parked sagas, counted at every scrape: a handful among every settled one.
    op.execute(
        "CREATE INDEX sagas_parked_idx ON orders.sagas (order_id) WHERE (state ->> 'parked') IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS orders.sagas_parked_idx")
    op.execute("ALTER TABLE orders.sagas DROP COLUMN step, DROP COLUMN step_started_at")
