"""`platform.sql`: statements sent straight to asyncpg keep SQLAlchemy's transaction, counting, errors and
JSON types. Rows go to `orders.inbox` under a consumer name of the test's own (`ref`)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Text, bindparam, func, literal, literal_column, or_, select, text, tuple_
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.exc import IntegrityError

from mercato.orders.adapters.tables import inbox
from mercato.platform.db import Database, violated_constraint
from mercato.platform.sql import CompiledSql, Sql, fetch_core, rowcount
from tests.conftest import ref

CLAIM = Sql("INSERT INTO orders.inbox (consumer, event_id) VALUES (:consumer, :event_id)")
CLAIMED = Sql("SELECT event_id FROM orders.inbox WHERE consumer = :consumer ORDER BY event_id")


async def claimed(db: Database, consumer: str) -> list[uuid.UUID]:
    async with db.connect() as conn:
        rows = await conn.execute(
            text("SELECT event_id FROM orders.inbox WHERE consumer = :c ORDER BY event_id"), {"c": consumer}
        )
        return [uuid.UUID(str(r[0])) for r in rows]


def test_named_parameters_become_numbered_ones_and_casts_stay() -> None:
    statement = Sql("SELECT :a, CAST(:b AS int), :a, '[]'::json WHERE x = :b")
    assert statement.text == "SELECT $1, CAST($2 AS int), $1, '[]'::json WHERE x = $2"
    assert statement.names == ("a", "b")
    assert statement.args({"b": 2, "a": 1, "unused": 3}) == [1, 2]


def test_a_json_parameter_must_be_one_of_the_statement() -> None:
    with pytest.raises(ValueError, match="doc"):
        Sql("SELECT :a", json=("doc",))


async def test_a_statement_runs_in_the_transaction_of_its_connection(db: Database) -> None:
    consumer, kept, dropped = ref("sql"), uuid.uuid4(), uuid.uuid4()
    # Given a connection in no transaction yet, when a statement runs on it and it rolls back
    async with db.connect() as conn:
        await CLAIM.execute(conn, {"consumer": consumer, "event_id": dropped})
        assert conn.in_transaction()
        await conn.rollback()
    # ...and another runs inside `begin()`, with SQLAlchemy's own statement, and commits
    async with db.engine.begin() as conn:
        await CLAIM.execute(conn, {"consumer": consumer, "event_id": kept})
        await conn.execute(text("SELECT 1"))
    # Then only the committed one is there
    assert await claimed(db, consumer) == [kept]


async def test_statements_are_counted_as_sqlalchemys_are(db: Database) -> None:
    consumer = ref("sql")
    with db.count_statements() as counter:
        async with db.engine.begin() as conn:
            status = await CLAIM.execute(conn, {"consumer": consumer, "event_id": uuid.uuid4()})
            rows = await CLAIMED.fetch(conn, {"consumer": consumer})
    assert rowcount(status) == 1
    assert len(rows) == 1
    assert counter.statements == [CLAIM.text, CLAIMED.text]
    assert counter.commits == 1


async def test_a_constraint_violation_is_sqlalchemys_integrity_error(db: Database) -> None:
    consumer, event_id = ref("sql"), uuid.uuid4()
    params = {"consumer": consumer, "event_id": event_id}
    async with db.engine.begin() as conn:
        await CLAIM.execute(conn, params)
    with pytest.raises(IntegrityError) as raised:
        async with db.engine.begin() as conn:
            await CLAIM.execute(conn, params)
    assert violated_constraint(raised.value) == "inbox_pkey"
    assert await claimed(db, consumer) == [event_id]


async def test_a_statement_alone_commits_by_itself_and_needs_a_connection_outside_a_transaction(
    db: Database,
) -> None:
    consumer, event_id = ref("sql"), uuid.uuid4()
    # When a statement runs alone: no BEGIN, no COMMIT, and yet it is committed
    with db.count_statements() as counter:
        await CLAIM.run_alone(db, {"consumer": consumer, "event_id": event_id})
        rows = await CLAIMED.read(db, {"consumer": consumer})
    assert [r["event_id"] for r in rows] == [event_id]
    assert (len(counter.statements), counter.commits) == (2, 0)
    assert await claimed(db, consumer) == [event_id]
    # A connection already in a transaction cannot run one alone
    async with db.engine.begin() as conn:
        with pytest.raises(RuntimeError, match="outside any transaction"):
            await CLAIMED.fetch(conn, {"consumer": consumer}, alone=True)


async def test_json_parameters_go_as_json_and_come_back_decoded(db: Database) -> None:
    document = {"state": "RESERVING", "lines": [{"sku": "A-1", "quantity": 2}], "note": None}
    statement = Sql("SELECT CAST(:doc AS jsonb) AS doc, CAST(:none AS jsonb) AS none", json=("doc", "none"))
    row = await statement.read_first(db, {"doc": document, "none": None})
    assert row is not None
    assert (row["doc"], row["none"]) == (document, None)


async def test_a_solo_statement_first_in_its_transaction_commits_by_itself(db: Database) -> None:
    consumer, first, second = ref("sql"), uuid.uuid4(), uuid.uuid4()
    # Given a transaction that has sent nothing yet, when a solo statement runs in it
    async with db.engine.begin() as conn:
        await CLAIM.execute(conn, {"consumer": consumer, "event_id": first}, solo=True)
        # Then it is committed before the transaction's end: no BEGIN went before it
        assert await claimed(db, consumer) == [first]
    # But after another statement of the transaction, a solo one is part of it and rolls back with it
    async with db.connect() as conn:
        await CLAIMED.fetch(conn, {"consumer": consumer})
        await CLAIM.execute(conn, {"consumer": consumer, "event_id": second}, solo=True)
        await conn.rollback()
    assert await claimed(db, consumer) == [first]


async def test_a_core_select_sends_what_sqlalchemy_sends_and_reads_the_same_rows(db: Database) -> None:
    # Given rows of a consumer of the test's own
    consumer = ref("sql")
    ids = sorted(uuid.uuid4() for _ in range(4))
    async with db.engine.begin() as conn:
        for event_id in ids:
            await CLAIM.execute(conn, {"consumer": consumer, "event_id": event_id})
    # ...and Core SELECTs with every kind of parameter: values in the statement (extracted by its
    # cache key), a tuple comparison, a named bindparam of an array type, an expanding IN
    in_array = inbox.c.event_id == func.any(bindparam("ids", type_=ARRAY(UUID(as_uuid=True))))
    statements = [
        (
            select(inbox.c.event_id, inbox.c.consumer, literal("x"))
            .where(
                inbox.c.consumer == consumer, tuple_(inbox.c.consumer, inbox.c.event_id) > (consumer, ids[0])
            )
            .order_by(inbox.c.event_id),
            None,
        ),
        (select(inbox.c.event_id).where(in_array).order_by(inbox.c.event_id.desc()), {"ids": ids[1:3]}),
        (select(inbox.c.event_id).where(inbox.c.event_id.in_(ids[:2])).order_by(inbox.c.event_id), None),
    ]
    read = []
    for statement, params in statements:
        # When each runs through SQLAlchemy and straight to asyncpg (twice: the second from the cache)
        with db.count_statements() as by_sqlalchemy:
            async with db.connect() as conn:
                expected = [tuple(r) for r in (await conn.execute(statement, params)).all()]
        with db.count_statements() as straight:
            async with db.connect() as conn:
                first = await fetch_core(conn, statement, params, alone=True)
                again = await fetch_core(conn, statement, params, alone=True)
        # Then the rows are the same, in the same order, and so is the text sent
        assert [tuple(r) for r in first] == expected
        assert [tuple(r) for r in again] == expected
        assert straight.statements == by_sqlalchemy.statements * 2
        read.append(expected)
    assert read == [
        [(i, consumer, "x") for i in ids[1:]],
        [(i,) for i in ids[2:0:-1]],
        [(i,) for i in ids[:2]],
    ]


async def test_a_statement_compiled_once_runs_with_each_runs_values(db: Database) -> None:
    # Given a Core SELECT with named parameters (one of an array type, one used twice), compiled once
    consumer, other = ref("compiled"), ref("compiled")
    ids = sorted(uuid.uuid4() for _ in range(3))
    async with db.engine.begin() as conn:
        for owner, event_id in ((consumer, ids[0]), (consumer, ids[1]), (other, ids[2])):
            await CLAIM.execute(conn, {"consumer": owner, "event_id": event_id})
    statement = CompiledSql(
        select(inbox.c.event_id, inbox.c.consumer)
        .where(
            inbox.c.event_id == func.any(bindparam("ids", type_=ARRAY(UUID(as_uuid=True)))),
            or_(inbox.c.consumer == bindparam("who"), literal_column("false")),
            func.length(inbox.c.consumer) == func.length(bindparam("who", type_=Text)),
        )
        .order_by(inbox.c.event_id)
    )

    # When it runs with the values of two requests
    with db.count_statements() as counter:
        async with db.connect() as conn:
            mine = await statement.fetch(conn, {"ids": ids, "who": consumer}, alone=True)
            theirs = await statement.fetch(conn, {"ids": ids[1:], "who": other}, alone=True)

    # Then each reads its own rows, with one text, each name one parameter
    assert [tuple(r) for r in mine] == [(ids[0], consumer), (ids[1], consumer)]
    assert [tuple(r) for r in theirs] == [(ids[2], other)]
    assert statement.names == ("ids", "who")
    assert counter.statements == [statement.text, statement.text]


async def test_a_statement_compiled_once_takes_no_value_of_its_own_nor_an_expanding_in(db: Database) -> None:
    # Given statements with a value written into them, and with an IN of a list
    baked = CompiledSql(select(inbox.c.event_id).where(inbox.c.consumer == "written-in"))
    expanding = CompiledSql(select(inbox.c.event_id).where(inbox.c.event_id.in_([uuid.uuid4()])))

    # When they run, Then the value is asked for by its name, and the IN is refused
    async with db.connect() as conn:
        with pytest.raises(KeyError, match="consumer_1"):
            await baked.fetch(conn, {}, alone=True)
        with pytest.raises(ValueError, match="cannot expand"):
            await expanding.fetch(conn, {}, alone=True)
