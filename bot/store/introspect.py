"""The shape of a migrated schema, read from the database itself, in terms both dialects share.

SQLite and PostgreSQL migrations are written twice (``migrations/`` and ``migrations/postgresql/``), so
they could drift apart without anyone noticing: a column added on one side only, an index forgotten,
a foreign key without ``ON DELETE CASCADE``. ``schema_shape`` reads what a database actually has (SQLite's
pragmas, PostgreSQL's catalogs) and reduces it to what must be equal: tables; columns in order with a type
family (integer, real, text, blob), nullability and default; primary keys; foreign keys with their
delete rule; unique constraints; named indexes with their columns, uniqueness and predicate; triggers.
A test compares the two; ``migrate-db`` can use the same check before copying rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.store.database import Database

# The runner's own bookkeeping (PostgreSQL keeps the version in a table, SQLite in a pragma).
IGNORED_TABLES = frozenset({"ensemble_schema"})
# Tables whose engine-specific form differs on purpose: full-text search is an FTS5 virtual table on SQLite
# and a table with a tsvector column and a GIN index on PostgreSQL. Both index a text ``body`` by ``rowid``.
FULL_TEXT_TABLES = frozenset({"memory_text"})
# What a full-text table holds on both engines (SQLite's FTS5 columns; PostgreSQL's plain columns beside
# the tsvector generated from them): what migrate-db copies and the parity check requires.
FULL_TEXT_COLUMNS = ("rowid", "body", "scope")


@dataclass(frozen=True)
class ColumnShape:
    name: str
    family: str
    not_null: bool
    default: str | None
    generated: bool  # an id the database assigns (SQLite's INTEGER PRIMARY KEY, PostgreSQL's identity)


@dataclass(frozen=True)
class ForeignKeyShape:
    columns: tuple[str, ...]
    table: str
    ref_columns: tuple[str, ...]
    on_delete: str


@dataclass(frozen=True)
class IndexShape:
    name: str
    columns: tuple[str, ...]
    unique: bool
    where: str | None


@dataclass(frozen=True)
class TableShape:
    name: str
    columns: tuple[ColumnShape, ...]
    primary_key: tuple[str, ...]
    foreign_keys: frozenset[ForeignKeyShape]
    unique: frozenset[tuple[str, ...]]
    indexes: frozenset[IndexShape]
    triggers: frozenset[str]


def type_family(declared: str) -> str:
    """SQLite's affinity rules, applied to both dialects' type names."""
    name = declared.upper()
    if "INT" in name:
        return "integer"
    if any(word in name for word in ("CHAR", "CLOB", "TEXT")):
        return "text"
    if "BLOB" in name or "BYTEA" in name or not name:
        return "blob"
    if any(word in name for word in ("REAL", "FLOA", "DOUB", "NUMERIC", "DECIMAL")):
        return "real"
    return name.lower()


_CAST = re.compile(r"::[a-z_ ]+(\[\])?", re.IGNORECASE)


def normalize_expression(text: str | None) -> str | None:
    """A default or index predicate without casts, outer parentheses, case or spacing differences."""
    if text is None:
        return None
    cleaned = _CAST.sub("", text)
    cleaned = re.sub(r"[()\s]+", " ", cleaned).strip().lower()
    return cleaned or None


def shape_differences(sqlite: dict[str, TableShape], postgres: dict[str, TableShape]) -> list[str]:
    """What differs between a SQLite and a PostgreSQL schema, one sentence each (nothing: the same schema).

    Full-text tables are only required to exist on both sides with the ``FULL_TEXT_COLUMNS``.
    """
    problems = [f"table {name} is only in the SQLite database" for name in sorted(set(sqlite) - set(postgres))]
    problems += [f"table {name} is only in the PostgreSQL database" for name in sorted(set(postgres) - set(sqlite))]
    for name in sorted(set(sqlite) & set(postgres)):
        lite, pg = sqlite[name], postgres[name]
        if name in FULL_TEXT_TABLES:
            for column in FULL_TEXT_COLUMNS[1:]:
                if column not in {c.name for c in lite.columns} or column not in {c.name for c in pg.columns}:
                    problems.append(f"full-text table {name} has no {column} column on both sides")
            continue
        if lite.columns != pg.columns:
            problems.append(f"table {name} has other columns: {lite.columns} in SQLite, {pg.columns} in PostgreSQL")
        for part in ("primary_key", "foreign_keys", "unique", "indexes", "triggers"):
            if getattr(lite, part) != getattr(pg, part):
                problems.append(
                    f"table {name} has other {part.replace('_', ' ')}: {getattr(lite, part)} in SQLite, {getattr(pg, part)} in PostgreSQL"
                )
    return problems


async def schema_shape(db: Database) -> dict[str, TableShape]:
    """Every table of ``db`` (but the runner's own) and its shape."""
    if db.dialect == "sqlite":
        return await _sqlite_shape(db)
    return await _postgres_shape(db)


async def _sqlite_shape(db: Database) -> dict[str, TableShape]:
    listed = await db.fetch_all(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    )
    # A full-text (FTS5) virtual table keeps its index in shadow tables named after it (memory_text_data,
    # _idx, _content, _docsize, _config): SQLite's machinery, not part of the schema PostgreSQL must mirror
    # (there the same search is a tsvector column with a GIN index). The virtual table itself is kept.
    virtual = {r["name"] for r in listed if re.match(r"\s*CREATE\s+VIRTUAL\s+TABLE", r["sql"] or "", re.IGNORECASE)}
    shadows = {f"{v}_{suffix}" for v in virtual for suffix in ("data", "idx", "content", "docsize", "config")}
    names = [r["name"] for r in listed if r["name"] not in shadows]
    shapes: dict[str, TableShape] = {}
    for table in names:
        if table in IGNORED_TABLES:
            continue
        info = await db.fetch_all(f"PRAGMA table_info('{table}')")
        pk = tuple(r["name"] for r in sorted((r for r in info if r["pk"]), key=lambda r: r["pk"]))
        sql = await db.fetch_value("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
        without_rowid = re.search(r"\)\s*WITHOUT\s+ROWID\s*;?\s*$", sql or "", re.IGNORECASE) is not None
        rowid_alias = (
            not without_rowid and len(pk) == 1 and any(r["name"] == pk[0] and r["type"].upper() == "INTEGER" for r in info)
        )
        groups: dict[int, list] = {}
        for r in await db.fetch_all(f"PRAGMA foreign_key_list('{table}')"):
            groups.setdefault(r["id"], []).append(r)
        foreign_keys = frozenset(
            ForeignKeyShape(
                columns=tuple(r["from"] for r in sorted(rows, key=lambda r: r["seq"])),
                table=rows[0]["table"],
                ref_columns=tuple(r["to"] for r in sorted(rows, key=lambda r: r["seq"])),
                on_delete=rows[0]["on_delete"].upper(),
            )
            for rows in groups.values()
        )
        # A rowid alias that is also a foreign key (scene_pacing.scene_id) is always given, never assigned.
        referencing = {column for fk in foreign_keys for column in fk.columns}
        columns = tuple(
            ColumnShape(
                name=r["name"],
                family=type_family(r["type"]),
                not_null=bool(r["notnull"]) or r["name"] in pk,
                default=normalize_expression(r["dflt_value"]),
                generated=rowid_alias and r["name"] == pk[0] and r["name"] not in referencing,
            )
            for r in info
        )
        unique: set[tuple[str, ...]] = set()
        indexes: set[IndexShape] = set()
        for r in await db.fetch_all(f"PRAGMA index_list('{table}')"):
            cols = tuple(c["name"] for c in sorted(await db.fetch_all(f"PRAGMA index_info('{r['name']}')"), key=lambda c: c["seqno"]))
            if r["origin"] == "u":
                unique.add(cols)
            elif r["origin"] == "c":
                sql = await db.fetch_value("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", (r["name"],))
                where = re.split(r"\bWHERE\b", sql, maxsplit=1, flags=re.IGNORECASE)[1] if r["partial"] else None
                indexes.add(IndexShape(r["name"], cols, bool(r["unique"]), normalize_expression(where)))
        triggers = frozenset(
            r[0] for r in await db.fetch_all("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (table,))
        )
        shapes[table] = TableShape(table, columns, pk, foreign_keys, frozenset(unique), frozenset(indexes), triggers)
    return shapes


_PG_DELETE = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


async def _postgres_shape(db: Database) -> dict[str, TableShape]:
    names = [
        r[0]
        for r in await db.fetch_all(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
        )
    ]
    shapes: dict[str, TableShape] = {}
    for table in names:
        if table in IGNORED_TABLES:
            continue
        oid = await db.fetch_value("SELECT to_regclass(?)::oid", (table,))
        constraints = await db.fetch_all(
            "SELECT c.contype::text AS contype, c.confdeltype::text AS confdeltype, c.confrelid::regclass::text AS ref_table, c.conindid,"
            " ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o)"
            "       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o) AS cols,"
            " ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, o)"
            "       JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o) AS ref_cols"
            " FROM pg_constraint c WHERE c.conrelid = ?",
            (oid,),
        )
        pk: tuple[str, ...] = ()
        unique: set[tuple[str, ...]] = set()
        foreign_keys: set[ForeignKeyShape] = set()
        constraint_indexes: set[int] = set()
        for c in constraints:
            if c["contype"] == "p":
                pk = tuple(c["cols"])
                constraint_indexes.add(c["conindid"])
            elif c["contype"] == "u":
                unique.add(tuple(c["cols"]))
                constraint_indexes.add(c["conindid"])
            elif c["contype"] == "f":
                foreign_keys.add(ForeignKeyShape(tuple(c["cols"]), c["ref_table"], tuple(c["ref_cols"]), _PG_DELETE[c["confdeltype"]]))
        columns = tuple(
            ColumnShape(
                name=r["column_name"],
                family=type_family(r["data_type"]),
                not_null=r["is_nullable"] == "NO",
                default=normalize_expression(r["column_default"]),
                generated=r["is_identity"] == "YES",
            )
            for r in await db.fetch_all(
                "SELECT column_name, data_type, is_nullable, column_default, is_identity FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
                (table,),
            )
        )
        indexes = frozenset(
            IndexShape(r["name"], tuple(r["cols"]), r["indisunique"], normalize_expression(r["pred"]))
            for r in await db.fetch_all(
                "SELECT i.relname AS name, ix.indexrelid, ix.indisunique, pg_get_expr(ix.indpred, ix.indrelid) AS pred,"
                " ARRAY(SELECT a.attname FROM unnest(ix.indkey) WITH ORDINALITY k(n, o)"
                "       JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.n ORDER BY k.o) AS cols"
                " FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid WHERE ix.indrelid = ?",
                (oid,),
            )
            if r["indexrelid"] not in constraint_indexes
        )
        triggers = frozenset(
            r[0] for r in await db.fetch_all("SELECT tgname FROM pg_trigger WHERE tgrelid = ? AND NOT tgisinternal", (oid,))
        )
        shapes[table] = TableShape(table, columns, pk, frozenset(foreign_keys), frozenset(unique), indexes, triggers)
    return shapes
