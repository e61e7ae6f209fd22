"""customers: accounts, refresh token families and tokens, addresses, outbox/inbox

Revision ID: customers_0001
Revises:
"""

from alembic import op

from mercato.platform.migrations import messaging_tables_v1

revision = "customers_0001"
down_revision = None
branch_labels = None
depends_on = None

S = "customers"
ROLES = "'CUSTOMER', 'STAFF', 'ADMIN'"


def upgrade() -> None:
    # Emails are stored lower-cased (ASCII only, see domain.model), so a plain unique constraint is
    # the case-insensitive one; the CHECK keeps any other writer honest.
    op.execute(f"""CREATE TABLE {S}.accounts (
        id uuid PRIMARY KEY,
        email text NOT NULL,
        password_hash text NOT NULL,
        role text NOT NULL CONSTRAINT accounts_role_check CHECK (role IN ({ROLES})),
        permissions text[] NOT NULL DEFAULT '{{}}',
        is_active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT accounts_email_key UNIQUE (email),
        CONSTRAINT accounts_email_check CHECK (char_length(email) BETWEEN 3 AND 254 AND email = lower(email)),
        CONSTRAINT accounts_customer_permissions_check CHECK (role <> 'CUSTOMER' OR cardinality(permissions) = 0))""")
    # One row per sign-in: revoking a sign-in is one UPDATE of this row, whatever the number of
    # rotations, and locking it serializes the rotations of that sign-in (see adapters.locks).
    op.execute(f"""CREATE TABLE {S}.refresh_token_families (
        id uuid PRIMARY KEY,
        account_id uuid NOT NULL REFERENCES {S}.accounts (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL,
        revoked_at timestamptz)""")
    op.execute(f"CREATE INDEX refresh_token_families_account_idx ON {S}.refresh_token_families (account_id)")
    # Only the SHA-256 of a token is stored; `parent_id` is the token it was rotated from. No FK on
    # parent_id, so that pruning can drop old tokens of a live family one by one.
    op.execute(f"""CREATE TABLE {S}.refresh_tokens (
        id uuid PRIMARY KEY,
        token_hash bytea NOT NULL CONSTRAINT refresh_tokens_hash_check CHECK (octet_length(token_hash) = 32),
        family_id uuid NOT NULL REFERENCES {S}.refresh_token_families (id) ON DELETE CASCADE,
        parent_id uuid,
        issued_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        used_at timestamptz,
        CONSTRAINT refresh_tokens_hash_key UNIQUE (token_hash))""")
    op.execute(f"CREATE INDEX refresh_tokens_family_idx ON {S}.refresh_tokens (family_id)")
    # A token is rotated at most once: a second child would mean a rotation got past the family lock.
    op.execute(
        f"CREATE UNIQUE INDEX refresh_tokens_parent_key ON {S}.refresh_tokens (parent_id) "
        "WHERE parent_id IS NOT NULL"
    )
    op.execute(f"""CREATE TABLE {S}.addresses (
        id uuid PRIMARY KEY,
        account_id uuid NOT NULL REFERENCES {S}.accounts (id) ON DELETE CASCADE,
        first_name text NOT NULL,
        last_name text NOT NULL,
        line1 text NOT NULL,
        line2 text NOT NULL DEFAULT '',
        city text NOT NULL,
        postal_code text NOT NULL DEFAULT '',
        country text NOT NULL CONSTRAINT addresses_country_check CHECK (country ~ '^[A-Z]{{2}}$'),
        phone text NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL)""")
    op.execute(f"CREATE INDEX addresses_account_idx ON {S}.addresses (account_id, created_at)")
    for statement in messaging_tables_v1(S):
        op.execute(statement)


def downgrade() -> None:
    for table in (
        "dead_letters",
        "inbox",
        "outbox",
        "addresses",
        "refresh_tokens",
        "refresh_token_families",
        "accounts",
    ):
        op.execute(f"DROP TABLE IF EXISTS {S}.{table}")
