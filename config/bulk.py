"""Inserting and updating many rows, each with its own values, in one statement."""

import json

from django.db import connection, connections, router
from django.utils import timezone


def rows_update(model, fields: list[str], rows: list[tuple], *, only_if: dict | None = None) -> int:
    """UPDATE `model` SET each of `fields` from `rows` of (pk, value, ...): one statement.

    `only_if` ({field: value}) limits it to rows still in that state. Django's bulk_update
    builds a CASE expression per field per row, which costs more to compose in Python than
    the update costs the database; rows joined on the primary key do not. On PostgreSQL the
    rows are one JSON parameter in the table's row type (psycopg parses a statement of over
    50 parameters again on every execution); elsewhere a VALUES list, whose columns are
    named column1, column2, ….
    """
    if not rows:
        return 0
    connection = connections[router.db_for_write(model)]
    qn = connection.ops.quote_name
    meta = model._meta
    table, key = qn(meta.db_table), qn(meta.pk.column)
    columns = [meta.pk.column, *(meta.get_field(name).column for name in fields)]
    if connection.vendor == "postgresql":
        sets = ", ".join(f"{qn(c)} = v.{qn(c)}" for c in columns[1:])
        sql = (
            f"UPDATE {table} SET {sets} FROM json_populate_recordset(NULL::{table}, %s::json)"
            f" AS v WHERE {table}.{key} = v.{key}"
        )
        params = [json.dumps([dict(zip(columns, row, strict=True)) for row in rows], default=str)]
    else:
        sets = ", ".join(f"{qn(c)} = v.column{i + 2}" for i, c in enumerate(columns[1:]))
        row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
        sql = (
            f"UPDATE {table} SET {sets} FROM (VALUES {', '.join([row_sql] * len(rows))}) AS v"
            f" WHERE {table}.{key} = v.column1"
        )
        params = [
            field.get_db_prep_save(value, connection)
            for row in rows
            for field, value in zip([meta.pk, *map(meta.get_field, fields)], row, strict=True)
        ]
    for name, value in (only_if or {}).items():
        field = meta.get_field(name)
        sql += f" AND {table}.{qn(field.column)} = %s"
        params.append(field.get_db_prep_save(value, connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def rows_insert(model, rows: list[dict], *, ignore_conflicts: bool = False) -> list:
    """INSERT `rows` ({attname: value}, the same keys in each; other fields take their
    defaults) in one statement; returns their primary keys in order (none with
    `ignore_conflicts`, where rows that conflict are skipped).

    bulk_create wants model instances, prepares each value through its field and binds a
    parameter per value: for a batch that costs more CPU than the database spends inserting
    it (and psycopg parses a statement of over 50 parameters again on every execution). On
    PostgreSQL the rows go as one JSON parameter expanded in the table's row type
    (json_populate_recordset), so plain values (str, numbers, datetimes, a JSONField's
    dicts) are all a row needs, and each default is one parameter; elsewhere it is
    bulk_create.
    """
    if not rows:
        return []
    meta = model._meta
    alias = router.db_for_write(model)
    conn = connections[alias]
    if conn.vendor != "postgresql":
        objs = model.objects.using(alias).bulk_create(
            [model(**row) for row in rows], ignore_conflicts=ignore_conflicts
        )
        return [] if ignore_conflicts else [obj.pk for obj in objs]
    given = rows[0].keys()
    now = timezone.now()
    qn = conn.ops.quote_name
    columns, values, defaults = [], [], []
    for field in meta.concrete_fields:
        if field.attname in given:
            columns.append(qn(field.column))
            values.append(f"r.{qn(field.column)}")
        elif not field.primary_key:
            stamp = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
            columns.append(qn(field.column))
            values.append(f"CAST(%s AS {field.db_type(conn)})")
            defaults.append(field.get_db_prep_save(now if stamp else field.get_default(), conn))
    table = qn(meta.db_table)
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)}"
        f" FROM json_populate_recordset(NULL::{table}, %s::json) AS r"
    )
    column_of = {f.attname: f.column for f in meta.concrete_fields}
    if any(column_of[name] != name for name in given):
        rows = [{column_of[name]: value for name, value in row.items()} for row in rows]
    sql += " ON CONFLICT DO NOTHING" if ignore_conflicts else f" RETURNING {qn(meta.pk.column)}"
    with conn.cursor() as cursor:
        cursor.execute(sql, [*defaults, json.dumps(rows, default=str)])
        return [] if ignore_conflicts else [key for (key,) in cursor.fetchall()]


def sql_in(values) -> tuple[str, object]:
    """`column <this> ` matching any of `values`, as (SQL, its one parameter): a list of any
    length costs one parameter (see rows_update), on PostgreSQL and SQLite alike."""
    if connection.vendor == "postgresql":
        return "= ANY(%s)", list(values)
    return "IN (SELECT value FROM json_each(%s))", json.dumps(list(values))


def sql_rows(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
