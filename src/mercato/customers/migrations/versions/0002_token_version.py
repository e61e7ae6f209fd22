"""customers: a per-account token version (revocation and demotion within seconds), password
reset tokens

Revision ID: customers_0002
Revises: customers_0001
"""

from alembic import op

revision = "customers_0002"
down_revision = "customers_0001"
branch_labels = None
depends_on = None

S = "customers"


def upgrade() -> None:
    # Every access token carries the version its account had when it was issued; bumping it (sign out
    # everywhere, a change of access, disabling, a new password) refuses every older token.
    op.execute(f"ALTER TABLE {S}.accounts ADD COLUMN token_version integer NOT NULL DEFAULT 0")
    # Only the SHA-256 of a reset secret is stored; a token is spent once (used_at) and expires.
    op.execute(f"""CREATE TABLE {S}.password_reset_tokens (
        id uuid PRIMARY KEY,
        token_hash bytea NOT NULL CONSTRAINT password_reset_tokens_hash_check CHECK (octet_length(token_hash) = 32),
        account_id uuid NOT NULL REFERENCES {S}.accounts (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        used_at timestamptz,
        CONSTRAINT password_reset_tokens_hash_key UNIQUE (token_hash))""")
    op.execute(f"CREATE INDEX password_reset_tokens_account_idx ON {S}.password_reset_tokens (account_id)")


def downgrade() -> None:
    op.execute(f"DROP TABLE IF EXISTS {S}.password_reset_tokens")
    op.execute(f"ALTER TABLE {S}.accounts DROP COLUMN IF EXISTS token_version")
