"""Updating many rows, each with its own values, in one statement."""

from django.db import connections, router


def rows_update(model, fields: list[str], rows: list[tuple], *, only_if: dict | None = None) -> int:
    """UPDATE `model` SET each of `fields` from `rows` of (pk, value, ...): one statement.

    `only_if` ({field: value}) limits it to rows still in that state. Django's bulk_update
    builds a CASE expression per field per row, which costs more to compose in Python than
    the update costs the database; a VALUES list joined on the primary key does not. The
    VALUES columns are named column1, column2, … in PostgreSQL and SQLite alike.
    """
    if not rows:
        return 0
    connection = connections[router.db_for_write(model)]
    qn = connection.ops.quote_name
    meta = model._meta
    table = qn(meta.db_table)
    sets = ", ".join(
        f"{qn(meta.get_field(name).column)} = v.column{i + 2}" for i, name in enumerate(fields)
    )
    row_sql = "(" + ", ".join(["%s"] * (len(fields) + 1)) + ")"
    sql = (
        f"UPDATE {table} SET {sets} FROM (VALUES {', '.join([row_sql] * len(rows))}) AS v"
        f" WHERE {table}.{qn(meta.pk.column)} = v.column1"
    )
    params = [
        field.get_db_prep_save(value, connection) if field else value
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
