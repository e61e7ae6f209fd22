"""catalog: variants get a generated id when none is given (the bulk import COPYs new variants)

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
    # `mercato import` COPYs the variants of new SKUs straight into the table: the database draws
    # their ids (as the import's INSERT … SELECT did with gen_random_uuid()), not 100k's of uuid4()
    # calls in Python. The use cases still give their own ids.
    op.execute(f"ALTER TABLE {S}.variants ALTER COLUMN id SET DEFAULT gen_random_uuid()")


def downgrade() -> None:
    op.execute(f"ALTER TABLE {S}.variants ALTER COLUMN id DROP DEFAULT")
