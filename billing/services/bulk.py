"""Set-based reads and writes that the period close and the finalization share.

A close touches hundreds of subscriptions per chunk; one statement per chunk (a GROUP BY
over the chunk's usage, a multi-row INSERT, an executemany UPDATE, a COPY on PostgreSQL)
keeps it to a few round trips, where the unit of work would send one statement per row.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.state import InstanceState

from billing.invoicing import LineValues
from billing.models import Invoice, InvoiceNumberCounter

# The finalization reads usage through this module with the rest of its set-based work.
from billing.services.aggregates import usage_totals as usage_totals
from catalog.models import Plan, PriceComponent
from catalog.plans import plan_price
from catalog.pricing import PlanPrice
from marketplace.db import Base
from marketplace.events.models import OutboxEvent
from marketplace.events.services import mark_recorded, scope_of, take_sequences


@dataclass(frozen=True)
class PlanInfo:
    """What billing needs of a plan version, kept across chunks (plans never change)."""

    id: int
    code: str
    version: int
    currency: str
    vat_rate: Decimal
    billing_interval: str
    price: PlanPrice


def load_plans(session: Session, plan_ids: Iterable[int], cache: dict[int, PlanInfo]) -> None:
    """Put every plan of plan_ids that the cache lacks into it, in one query."""
    missing = set(plan_ids) - cache.keys()
    if not missing:
        return
    stmt = (
        sa.select(Plan)
        .where(Plan.id.in_(missing))
        .options(selectinload(Plan.components).selectinload(PriceComponent.tiers))
    )
    for plan in session.scalars(stmt):
        cache[plan.id] = PlanInfo(
            plan.id,
            plan.code,
            plan.version,
            plan.currency,
            plan.vat_rate,
            plan.billing_interval,
            plan_price(plan),
        )


def table_of(model: type[Base]) -> sa.Table:
    """Return a model's table, for set-based statements that skip the unit of work."""
    return cast(sa.Table, model.__table__)


def _on_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _unnest(
    session: Session, table: sa.Table, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> tuple[str, dict[str, list[Any]]]:
    """Return `unnest(CAST(:c0 AS type[]), …)` over the rows' columns, and its parameters.

    One array per column keeps the statement short however many rows it carries, where a
    multi-row VALUES grows with them and costs the driver a parse of every placeholder.
    """
    dialect = session.get_bind().dialect
    arrays = ", ".join(
        f"CAST(:c{n} AS {table.c[column].type.compile(dialect=dialect)}[])"
        for n, column in enumerate(columns)
    )
    params = {f"c{n}": [row[column] for row in rows] for n, column in enumerate(columns)}
    return f"unnest({arrays})", params


def _names(columns: Sequence[str], table: sa.Table) -> str:
    missing = [column for column in columns if column not in table.c]
    if missing:
        raise ValueError(f"not columns of {table.name}: {missing}")
    return ", ".join(f'"{column}"' for column in columns)


def update_rows(
    session: Session, table: sa.Table, rows: Sequence[Mapping[str, Any]], *, versioned: bool = False
) -> None:
    """Update rows by id in one statement; each row maps "id" and the same new values."""
    if not rows:
        return
    fields = [key for key in rows[0] if key != "id"]
    with session.no_autoflush:  # or the unit of work would send its own UPDATEs first
        if _on_postgresql(session):
            _update_from_arrays(session, table, ["id", *fields], rows, versioned)
            return
        values: dict[str, Any] = {field: sa.bindparam(f"new_{field}") for field in fields}
        if versioned:
            values["version"] = table.c.version + 1
        params = [{"row_id": row["id"], **{f"new_{f}": row[f] for f in fields}} for row in rows]
        stmt = sa.update(table).where(table.c.id == sa.bindparam("row_id")).values(values)
        session.execute(stmt, params)


def _update_from_arrays(
    session: Session,
    table: sa.Table,
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    versioned: bool,
) -> None:
    source, params = _unnest(session, table, columns, rows)
    sets = [f'"{column}" = v."{column}"' for column in columns[1:]]
    if versioned:
        sets.append('"version" = t."version" + 1')
    sql = (
        # Only names of the table's own columns go into the text; values are parameters.
        f'UPDATE "{table.name}" AS t SET {", ".join(sets)} '  # noqa: S608
        f'FROM {source} AS v({_names(columns, table)}) WHERE t."id" = v."id"'
    )
    session.execute(sa.text(sql), params)


def insert_returning(
    session: Session,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    conflict: Sequence[str],
    returning: Sequence[str],
) -> list[sa.Row[Any]]:
    """Insert rows in one statement, skipping those that clash on `conflict`; return the rest."""
    if not rows:
        return []
    if not _on_postgresql(session):
        stmt = (
            dialect_insert(session, table)
            .on_conflict_do_nothing(index_elements=list(conflict))
            .returning(*(table.c[name] for name in returning))
        )
        return list(session.execute(stmt, list(rows)))
    columns = list(rows[0])
    source, params = _unnest(session, table, columns, rows)
    sql = (
        f'INSERT INTO "{table.name}" ({_names(columns, table)}) SELECT * FROM {source} '  # noqa: S608
        f"ON CONFLICT ({_names(conflict, table)}) DO NOTHING RETURNING {_names(returning, table)}"
    )
    types = {name: table.c[name].type for name in returning}
    stmt = sa.text(sql).columns(**types)
    return list(session.execute(stmt, params))


def write_back(
    session: Session, objects: Sequence[Any], fields: Sequence[str], *, versioned: bool = False
) -> None:
    """Write fields of loaded objects in one executemany UPDATE and leave the objects clean.

    The unit of work would send one UPDATE per row and then check every attribute of every
    object at each flush; a chunk of a close changes hundreds of rows, so their new values
    go in one statement (under the row locks the chunk holds) and the objects are marked
    as flushed, the way the unit of work marks them after its own UPDATE. Only `fields`
    may have changed: other pending changes of these objects would be forgotten.
    """
    if not objects:
        return
    rows = [{"id": row.id, **{field: getattr(row, field) for field in fields}} for row in objects]
    update_rows(session, table_of(type(objects[0])), rows, versioned=versioned)
    states = [instance_state(row) for row in objects]
    if versioned:
        for state in states:
            state.dict["version"] += 1
    InstanceState._commit_all_states(
        [(state, state.dict) for state in states], session.identity_map
    )


def dialect_insert(session: Session, table: sa.Table) -> Any:
    """Return an INSERT of the session's dialect, which knows ON CONFLICT DO NOTHING."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def bulk_insert(session: Session, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows that need no ids back: COPY on PostgreSQL, a multi-row INSERT elsewhere."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(sa.insert(table), list(rows))
        return
    from psycopg import sql

    columns = list(rows[0])
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    driver = session.connection().connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([_copy_value(row[column]) for column in columns])


def _copy_value(value: Any) -> Any:
    # COPY sends text: JSON goes as its text, an enum as its value (not its name).
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, Enum):
        return value.value
    return value


def take_invoice_numbers(session: Session, year: int, count: int) -> range:
    """Take the next `count` numbers of a year; the counter row stays locked until commit."""
    table = table_of(InvoiceNumberCounter)
    # The first finalization of a year makes the row; a concurrent one waits, then skips.
    session.execute(
        dialect_insert(session, table)
        .values(year=year, last_number=0)
        .on_conflict_do_nothing(index_elements=["year"])
    )
    last = session.execute(
        sa.update(table)
        .where(table.c.year == year)
        .values(last_number=table.c.last_number + count)
        .returning(table.c.last_number)
    ).scalar_one()
    return range(last - count + 1, last + 1)


PAYLOAD_FIELDS = (
    "id",
    "vendor_id",
    "organization_id",
    "subscription_id",
    "number",
    "status",
    "sandbox",
    "currency",
    "period_start",
    "total_fen",
    "tax_fen",
    "amount_due_fen",
)


def payload_of(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Describe an invoice, given its column values, the way every invoice event does."""
    return {
        "invoice_id": fields["id"],
        "vendor_id": fields["vendor_id"],
        "firm_id": fields["organization_id"],
        "subscription_id": fields["subscription_id"],
        "number": fields.get("number"),
        "status": str(fields["status"]),
        "sandbox": fields["sandbox"],
        "currency": fields["currency"],
        "period_start": fields["period_start"].isoformat(),
        "total_fen": fields["total_fen"],
        "tax_fen": fields["tax_fen"],
        "amount_due_fen": fields["amount_due_fen"],
    }


def invoice_payload(invoice: Invoice) -> dict[str, Any]:
    """Describe an invoice the way every invoice event does."""
    return payload_of({name: getattr(invoice, name) for name in PAYLOAD_FIELDS})


def line_row(invoice_id: int, position: int, line: LineValues) -> dict[str, Any]:
    """Return the values of an invoice line's row."""
    return {
        "invoice_id": invoice_id,
        "position": position,
        "kind": line.kind.value,
        "description_key": line.description_key,
        "dimension": line.dimension,
        "quantity": line.quantity,
        "amount_fen": line.amount_fen,
        "tax_fen": line.tax_fen,
        "period_start": line.period_start,
        "period_end": line.period_end,
        "plan_id": line.plan_id,
        "subsidy_program_id": line.subsidy_program_id,
    }


def record_invoice_events(
    session: Session, now: datetime, events: Sequence[tuple[str, Mapping[str, Any]]]
) -> None:
    """Write invoice events to the outbox in one statement, addressed to each vendor.

    Each event is numbered within its subscription as record_event numbers it, taking all
    the numbers a subscription needs in one counter update; events of one subscription
    get consecutive numbers in the order given.
    """
    if not events:
        return
    mark_recorded(session)
    rows = [
        {
            "type": kind,
            "organization_id": payload["vendor_id"],
            "aggregate_type": "invoice",
            "aggregate_id": str(payload["invoice_id"]),
            "payload": dict(payload),
            "created_at": now,
            "attempts": 0,
        }
        for kind, payload in events
    ]
    scopes = [scope_of("invoice", row["aggregate_id"], row["payload"]) for row in rows]
    following = take_sequences(session, Counter(scopes))
    for row, scope in zip(rows, scopes, strict=True):
        row["sequence"] = following[scope]
        following[scope] += 1
    bulk_insert(session, table_of(OutboxEvent), rows)
