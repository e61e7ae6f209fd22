"""inventory: the counts a bulk import gives the stock rows it creates (one audit row per import);
no index on stock by warehouse alone

Revision ID: inventory_0002
Revises: inventory_0001
"""

from alembic import op

revision = "inventory_0002"
down_revision = "inventory_0001"
branch_labels = None
depends_on = None

S = "inventory"


def upgrade() -> None:
    # One row per `mercato import` that created stock rows: who, when, why. The count each created row
    # started from is on the row itself (`initial`, `import_id`), so a first import of 100k products
    # writes one audit row instead of one COUNTED adjustment per stock row (each with its own FK check
    # and three index entries: two thirds of the import's database time). A count an import changes on
    # an existing row is still a COUNTED adjustment.
    op.execute(f"""CREATE TABLE {S}.stock_imports (
        id uuid PRIMARY KEY,
        actor text NOT NULL,
        note text NOT NULL DEFAULT '',
        rows integer NOT NULL CHECK (rows >= 0),
        created_at timestamptz NOT NULL DEFAULT now())""")
    # Per stock row: initial + Σ adjustments - committed = on hand (`mercato verify`). Rows made by
    # adjustments start from 0. No foreign key on import_id, on purpose: the import writes its
    # stock_imports row in the statement that creates the rows, nothing deletes one, and a per-row
    # FK check is the cost this table removes.
    op.execute(
        f"ALTER TABLE {S}.stock ADD COLUMN initial integer NOT NULL DEFAULT 0 "
        "CONSTRAINT stock_initial_check CHECK (initial >= 0), ADD COLUMN import_id uuid"
    )
    # Nothing reads stock by warehouse alone, and warehouses are never deleted nor re-keyed (the only
    # other use: the FK check of such a change). With a handful of warehouses the index was one more
    # entry per stock row written, for no query.
    op.execute(f"DROP INDEX IF EXISTS {S}.stock_warehouse_idx")


def downgrade() -> None:
    op.execute(f"CREATE INDEX IF NOT EXISTS stock_warehouse_idx ON {S}.stock (warehouse_id)")
    op.execute(f"ALTER TABLE {S}.stock DROP COLUMN IF EXISTS import_id, DROP COLUMN IF EXISTS initial")
    op.execute(f"DROP TABLE IF EXISTS {S}.stock_imports")
