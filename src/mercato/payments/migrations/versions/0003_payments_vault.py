"""payments: the payment-method vault (provider tokens sealed with AES-GCM, behind `pm_` references)

Revision ID: payments_0003
Revises: payments_0002
"""

from alembic import op

revision = "payments_0003"
down_revision = "payments_0002"
branch_labels = None
depends_on = None

S = "payments"


def upgrade() -> None:
    # `sealed` is version || nonce || ciphertext+tag (adapters.vault); the plaintext is never stored.
    op.execute(f"""CREATE TABLE {S}.payment_methods (
        id text PRIMARY KEY CHECK (id LIKE 'pm\\_%'),
        customer_id uuid NOT NULL,
        idempotency_key text NOT NULL,
        sealed bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT payment_methods_customer_key UNIQUE (customer_id, idempotency_key))""")


def downgrade() -> None:
    op.execute(f"DROP TABLE IF EXISTS {S}.payment_methods")
