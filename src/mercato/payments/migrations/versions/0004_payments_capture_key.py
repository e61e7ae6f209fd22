"""payments: an authorization may plan its capture (`capture_key`), asked right after it

Revision ID: payments_0004
Revises: payments_0003
"""

from alembic import op

revision = "payments_0004"
down_revision = "payments_0003"
branch_labels = None
depends_on = None

S = "payments"


def upgrade() -> None:
    # Nullable, no default: adding it rewrites nothing. The capture's operation id derives from the
    # authorization's (`PaymentOperation.planned_capture`), so the key is all a recovery needs to ask
    # the provider the same capture again.
    op.execute(
        f"ALTER TABLE {S}.payment_operations ADD COLUMN capture_key text, "
        "ADD CONSTRAINT payment_operations_capture_key_check CHECK (capture_key IS NULL OR "
        "(operation = 'AUTHORIZE' AND char_length(capture_key) BETWEEN 1 AND 200))"
    )


def downgrade() -> None:
    op.execute(f"ALTER TABLE {S}.payment_operations DROP COLUMN IF EXISTS capture_key")
