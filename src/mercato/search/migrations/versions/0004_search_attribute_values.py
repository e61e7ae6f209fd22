"""search: attribute values counted per document (the query reader's lexicon), and the document count

Revision ID: search_0004
Revises: search_0003

The query reader needs the values of the attributes variants differ by ("Red", "XL") and the
attribute values naming a top-level category ("Women"). They were an aggregate over every document,
rebuilt once a minute per process (a scan of the whole index: seconds at 100k products); each
document write now adds and removes its difference here, as it does for the vocabulary. The number
of documents (for the words' idf) was a count of the whole index in every search's spelling lookup;
it is kept in `index_size`, one row, changed by the writes that add or drop documents.
"""

from alembic import op

revision = "search_0004"
down_revision = "search_0003"
branch_labels = None
depends_on = None

S = "search"


def upgrade() -> None:
    # `axis`: the attribute is one the document's variants differ by (service_layer/interpret.py).
    op.execute(f"""CREATE TABLE {S}.attribute_values (
        name text NOT NULL,
        value text NOT NULL,
        axis boolean NOT NULL,
        docs integer NOT NULL CHECK (docs >= 0),
        PRIMARY KEY (name, value, axis))""")
    op.execute(f"""INSERT INTO {S}.attribute_values (name, value, axis, docs)
        SELECT f.name, v.value, f.name = ANY(d.variant_axes), count(*)
        FROM {S}.documents d, jsonb_each(d.facets) AS f(name, vals),
             jsonb_array_elements_text(f.vals) AS v(value)
        GROUP BY 1, 2, 3""")
    op.execute(f"""CREATE TABLE {S}.index_size (
        one boolean PRIMARY KEY DEFAULT true CHECK (one),
        documents bigint NOT NULL CHECK (documents >= 0))""")
    op.execute(f"INSERT INTO {S}.index_size (documents) SELECT count(*) FROM {S}.documents")


def downgrade() -> None:
    op.execute(f"DROP TABLE {S}.index_size")
    op.execute(f"DROP TABLE {S}.attribute_values")
