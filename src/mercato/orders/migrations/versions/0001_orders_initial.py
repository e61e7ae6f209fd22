"""orders: orders, status history, checkout sagas, outbox/inbox

Revision ID: orders_0001
Revises:
"""

from alembic import op

from mercato.platform.migrations import messaging_tables_v1

revision = "orders_0001"
down_revision = None
branch_labels = None
depends_on = None

S = "orders"
STATUSES = "'PENDING', 'STOCK_RESERVED', 'PAYMENT_AUTHORIZED', 'PAYMENT_CAPTURED', 'COMPENSATING', 'CONFIRMED', 'REJECTED'"
REASONS = "'OUT_OF_STOCK', 'PAYMENT_DECLINED', 'INSUFFICIENT_FUNDS', 'PAYMENT_ERROR', 'TIMEOUT'"


def upgrade() -> None:
    # One order per (customer, idempotency key): a retried PlaceOrder finds the first one.
    op.execute(f"""CREATE TABLE {S}.orders (
        id uuid PRIMARY KEY,
        customer_id uuid NOT NULL,
        idempotency_key text NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 200),
        status text NOT NULL CHECK (status IN ({STATUSES})),
        reason text CHECK (reason IN ({REASONS})),
        lines jsonb NOT NULL,
        total_amount bigint NOT NULL CHECK (total_amount > 0),
        currency text NOT NULL CHECK (char_length(currency) = 3),
        shipping_address jsonb NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        CONSTRAINT orders_customer_idempotency_key UNIQUE (customer_id, idempotency_key))""")
    # A customer's orders, newest first, by keyset (created_at, id).
    op.execute(
        f"CREATE INDEX orders_customer_created_idx ON {S}.orders (customer_id, created_at DESC, id DESC)"
    )
    op.execute(f"""CREATE TABLE {S}.status_history (
        order_id uuid NOT NULL REFERENCES {S}.orders (id),
        seq bigint GENERATED ALWAYS AS IDENTITY,
        status text NOT NULL CHECK (status IN ({STATUSES})),
        reason text CHECK (reason IN ({REASONS})),
        at timestamptz NOT NULL,
        PRIMARY KEY (order_id, seq))""")
    # The saga's whole state is one JSON document (the domain's codec owns its shape); `deadline`
    # is a column of its own so that the sweeper finds due sagas through an index.
    op.execute(f"""CREATE TABLE {S}.sagas (
        order_id uuid PRIMARY KEY REFERENCES {S}.orders (id),
        status text NOT NULL CHECK (status IN ({STATUSES})),
        state jsonb NOT NULL,
        deadline timestamptz,
        version bigint NOT NULL DEFAULT 1,
        updated_at timestamptz NOT NULL)""")
    op.execute(f"CREATE INDEX sagas_deadline_idx ON {S}.sagas (deadline) WHERE deadline IS NOT NULL")
    for statement in messaging_tables_v1(S):
        op.execute(statement)


def downgrade() -> None:
    for table in ("dead_letters", "inbox", "outbox", "sagas", "status_history", "orders"):
        op.execute(f"DROP TABLE IF EXISTS {S}.{table}")
