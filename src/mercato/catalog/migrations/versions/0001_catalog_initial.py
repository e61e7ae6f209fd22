"""catalog: categories, products, variants, availability read model, outbox/inbox

Revision ID: catalog_0001
Revises:
"""

from alembic import op

from mercato.platform.migrations import messaging_tables_v1

revision = "catalog_0001"
down_revision = None
branch_labels = None
depends_on = None

S = "catalog"


def upgrade() -> None:
    op.execute(f"""CREATE TABLE {S}.categories (
        id uuid PRIMARY KEY,
        parent_id uuid REFERENCES {S}.categories (id),
        slug text NOT NULL UNIQUE,
        name text NOT NULL,
        position integer NOT NULL DEFAULT 0,
        path text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now())""")
    op.execute(f"CREATE INDEX categories_path_idx ON {S}.categories (path text_pattern_ops)")
    op.execute(f"""CREATE TABLE {S}.products (
        id uuid PRIMARY KEY,
        slug text NOT NULL,
        name text NOT NULL,
        description text NOT NULL DEFAULT '',
        category_id uuid REFERENCES {S}.categories (id),
        attributes jsonb NOT NULL DEFAULT '{{}}',
        media jsonb NOT NULL DEFAULT '[]',
        published boolean NOT NULL DEFAULT false,
        min_price_amount bigint NOT NULL DEFAULT 0 CHECK (min_price_amount >= 0),
        currency text,
        version integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        search tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('simple', name), 'A') || setweight(to_tsvector('simple', description), 'B')
        ) STORED,
        CONSTRAINT products_slug_key UNIQUE (slug))""")
    # Keyset pagination indexes for each sort order of the storefront listing.
    op.execute(f"CREATE INDEX products_name_idx ON {S}.products (name, id) WHERE published")
    op.execute(f"CREATE INDEX products_price_idx ON {S}.products (min_price_amount, id) WHERE published")
    op.execute(f"CREATE INDEX products_created_idx ON {S}.products (created_at, id) WHERE published")
    op.execute(f"CREATE INDEX products_category_idx ON {S}.products (category_id)")
    op.execute(f"CREATE INDEX products_search_idx ON {S}.products USING gin (search)")
    op.execute(f"CREATE INDEX products_attributes_idx ON {S}.products USING gin (attributes jsonb_path_ops)")
    op.execute(f"""CREATE TABLE {S}.variants (
        id uuid PRIMARY KEY,
        product_id uuid NOT NULL REFERENCES {S}.products (id) ON DELETE CASCADE,
        sku text NOT NULL,
        attributes jsonb NOT NULL DEFAULT '{{}}',
        price_amount bigint NOT NULL CHECK (price_amount >= 0),
        currency text NOT NULL CHECK (currency ~ '^[A-Z]{{3}}$'),
        position integer NOT NULL DEFAULT 0,
        CONSTRAINT variants_sku_key UNIQUE (sku))""")
    op.execute(f"CREATE INDEX variants_product_idx ON {S}.variants (product_id, position)")
    op.execute(f"""CREATE TABLE {S}.sku_availability (
        sku text PRIMARY KEY,
        available integer NOT NULL CHECK (available >= 0),
        version bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now())""")
    for statement in messaging_tables_v1(S):
        op.execute(statement)


def downgrade() -> None:
    for table in (
        "dead_letters",
        "inbox",
        "outbox",
        "sku_availability",
        "variants",
        "products",
        "categories",
    ):
        op.execute(f"DROP TABLE IF EXISTS {S}.{table}")
