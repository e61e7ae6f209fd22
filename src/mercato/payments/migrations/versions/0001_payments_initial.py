"""payments: intents, operations, ledger, sandbox provider books, outbox/inbox

Revision ID: payments_0001
Revises:
"""

from alembic import op

from mercato.platform.migrations import messaging_tables_v1

revision = "payments_0001"
down_revision = None
branch_labels = None
depends_on = None

S = "payments"
INTENT_STATUSES = (
    "'REQUIRES_AUTHORIZATION', 'AUTHORIZED', 'CAPTURED', 'PARTIALLY_REFUNDED', 'REFUNDED', 'VOIDED', 'FAILED'"
)
OPERATIONS = "'AUTHORIZE', 'CAPTURE', 'VOID', 'REFUND'"
LEDGER_KINDS = "'AUTHORIZATION', 'CAPTURE', 'VOID', 'REFUND'"
CHARGE_STATUSES = "'AUTHORIZED', 'DECLINED', 'CAPTURED', 'VOIDED', 'PARTIALLY_REFUNDED', 'REFUNDED'"


def upgrade() -> None:
    # The CHECKs repeat the model's invariant (0 <= refunded <= captured <= amount) so that no code
    # path, however buggy, stores a refund above the capture.
    op.execute(f"""CREATE TABLE {S}.payment_intents (
        id uuid PRIMARY KEY,
        order_reference text NOT NULL CHECK (char_length(order_reference) BETWEEN 1 AND 200),
        amount bigint NOT NULL CHECK (amount > 0),
        currency text NOT NULL CHECK (currency ~ '^[A-Z]{{3}}$'),
        status text NOT NULL CHECK (status IN ({INTENT_STATUSES})),
        provider text NOT NULL,
        provider_reference text,
        captured_amount bigint NOT NULL DEFAULT 0,
        refunded_amount bigint NOT NULL DEFAULT 0,
        failure_code text,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        version bigint NOT NULL,
        CONSTRAINT payment_intents_captured_check CHECK (captured_amount BETWEEN 0 AND amount),
        CONSTRAINT payment_intents_refunded_check CHECK (refunded_amount BETWEEN 0 AND captured_amount))""")
    op.execute(f"CREATE INDEX payment_intents_order_idx ON {S}.payment_intents (order_reference, created_at)")
    # The authorization's row is inserted before its intent (it claims the idempotency key first),
    # hence the deferred foreign key.
    op.execute(f"""CREATE TABLE {S}.payment_operations (
        id uuid PRIMARY KEY,
        operation text NOT NULL CHECK (operation IN ({OPERATIONS})),
        idempotency_key text NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 200),
        intent_id uuid NOT NULL REFERENCES {S}.payment_intents (id) DEFERRABLE INITIALLY DEFERRED,
        order_reference text NOT NULL,
        amount bigint NOT NULL CHECK (amount > 0),
        currency text NOT NULL,
        payment_token text,
        reason text,
        status text NOT NULL CHECK (status IN ('PENDING', 'SUCCEEDED', 'DECLINED')),
        outcome_code text,
        decline_code text,
        provider_reference text,
        result jsonb,
        attempts integer NOT NULL DEFAULT 1,
        lease_until timestamptz NOT NULL,
        lease_token uuid,
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT payment_operations_key UNIQUE (operation, idempotency_key),
        CONSTRAINT payment_operations_outcome_check CHECK ((status = 'PENDING') = (result IS NULL)))""")
    # At most one operation in flight per intent: operations on one payment are serialized.
    op.execute(
        f"CREATE UNIQUE INDEX payment_operations_in_flight_idx ON {S}.payment_operations (intent_id) "
        "WHERE status = 'PENDING'"
    )
    op.execute(
        f"CREATE INDEX payment_operations_stale_idx ON {S}.payment_operations (lease_until) "
        "WHERE status = 'PENDING'"
    )
    op.execute(
        f"CREATE INDEX payment_operations_intent_idx ON {S}.payment_operations (intent_id, created_at)"
    )
    op.execute(f"""CREATE TABLE {S}.ledger_entries (
        id uuid PRIMARY KEY,
        intent_id uuid NOT NULL REFERENCES {S}.payment_intents (id),
        operation_id uuid NOT NULL REFERENCES {S}.payment_operations (id),
        order_reference text NOT NULL,
        kind text NOT NULL CHECK (kind IN ({LEDGER_KINDS})),
        amount bigint NOT NULL CHECK (amount > 0),
        currency text NOT NULL,
        created_at timestamptz NOT NULL,
        CONSTRAINT ledger_entries_operation_key UNIQUE (operation_id))""")
    op.execute(f"CREATE INDEX ledger_entries_order_idx ON {S}.ledger_entries (order_reference)")
    op.execute(f"CREATE INDEX ledger_entries_intent_idx ON {S}.ledger_entries (intent_id, created_at)")
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
    for statement in messaging_tables_v1(S):
        op.execute(statement)


def downgrade() -> None:
    for table in (
        "dead_letters",
        "inbox",
        "outbox",
        "sandbox_operations",
        "sandbox_charges",
        "ledger_entries",
        "payment_operations",
        "payment_intents",
    ):
        op.execute(f"DROP TABLE IF EXISTS {S}.{table}")
