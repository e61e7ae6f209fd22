"""catalog: a GIN index on variants' attributes (attribute filters by containment)

Revision ID: catalog_0002
Revises: catalog_0001
"""

from alembic import op

revision = "catalog_0002"
down_revision = "catalog_0001"
branch_labels = None
depends_on = None

S = "catalog"


def upgrade() -> None:
    # An attribute filter asks the variants `attributes @> {name: value}` (catalog/service_layer/
    # queries.py): jsonb_path_ops answers containment only, and is smaller and faster at it than the
    # default opclass. Built inside the migrations' transaction (their runner holds one connection in a
    # transaction, where CONCURRENTLY cannot run): on a large live catalog, build it beforehand with
    # `CREATE INDEX CONCURRENTLY IF NOT EXISTS variants_attributes_idx ON catalog.variants USING gin
    # (attributes jsonb_path_ops)`, and this step finds it there and does nothing.
    op.execute(
        f"CREATE INDEX IF NOT EXISTS variants_attributes_idx ON {S}.variants USING gin (attributes jsonb_path_ops)"
    )


def downgrade() -> None:
    op.execute(f"DROP INDEX IF EXISTS {S}.variants_attributes_idx")
