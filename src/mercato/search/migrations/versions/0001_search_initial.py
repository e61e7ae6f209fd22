"""search: documents (weighted full text), vocabulary (spelling), SKU availability, inbox

Revision ID: search_0001
Revises:
"""

from alembic import op

from mercato.platform.migrations import messaging_tables_v1

revision = "search_0001"
down_revision = None
branch_labels = None
depends_on = None

S = "search"


def upgrade() -> None:
    # pg_trgm ships with PostgreSQL's contrib (trusted since 13: the database owner may create it).
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(f"""CREATE TABLE {S}.documents (
        product_id uuid PRIMARY KEY,
        slug text NOT NULL,
        name text NOT NULL,
        category_ids uuid[] NOT NULL DEFAULT '{{}}',
        skus text[] NOT NULL DEFAULT '{{}}',
        prices bigint[] NOT NULL DEFAULT '{{}}',
        min_price bigint NOT NULL DEFAULT 0,
        facets jsonb NOT NULL DEFAULT '{{}}',
        variant_axes text[] NOT NULL DEFAULT '{{}}',
        terms text[] NOT NULL DEFAULT '{{}}',
        document tsvector NOT NULL,
        updated_at timestamptz NOT NULL,
        indexed_at timestamptz NOT NULL DEFAULT now())""")
    op.execute(f"CREATE INDEX documents_document_idx ON {S}.documents USING gin (document)")
    op.execute(f"CREATE INDEX documents_categories_idx ON {S}.documents USING gin (category_ids)")
    op.execute(f"CREATE INDEX documents_skus_idx ON {S}.documents USING gin (skus)")
    op.execute(f"CREATE INDEX documents_name_trgm_idx ON {S}.documents USING gin (lower(name) gin_trgm_ops)")
    op.execute(f"""CREATE TABLE {S}.vocabulary (
        term text PRIMARY KEY,
        docs integer NOT NULL CHECK (docs >= 0))""")
    # GiST, not GIN: spelling correction asks for the nearest terms (`ORDER BY term <-> word`).
    op.execute(f"CREATE INDEX vocabulary_term_trgm_idx ON {S}.vocabulary USING gist (term gist_trgm_ops)")
    op.execute(f"CREATE INDEX vocabulary_term_prefix_idx ON {S}.vocabulary (term text_pattern_ops)")
    op.execute(f"""CREATE TABLE {S}.sku_availability (
        sku text PRIMARY KEY,
        available integer NOT NULL,
        version bigint NOT NULL)""")
    for statement in messaging_tables_v1(S):
        op.execute(statement)


def downgrade() -> None:
    for table in ("dead_letters", "inbox", "outbox", "sku_availability", "vocabulary", "documents"):
        op.execute(f"DROP TABLE {S}.{table}")
