"""Single-statement writes the ORM has no spelling for, on PostgreSQL and SQLite (3.35+) alike.

``insert_ignore`` is ``INSERT … ON CONFLICT (…) DO NOTHING RETURNING …``: it
says which rows it wrote, where ``bulk_create(ignore_conflicts=True)`` cannot,
and needs no savepoint, where ``get_or_create`` and a caught ``IntegrityError``
each cost two extra round trips inside a transaction. The unique constraint
decides between concurrent writers: on PostgreSQL the second waits for the
first to commit, then writes nothing.

``update_together`` runs several UPDATE statements as one on PostgreSQL
(the first ones as data-modifying ``WITH`` clauses), one after another elsewhere.
"""

from collections.abc import Iterable, Sequence

from django.db import connection, connections
from django.db.models import Model, QuerySet
from django.db.models.sql import UpdateQuery


def insert_ignore(model: type[Model], rows: Iterable[dict], *, conflict: Sequence[str],
                  returning: Sequence[str] = ("pk",)) -> list[tuple]:
    """Inserts ``rows`` (field name → value, the same fields in each) unless ``conflict`` already holds.

    Returns one tuple of the ``returning`` fields' database values per row written
    (none for the rows that were already there), in no promised order. Fields
    left out take their database defaults, so give every field without one.
    Values go through each field's ``get_db_prep_save``, as the ORM's own
    inserts do; nothing is quoted by hand.
    """
    rows = list(rows)
    if not rows:
        return []
    meta = model._meta
    quote = connection.ops.quote_name
    names = list(rows[0])
    fields = [meta.get_field(name) for name in names]
    returned = [meta.pk if name == "pk" else meta.get_field(name) for name in returning]
    columns = ", ".join(quote(field.column) for field in fields)
    targets = ", ".join(quote(meta.get_field(name).column) for name in conflict)
    one_row = f"({', '.join(['%s'] * len(fields))})"
    params = []
    for row in rows:
        if list(row) != names:
            raise ValueError("every row must name the same fields, in the same order")
        params.extend(field.get_db_prep_save(row[field.name], connection) for field in fields)
    sql = (f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {', '.join([one_row] * len(rows))} "  # noqa: S608 (names from the model; values are parameters)
           f"ON CONFLICT ({targets}) DO NOTHING RETURNING {', '.join(quote(field.column) for field in returned)}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()]


def update_together(*updates: tuple[QuerySet, dict]) -> None:
    """``queryset.update(**values)`` for each ``(queryset, values)``: one round trip on PostgreSQL.

    The statements are the ORM's own; on PostgreSQL all but the last become ``WITH``
    clauses of the last, so they see one snapshot and none sees another's change:
    give each its own rows (distinct tables here), and read no row another one writes.
    Row counts are not returned. Elsewhere each runs in turn.
    """
    if not updates:
        return
    alias = updates[0][0].db
    if connections[alias].vendor != "postgresql" or len(updates) == 1:
        for queryset, values in updates:
            queryset.update(**values)
        return
    statements = []
    for queryset, values in updates:
        if queryset.db != alias:
            raise ValueError("every update must use the same database")
        query = queryset.query.chain(UpdateQuery)
        query.add_update_values(values)
        if query.related_updates:
            raise ValueError("update_together writes one table per update (no inherited fields)")
        statements.append(query.get_compiler(alias).as_sql())
    *firsts, (last_sql, _) = statements
    sql = "WITH " + ", ".join(f"u{number} AS ({first_sql})" for number, (first_sql, _) in enumerate(firsts))
    with connections[alias].cursor() as cursor:
        cursor.execute(f"{sql} {last_sql}", [param for _, params in statements for param in params])
