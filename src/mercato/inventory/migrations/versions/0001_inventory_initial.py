"""inventory: warehouses, stock, adjustments, reservations, outbox/inbox

Revision ID: inventory_0001
Revises:
"""

from alembic import op

from mercato.platform.migrations import messaging_tables_v1

revision = "inventory_0001"
down_revision = None
branch_labels = None
depends_on = None

S = "inventory"
REASONS = "'RECEIVED', 'COUNTED', 'DAMAGED', 'RETURNED', 'CORRECTION'"
STATUSES = "'ACTIVE', 'COMMITTED', 'RELEASED', 'EXPIRED'"


def upgrade() -> None:
    op.execute(f"""CREATE TABLE {S}.warehouses (
        id uuid PRIMARY KEY,
        code text NOT NULL CHECK (char_length(code) BETWEEN 1 AND 64),
        name text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT warehouses_code_key UNIQUE (code))""")
    # The CHECKs repeat the model's rules so that no code path, however buggy, stores negative stock.
    op.execute(f"""CREATE TABLE {S}.stock (
        sku text NOT NULL,
        warehouse_id uuid NOT NULL REFERENCES {S}.warehouses (id),
        on_hand integer NOT NULL DEFAULT 0 CONSTRAINT stock_on_hand_check CHECK (on_hand >= 0),
        reserved integer NOT NULL DEFAULT 0 CONSTRAINT stock_reserved_check CHECK (reserved >= 0),
        version bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (sku, warehouse_id),
        CONSTRAINT stock_reserved_within_on_hand CHECK (reserved <= on_hand))""")
    op.execute(f"CREATE INDEX stock_warehouse_idx ON {S}.stock (warehouse_id)")
    op.execute(f"""CREATE TABLE {S}.adjustments (
        id uuid PRIMARY KEY,
        sku text NOT NULL,
        warehouse_id uuid NOT NULL REFERENCES {S}.warehouses (id),
        delta integer NOT NULL,
        on_hand_after integer NOT NULL CHECK (on_hand_after >= 0),
        set_on_hand integer CHECK (set_on_hand >= 0),
        reason text NOT NULL CHECK (reason IN ({REASONS})),
        note text NOT NULL DEFAULT '',
        actor text NOT NULL,
        idempotency_key text,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT adjustments_idempotency_key_key UNIQUE (idempotency_key))""")
    op.execute(f"CREATE INDEX adjustments_sku_idx ON {S}.adjustments (sku, created_at)")
    op.execute(f"""CREATE TABLE {S}.reservations (
        id uuid PRIMARY KEY,
        reference text NOT NULL,
        status text NOT NULL CHECK (status IN ({STATUSES})),
        expires_at timestamptz NOT NULL,
        release_reason text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT reservations_reference_key UNIQUE (reference))""")
    # The sweeper's scan: only ACTIVE reservations, oldest expiry first.
    op.execute(
        f"CREATE INDEX reservations_expiry_idx ON {S}.reservations (expires_at) WHERE status = 'ACTIVE'"
    )
    op.execute(f"""CREATE TABLE {S}.reservation_allocations (
        reservation_id uuid NOT NULL REFERENCES {S}.reservations (id),
        sku text NOT NULL,
        warehouse_id uuid NOT NULL REFERENCES {S}.warehouses (id),
        quantity integer NOT NULL CHECK (quantity > 0),
        PRIMARY KEY (reservation_id, sku, warehouse_id))""")
    for statement in messaging_tables_v1(S):
        op.execute(statement)


def downgrade() -> None:
    for table in (
        "dead_letters",
        "inbox",
        "outbox",
        "reservation_allocations",
        "reservations",
        "adjustments",
        "stock",
        "warehouses",
    ):
        op.execute(f"DROP TABLE IF EXISTS {S}.{table}")
