"""Single-statement writes the ORM has no spelling for, on PostgreSQL and SQLite (3.35+) alike.

``insert_ignore`` is ``INSERT … ON CONFLICT (…) DO NOTHING RETURNING …``: it
says which rows it wrote, where ``bulk_create(ignore_conflicts=True)`` cannot,
and needs no savepoint, where ``get_or_create`` and a caught ``IntegrityError``
each cost two extra round trips inside a transaction. The unique constraint
decides between concurrent writers: on PostgreSQL the second waits for the
first to commit, then writes nothing. Its target may be a partial unique index
(a ``UniqueConstraint`` with a ``condition``): ``ON CONFLICT (…) WHERE … DO NOTHING``.

``update_together`` runs several UPDATE statements as one on PostgreSQL
(the first ones as data-modifying ``WITH`` clauses), one after another elsewhere;
``insert_together`` does the same for new rows of several tables.

The SQL text of an ``insert_ignore`` and of a :class:`RowUpdate` depends only on
the model and the field names, so it is built once per process and reused: on
the outbox's hottest path (every local delivery writes a claim and three row
updates) building the ORM's queries cost more CPU than the round trips.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.db import connection, connections, router
from django.db.models import Model, QuerySet, UniqueConstraint
from django.db.models.sql import UpdateQuery


def insert_ignore(model: type[Model], rows: Iterable[dict], *, conflict: Sequence[str] | UniqueConstraint,
                  returning: Sequence[str] = ("pk",)) -> list[tuple]:
    """Inserts ``rows`` (field name → value, the same fields in each) unless ``conflict`` already holds.

    ``conflict`` is the field names of a unique constraint or index, or one of the model's own
    :class:`~django.db.models.UniqueConstraint` (:func:`unique_constraint`): for one with a ``condition``
    (a partial unique index) the target is ``(its columns) WHERE <its condition>``, the condition compiled by
    Django as for the index itself, so the database takes that index as the arbiter. Only a conflict on the
    target is skipped: a row outside the condition, or one breaking another unique index, fails as an INSERT does.

    Returns one tuple of the ``returning`` fields' database values per row written
    (none for the rows that were already there), in no promised order. Fields
    left out take their database defaults, so give every field without one.
    Values go through each field's ``get_db_prep_save``, as the ORM's own
    inserts do; nothing is quoted by hand.
    """
    rows = list(rows)
    if not rows:
        return []
    if isinstance(conflict, UniqueConstraint):
        if unique_constraint(model, conflict.name) != conflict:
            raise ValueError(f"{conflict.name} is not a constraint of {model.__name__}")
        target: tuple | str = conflict.name
    else:
        target = tuple(conflict)
    names = tuple(rows[0])
    sql, fields = _insert_ignore_sql(model, names, target, tuple(returning), len(rows), connection.vendor)
    params = []
    for row in rows:
        if tuple(row) != names:
            raise ValueError("every row must name the same fields, in the same order")
        params.extend(field.get_db_prep_save(row[field.name], connection) for field in fields)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()]


def unique_constraint(model: type[Model], name: str) -> UniqueConstraint:
    """The model's ``UniqueConstraint`` of this name (for :func:`insert_ignore`'s ``conflict``)."""
    for constraint in model._meta.constraints:
        if isinstance(constraint, UniqueConstraint) and constraint.name == name:
            return constraint
    raise ValueError(f"{model.__name__} has no unique constraint {name}")


@lru_cache(maxsize=256)
def _insert_ignore_sql(model: type[Model], names: tuple, target: tuple | str, returning: tuple, count: int,
                       vendor: str) -> tuple[str, list]:
    """The statement of :func:`insert_ignore` and the fields its parameters go through, per shape.

    ``target``: the conflict's field names, or the name of one of the model's unique constraints."""
    meta = model._meta
    quote = connection.ops.quote_name
    fields = [meta.get_field(name) for name in names]
    returned = [meta.pk if name == "pk" else meta.get_field(name) for name in returning]
    columns = ", ".join(quote(field.column) for field in fields)
    conflict = f"({', '.join(quote(meta.get_field(name).column) for name in target)})" \
        if isinstance(target, tuple) else _constraint_target(model, unique_constraint(model, target))
    one_row = f"({', '.join(['%s'] * len(fields))})"
    sql = (f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {', '.join([one_row] * count)} "  # noqa: S608 (names from the model; values are parameters)
           f"ON CONFLICT {conflict} DO NOTHING RETURNING {', '.join(quote(field.column) for field in returned)}")
    return sql, fields


def _constraint_target(model: type[Model], constraint: UniqueConstraint) -> str:
    """``(columns)``, and ``WHERE <condition>`` for a partial index: what the database needs to infer the
    constraint's index as the arbiter (PostgreSQL 9.5+, SQLite 3.24+)."""
    if constraint.expressions or not constraint.fields:
        raise ValueError(f"{constraint.name}: insert_ignore targets fields, not expressions")
    if constraint.deferrable is not None:
        raise ValueError(f"{constraint.name}: a deferrable constraint cannot be an ON CONFLICT arbiter")
    meta = model._meta
    target = f"({', '.join(connection.ops.quote_name(meta.get_field(name).column) for name in constraint.fields)})"
    if constraint.condition is None:
        return target
    # Django's own compilation of the condition, its values quoted as literals: the text it wrote into the
    # index's CREATE UNIQUE INDEX … WHERE (a parameter there would leave PostgreSQL nothing to match the
    # index's predicate against). A literal's "%" is doubled: the statement still takes parameters.
    connection.ensure_connection()
    predicate = constraint._get_condition_sql(model, connection.schema_editor())
    return f"{target} WHERE {predicate.replace('%', '%%')}"


def insert_together(*rows: Model) -> None:
    """Inserts new model instances (their primary keys set in Python), each table's rows together.

    On PostgreSQL one statement: every table's INSERT but the last is a data-modifying ``WITH`` part
    (foreign keys are checked at commit, deferred), its values the fields' ``get_db_prep_save``, names from
    ``_meta``. Revenue's sale and its shares went in as ``create()`` and ``bulk_create()``: two round
    trips and ~0.5 ms of the ORM's CPU. Elsewhere, ``bulk_create`` per table.
    """
    by_model: dict[type[Model], list[Model]] = {}
    for row in rows:
        by_model.setdefault(type(row), []).append(row)
    if connection.vendor != "postgresql":
        for model, objects in by_model.items():
            model.objects.bulk_create(objects)
        return
    quote = connection.ops.quote_name
    statements, params = [], []
    for model, objects in by_model.items():
        fields = model._meta.concrete_fields
        one_row = f"({', '.join(['%s'] * len(fields))})"
        statements.append(f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608 (names from the models; values are parameters)
                          f"VALUES {', '.join([one_row] * len(objects))}")
        params.extend(field.get_db_prep_save(field.pre_save(row, True), connection)
                      for row in objects for field in fields)
    *withs, last = statements
    sql = "".join(f"{'WITH' if index == 0 else ','} w{index} AS ({part}) " for index, part in enumerate(withs)) + last
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    for row in rows:
        row._state.adding, row._state.db = False, connection.alias


@dataclass(frozen=True)
class RowUpdate:
    """``model.objects.filter(pk=pk, **where).update(**values)`` as a statement whose text is built once.

    ``where`` holds further equality conditions (no ``None``). Values go through each
    field's ``get_db_prep_save`` and conditions through ``get_db_prep_value``, as in the
    ORM's own UPDATE; no expressions. Run it with :func:`update_together`.
    """

    model: type[Model]
    pk: Any
    values: dict
    where: dict = field(default_factory=dict)

    @property
    def db(self) -> str:
        return router.db_for_write(self.model)

    def as_sql(self, using: str) -> tuple[str, list]:
        db = connections[using]
        sql, set_fields, where_fields = _row_update_sql(self.model, tuple(self.values), tuple(self.where), db.vendor)
        params = [f.get_db_prep_save(self.values[f.name], db) for f in set_fields]
        params.append(self.model._meta.pk.get_db_prep_value(self.pk, db, prepared=False))
        for f in where_fields:
            value = self.where[f.name]
            if value is None or hasattr(value, "resolve_expression"):
                raise ValueError("a RowUpdate condition is an equality with a plain value")
            params.append(f.get_db_prep_value(value, db, prepared=False))
        return sql, params


@lru_cache(maxsize=256)
def _row_update_sql(model: type[Model], names: tuple, where: tuple, vendor: str) -> tuple[str, list, list]:
    meta = model._meta
    quote = connection.ops.quote_name
    set_fields = [meta.get_field(name) for name in names]
    where_fields = [meta.get_field(name) for name in where]
    for f in set_fields:
        # A field with Django's ``get_placeholder`` hook (GIS geometry, say) needs SQL around its ``%s`` that
        # this fixed text does not write; an inherited or non-concrete one lives in another table.
        if not f.concrete or f.model is not model or hasattr(f, "get_placeholder"):
            raise ValueError(f"RowUpdate cannot write {model.__name__}.{f.name}")
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in set_fields)
    conditions = "".join(f" AND {quote(f.column)} = %s" for f in where_fields)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s{conditions}"  # noqa: S608 (names from the model; values are parameters)
    return sql, set_fields, where_fields


def update_together(*updates: "tuple[QuerySet, dict] | RowUpdate") -> None:
    """``queryset.update(**values)`` for each ``(queryset, values)`` or :class:`RowUpdate`: one round trip on
    PostgreSQL.

    On PostgreSQL all but the last statement become ``WITH`` clauses of the last, so
    they see one snapshot and none sees another's change: give each its own rows
    (distinct tables here), and read no row another one writes. Row counts are not
    returned. Elsewhere each runs in turn.
    """
    if not updates:
        return
    alias = _db_of(updates[0])
    if connections[alias].vendor != "postgresql" or len(updates) == 1:
        for update in updates:
            if isinstance(update, RowUpdate):
                with connections[alias].cursor() as cursor:
                    cursor.execute(*update.as_sql(alias))
            else:
                queryset, values = update
                queryset.update(**values)
        return
    statements = []
    for update in updates:
        if _db_of(update) != alias:
            raise ValueError("every update must use the same database")
        if isinstance(update, RowUpdate):
            statements.append(update.as_sql(alias))
            continue
        queryset, values = update
        query = queryset.query.chain(UpdateQuery)
        query.add_update_values(values)
        if query.related_updates:
            raise ValueError("update_together writes one table per update (no inherited fields)")
        statements.append(query.get_compiler(alias).as_sql())
    *firsts, (last_sql, _) = statements
    sql = "WITH " + ", ".join(f"u{number} AS ({first_sql})" for number, (first_sql, _) in enumerate(firsts))
    with connections[alias].cursor() as cursor:
        cursor.execute(f"{sql} {last_sql}", [param for _, params in statements for param in params])


def _db_of(update: "tuple[QuerySet, dict] | RowUpdate") -> str:
    return update.db if isinstance(update, RowUpdate) else update[0].db
