"""payments: the sandbox provider keeps no tables (its answers are derived from the request)

Revision ID: payments_0002
Revises: payments_0001
"""

from alembic import op

revision = "payments_0002"
down_revision = "payments_0001"
branch_labels = None
depends_on = None

S = "payments"
CHARGE_STATUSES = "'AUTHORIZED', 'DECLINED', 'CAPTURED', 'VOIDED', 'PARTIALLY_REFUNDED', 'REFUNDED'"


def upgrade() -> None:
    op.execute(f"DROP TABLE IF EXISTS {S}.sandbox_operations")
    op.execute(f"DROP TABLE IF EXISTS {S}.sandbox_charges")


def downgrade() -> None:
    # The tables of payments_0001, empty: what the sandbox recorded is not kept anywhere else.
    op.execute(f"""CREATE TABLE {S}.sandbox_charges (
        id text PRIMARY KEY,
        reference text NOT NULL,
        token text NOT NULL,
        amount bigint NOT NULL CHECK (amount > 0),
        currency text NOT NULL,
        status text NOT NULL CHECK (status IN ({CHARGE_STATUSES})),
        decline_code text,
        captured_amount bigint NOT NULL DEFAULT 0,
        refunded_amount bigint NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT sandbox_charges_reference_key UNIQUE (reference),
        CONSTRAINT sandbox_charges_amounts_check
            CHECK (0 <= refunded_amount AND refunded_amount <= captured_amount AND captured_amount <= amount))""")
    op.execute(f"""CREATE TABLE {S}.sandbox_operations (
        reference text PRIMARY KEY,
        charge_id text NOT NULL REFERENCES {S}.sandbox_charges (id),
        kind text NOT NULL CHECK (kind IN ('CAPTURE', 'VOID', 'REFUND')),
        amount bigint NOT NULL,
        approved boolean NOT NULL,
        decline_code text,
        provider_reference text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now())""")
    op.execute(f"CREATE INDEX sandbox_operations_charge_idx ON {S}.sandbox_operations (charge_id)")
