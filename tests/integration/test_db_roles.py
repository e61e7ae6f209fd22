"""Least privilege in PostgreSQL: `migrate` gives each context a role that reaches its own schema only.

Runs in a database and under roles created here (unique names) and dropped at the end: roles are
cluster-wide, so nothing here may touch a role or database it did not create.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest
from redis.asyncio import Redis

from mercato.app import demo_data
from mercato.app.contexts import MIGRATIONS, context_roles
from mercato.app.runtime import Runtime
from mercato.app.seed import seed_plan
from mercato.customers.bootstrap import create_admin
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.db_roles import context_role, scram_verifier
from mercato.platform.engines import EngineUrls
from mercato.platform.migrations import migrate
from tests.conftest import _asyncpg_dsn, _with_database

SCHEMAS = [m.schema for m in MIGRATIONS]


@dataclass
class LeastPrivilege:
    owner_url: str
    role_urls: dict[str, str]  # schema -> URL of its own role
    settings: Settings


def _as(url: str, user: str, password: str | None = None) -> str:
    """`url` with another user (and password) in it."""
    scheme, rest = url.split("://", 1)
    host = rest.split("@", 1)[1]
    return f"{scheme}://{user}{':' + password if password else ''}@{host}"


@pytest.fixture
async def least_privilege(engine_urls: EngineUrls) -> AsyncIterator[LeastPrivilege]:
    tag = secrets.token_hex(4)
    name = f"mercato_test_roles_{tag}"
    owner_url = _with_database(engine_urls.database, name)
    role_urls = {schema: _as(owner_url, f"mercato_t{tag}_{schema}", f"pw-{tag}") for schema in SCHEMAS}
    settings = Settings(
        database_url=owner_url,
        nats_url=engine_urls.nats,
        redis_url=engine_urls.redis,
        namespace=f"t{tag}",
        auth_secret=secrets.token_urlsafe(48),
        **{f"{schema}_database_url": url for schema, url in role_urls.items()},
        _env_file=None,  # type: ignore[call-arg]
    )
    admin = await asyncpg.connect(_asyncpg_dsn(engine_urls.database))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield LeastPrivilege(owner_url, role_urls, settings)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for schema in SCHEMAS:
            await admin.execute(f'DROP ROLE IF EXISTS "mercato_t{tag}_{schema}"')
        await admin.close()
        redis = Redis.from_url(engine_urls.redis)
        keys = [key async for key in redis.scan_iter(match=f"t{tag}:*", count=1000)]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def _migrate(lp: LeastPrivilege) -> None:
    owner = Database(lp.owner_url)
    try:
        await migrate(owner, MIGRATIONS, context_roles(lp.settings))
    finally:
        await owner.dispose()


async def _outcome(conn: asyncpg.Connection, statement: str) -> str:
    try:
        await conn.execute(statement)
    except asyncpg.InsufficientPrivilegeError:
        return "denied"
    return "ok"


async def test_each_context_role_reaches_its_own_schema_and_no_other(least_privilege: LeastPrivilege) -> None:
    await _migrate(least_privilege)
    await _migrate(least_privilege)  # idempotent: the roles exist, grants are stated again

    outcomes: dict[tuple[str, str, str], str] = {}
    for schema, url in least_privilege.role_urls.items():
        conn = await asyncpg.connect(_asyncpg_dsn(url))
        try:
            for other in SCHEMAS:
                outcomes[(schema, other, "read")] = await _outcome(
                    conn, f"SELECT count(*) FROM {other}.outbox"
                )
            event = uuid.uuid4()
            outcomes[(schema, schema, "write")] = await _outcome(
                conn,
                f"INSERT INTO {schema}.outbox (id, subject, body) VALUES ('{event}', 'x', '\\x00'::bytea);"
                f"UPDATE {schema}.outbox SET attempts = 1 WHERE id = '{event}';"
                f"DELETE FROM {schema}.outbox WHERE id = '{event}'",
            )
            outcomes[(schema, schema, "ddl")] = await _outcome(
                conn, f"CREATE TABLE {schema}.intruder (x int)"
            )
            outcomes[(schema, schema, "drop")] = await _outcome(conn, f"DROP TABLE {schema}.inbox")
            outcomes[(schema, schema, "version")] = await _outcome(
                conn, f"UPDATE {schema}.alembic_version SET version_num = version_num"
            )
        finally:
            await conn.close()

    expected = {
        **{(s, o, "read"): "ok" if s == o else "denied" for s in SCHEMAS for o in SCHEMAS},
        **{(s, s, "write"): "ok" for s in SCHEMAS},
        **{(s, s, op): "denied" for s in SCHEMAS for op in ("ddl", "drop", "version")},
    }
    assert outcomes == expected


async def test_the_roles_get_a_scram_verifier_never_the_password(
    least_privilege: LeastPrivilege, engine_urls: EngineUrls
) -> None:
    await _migrate(least_privilege)

    admin = await asyncpg.connect(_asyncpg_dsn(engine_urls.database))
    try:
        rows = await admin.fetch(
            "SELECT rolname, rolpassword, rolsuper, rolcreaterole, rolcreatedb FROM pg_authid "
            "WHERE rolname = ANY($1::text[])",
            [url.split("://", 1)[1].split(":", 1)[0] for url in least_privilege.role_urls.values()],
        )
    finally:
        await admin.close()
    assert len(rows) == len(SCHEMAS)
    for row in rows:
        assert row["rolpassword"].startswith("SCRAM-SHA-256$4096:")
        assert "pw-" not in row["rolpassword"]
        assert (row["rolsuper"], row["rolcreaterole"], row["rolcreatedb"]) == (False, False, False)


async def test_every_context_works_on_its_own_role(least_privilege: LeastPrivilege) -> None:
    """The grants cover what the contexts do: seeding (catalog, inventory), an administrator
    (customers), a vaulted payment method (payments) and a read of orders, each on its own pool."""
    await _migrate(least_privilege)
    runtime = Runtime(least_privilege.settings)
    try:
        summary = await seed_plan(runtime.catalog, runtime.inventory, demo_data.generate(2))
        admin = await create_admin(runtime.customers, f"admin-{secrets.token_hex(3)}@example.com", "pw-" * 6)
        reference = await runtime.payments_client.vault_payment_method(admin.id, "tok_ok_roles", "k-1")
        orders = await runtime.orders_client.orders_for_customer(admin.id, first=5)
    finally:
        await runtime.stop()
    pools = {runtime.engines.db_for(schema).url for schema in SCHEMAS}
    assert pools == {Database(url).url for url in least_privilege.role_urls.values()}
    assert (summary.products, summary.variants > 0) == (2, True)
    assert reference.startswith("pm_")
    assert list(orders.items) == []


def test_a_url_of_the_owner_needs_no_role_and_one_of_another_database_is_refused() -> None:
    owner = "postgresql://mercato:pw@db:5432/shop"
    assert context_role("catalog", "postgresql://mercato:pw@db:5432/shop", owner) is None
    role = context_role("catalog", "postgresql://shop_catalog:s3cret@db:5432/shop", owner)
    assert (role.schema, role.name, role.password) == ("catalog", "shop_catalog", "s3cret") if role else False
    with pytest.raises(ValueError, match="names database 'other'"):
        context_role("catalog", "postgresql://shop_catalog:s3cret@db:5432/other", owner)
    with pytest.raises(ValueError, match="lowercase"):
        context_role("catalog", "postgresql://Shop-Catalog:s3cret@db:5432/shop", owner)


def test_the_scram_verifier_follows_rfc_7677() -> None:
    """RFC 7677's example exchange (user "user", password "pencil"): a server holding our verifier
    accepts the client's proof and answers the RFC's server signature."""
    salt = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    auth_message = (
        f"n=user,r=rOprNGfwEbeRWgbNEkqO,r={nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r={nonce}"
    )
    proof = base64.b64decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")

    verifier = scram_verifier("pencil", salt=salt)

    head, keys = verifier.rsplit("$", 1)
    stored_key, server_key = (base64.b64decode(k) for k in keys.split(":"))
    assert head == "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ=="
    client_signature = hmac.new(stored_key, auth_message.encode(), hashlib.sha256).digest()
    client_key = bytes(a ^ b for a, b in zip(proof, client_signature, strict=True))
    assert hashlib.sha256(client_key).digest() == stored_key
    server_signature = hmac.new(server_key, auth_message.encode(), hashlib.sha256).digest()
    assert base64.b64encode(server_signature).decode() == "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
