"""The search context's tables, all in schema `search` (the migrations own the DDL).

Only the outbox is mapped: search publishes nothing yet, but its unit of work is the platform's,
which writes events there. The index itself is read and written with plain SQL (`adapters/index.py`,
`service_layer/lexical.py`): full-text and trigram operators read better as SQL than as Core.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from mercato.platform.outbox import outbox_table

SCHEMA = "search"
metadata = MetaData(schema=SCHEMA)
outbox = outbox_table(metadata)
