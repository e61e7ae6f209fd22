"""search: product embeddings in pgvector with an HNSW index, where the extension exists

Revision ID: search_0002
Revises: search_0001

Where PostgreSQL has no pgvector (Debian's PostgreSQL 15 packages ship none), this migration creates
nothing and search stays lexical; `mercato migrate` says so (docs/search.md: enabling it later).
"""

from alembic import op
from sqlalchemy import text

revision = "search_0002"
down_revision = "search_0001"
branch_labels = None
depends_on = None

S = "search"


def upgrade() -> None:
    for statement in embedding_ddl(op.get_bind()):
        op.execute(statement)


def embedding_ddl(bind: object) -> list[str]:
    available = bind.execute(  # type: ignore[attr-defined]
        text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
    ).first()
    if available is None:
        return []
    return [
        "CREATE EXTENSION IF NOT EXISTS vector",
        f"""CREATE TABLE IF NOT EXISTS {S}.embeddings (
            product_id uuid PRIMARY KEY REFERENCES {S}.documents (product_id) ON DELETE CASCADE,
            text_hash text NOT NULL,
            embedding vector(384) NOT NULL)""",
        f"""CREATE INDEX IF NOT EXISTS embeddings_hnsw_idx ON {S}.embeddings
            USING hnsw (embedding vector_cosine_ops)""",
    ]


def downgrade() -> None:
    op.execute(f"DROP TABLE IF EXISTS {S}.embeddings")
