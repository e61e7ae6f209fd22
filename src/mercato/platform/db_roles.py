"""Least privilege in PostgreSQL: one login role per context that reaches its own schema only.

The schemas and their tables belong to the owner role `mercato migrate` connects as; it creates (or
updates) each context's role from that context's URL, then grants it what the context does at run time
(read and write the rows of its own tables) and takes away anything it held on the other contexts'
schemas. No DDL, no other schema: an injected statement in one context cannot read another's data.
Idempotent: every run states the whole grant set again (a role that changed schema loses the old one).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.platform.config import to_asyncpg_url

# A role name goes into DDL (quoted by PostgreSQL's format('%I')); plain names only, all the same.
_ROLE_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_SCRAM_ITERATIONS = 4096
_TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"


@dataclass(frozen=True)
class ContextRole:
    schema: str
    name: str
    password: str | None = None


def context_role(schema: str, url: str, owner_url: str) -> ContextRole | None:
    """The role a context's URL names, or None when it is the owner itself (nothing to create).

    Refuses a URL for another database: the role would be created where the context never connects."""
    own, owner = make_url(to_asyncpg_url(url)), make_url(to_asyncpg_url(owner_url))
    if not own.username or own.username == owner.username:
        return None
    if own.database != owner.database:
        raise ValueError(
            f"the {schema} database URL names database {own.database!r}, the owner's is {owner.database!r}"
        )
    if not _ROLE_RE.match(own.username):
        raise ValueError(
            f"the {schema} database role {own.username!r} must be lowercase letters, digits or _"
        )
    return ContextRole(schema, own.username, own.password)


def scram_verifier(password: str, *, salt: bytes | None = None, iterations: int = _SCRAM_ITERATIONS) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802/7677): the server gets
    this, never the password, so no statement log or pg_stat_statements row can show it."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    salt_b64, stored_b64, server_b64 = (base64.b64encode(b).decode() for b in (salt, stored_key, server_key))
    return f"SCRAM-SHA-256${iterations}:{salt_b64}${stored_b64}:{server_b64}"


async def _formatted(conn: AsyncConnection, template: str, *args: str | None) -> None:
    """Run DDL whose identifiers/literals PostgreSQL itself quotes (format %I / %L): DDL takes no binds."""
    binds = {f"a{i}": a for i, a in enumerate(args)}
    placeholders = ", ".join(f"CAST(:a{i} AS text)" for i in range(len(args)))
    statement = (await conn.execute(text(f"SELECT format('{template}', {placeholders})"), binds)).scalar_one()
    # As the driver gets it: a SCRAM verifier holds colons that text() would take for bind names.
    await conn.exec_driver_sql(statement)


async def ensure_role(conn: AsyncConnection, role: ContextRole, schemas: Iterable[str]) -> None:
    """Create or update `role` and give it its own schema's rows and nothing of the other `schemas`
    (run as the schemas' owner, inside the migration lock)."""
    exists = (
        await conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": role.name})
    ).scalar_one_or_none()
    if exists is None:
        await _formatted(conn, "CREATE ROLE %I", role.name)
    verifier = scram_verifier(role.password) if role.password else None
    await _formatted(
        conn,
        "ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS "
        "INHERIT PASSWORD %L",
        role.name,
        verifier,
    )
    database = (await conn.execute(text("SELECT current_database()"))).scalar_one()
    await _formatted(conn, "GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I", database, role.name)
    own = role.schema
    for template in (
        "GRANT USAGE ON SCHEMA %I TO %I",
        f"GRANT {_TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA %I TO %I",
        "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO %I",
        # Tables a later migration adds are covered before the next run states the grants again.
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT {_TABLE_PRIVILEGES} ON TABLES TO %I",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO %I",
    ):
        await _formatted(conn, template, own, role.name)
    # The version table is the owner's business: the context only reads it (a health check may).
    await _formatted(
        conn, "REVOKE INSERT, UPDATE, DELETE ON TABLE %I.alembic_version FROM %I", own, role.name
    )
    for other in schemas:
        if other == own:
            continue
        for template in (
            "REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM %I",
            "REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM %I",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE ALL ON TABLES FROM %I",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE ALL ON SEQUENCES FROM %I",
            "REVOKE ALL ON SCHEMA %I FROM %I",
        ):
            await _formatted(conn, template, other, role.name)
