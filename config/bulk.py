"""Inserting and updating many rows, each with its own values, in one statement."""

import json

from django.db import connections, router


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


def objects_insert(objs: list, *, ignore_conflicts: bool = False) -> list:
    """Insert unsaved model instances in one statement; bulk_create's lean twin for the hot
    paths, on PostgreSQL (elsewhere it is bulk_create).

    bulk_create prepares each value through its field and binds one parameter per value:
    for a batch that costs more in Python than the insert costs the database (psycopg
    re-parses a statement of over 50 parameters every time). Here the rows travel as one
    JSON parameter that PostgreSQL expands into the table's row type
    (json_populate_recordset), so plain values (str, numbers, datetimes, dicts of a
    JSONField, …) are all a row needs. Primary keys are set on the instances, except with
    `ignore_conflicts`, where skipped rows have none.
    """
    if not objs:
        return objs
    model = type(objs[0])
    meta = model._meta
    alias = router.db_for_write(model)
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return model.objects.using(alias).bulk_create(objs, ignore_conflicts=ignore_conflicts)
    pk = meta.pk
    fields = [f for f in meta.concrete_fields if f is not pk or objs[0].pk is not None]
    stamped = [
        f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    rows = []
    for obj in objs:
        for field in stamped:
            field.pre_save(obj, add=True)
        rows.append({field.column: getattr(obj, field.attname) for field in fields})
    qn = connection.ops.quote_name
    table, columns = qn(meta.db_table), ", ".join(qn(f.column) for f in fields)
    sql = (
        f"INSERT INTO {table} ({columns}) SELECT {columns}"
        f" FROM json_populate_recordset(NULL::{table}, %s::json)"
    )
    returning = not ignore_conflicts and pk not in fields
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    elif returning:
        sql += f" RETURNING {qn(pk.column)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [json.dumps(rows, default=str)])
        keys = cursor.fetchall() if returning else None
    for i, obj in enumerate(objs):
        if keys is not None:
            setattr(obj, pk.attname, keys[i][0])
        obj._state.adding = False
        obj._state.db = alias
    return objs
