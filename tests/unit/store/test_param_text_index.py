"""Migration 0016 and the short-text predicate (ADR-114), on SQLite and PostgreSQL.

PostgreSQL's ``(key, text_value, run_id)`` index on ``params`` holds only values shorter than
``SHORT_TEXT_CHARS``; a filter's ``params.x = "..."`` with a shorter literal says so, so the planner may use it. The
predicate must never drop a match: every search here is compared with the runs' own values and with the same
search compiled without the predicate.
"""

from __future__ import annotations

import pytest
from older_store import forget_migration
from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite

from jupyter_mlops.store import open_store
from jupyter_mlops.store import schema as s
from jupyter_mlops.store.filter_sql import compile_count, compile_node
from jupyter_mlops.store.filters import parse
from jupyter_mlops.store.layout import MIGRATION_NAMES, SCHEMA_VERSION
from jupyter_mlops.store.search import StatementCache

LIMIT = s.SHORT_TEXT_CHARS
VALUES = [
    "0.1", "adam", "", "it's", 'say "hi"', "back\\slash", "日本語のテキスト", "naïve café", "🙂 emoji",
    "x" * (LIMIT - 1), "x" * LIMIT, "x" * (LIMIT + 1), "é" * (LIMIT - 1), "é" * LIMIT, "🙂" * (LIMIT + 50),
    "y" * 5000, 'q"' * 300,
]


def quoted(value: str) -> str:
    """The filter language's double-quoted string for ``value``."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _index_names(store) -> set[str]:
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "sqlite":
            rows = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'params'"))
        else:
            rows = conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'params'"))
        return {row[0] for row in rows}


def test_the_migration_is_recorded_and_leaves_a_text_index_on_both_back_ends(store):
    assert "0016_param_text_index" in MIGRATION_NAMES and SCHEMA_VERSION == len(MIGRATION_NAMES)
    assert store.pending_migrations() == []
    with store.engine.connect() as conn:
        assert "0016_param_text_index" in set(conn.scalars(text("SELECT name FROM migrations")))
    if store.engine.dialect.name == "sqlite":
        assert "ix_params_key_text_run" in _index_names(store)  # since 0004; 0016 adds nothing there
        return
    assert "ix_params_key_short_text_run" in _index_names(store)
    with store.engine.connect() as conn:
        definition = conn.scalar(text("SELECT indexdef FROM pg_indexes "
                                      "WHERE indexname = 'ix_params_key_short_text_run'"))
        kinds = {name: list(kind) for name, kind in conn.execute(text(
            "SELECT stxname, stxkind FROM pg_statistic_ext WHERE stxrelid = CAST('params' AS regclass)"))}
    assert "(key, text_value, run_id)" in definition and f"< {LIMIT}" in definition
    assert kinds == {"st_params_key_text": ["m"]}, kinds  # most-common values over key and text together


def test_an_older_store_gets_the_index_when_opened(store_url):
    store = open_store(store_url)
    run = store.create_run(name="before")
    store.log_params(run.id, {"opt": "adam"})
    with store.engine.begin() as conn:
        if store.engine.dialect.name == "postgresql":
            conn.execute(text("DROP INDEX ix_params_key_short_text_run"))
            conn.execute(text("DROP STATISTICS st_params_key_text"))
        forget_migration(conn, "0016_param_text_index")
    store.close()
    with open_store(store_url) as store:
        assert store.pending_migrations() == []
        if store.engine.dialect.name == "postgresql":
            assert "ix_params_key_short_text_run" in _index_names(store)
        assert [r.id for r in store.search_runs('params.opt = "adam"').items] == [run.id]


def test_the_longest_indexed_entry_fits_a_b_tree_entry(store):
    # The worst case the bound allows: a 250-character key and a value one short of it, 4-byte characters
    # that do not compress. PostgreSQL would refuse the write if the entry were over its 2,704-byte limit.
    key = "".join(chr(0x10000 + 7919 * n % 0xFFFFF) for n in range(250))
    value = "".join(chr(0x10000 + 104729 * n % 0xFFFFF) for n in range(LIMIT - 1))
    run = store.create_run(name="wide")
    store.log_params(run.id, {key: value})
    assert store.get_run(run.id).params[key] == value


def test_the_predicate_is_said_for_short_equality_literals_on_postgresql_only():
    def sql(filter_text: str, dialect) -> str:
        return str(compile_node(parse(filter_text), stale_before=0.0).compile(dialect=dialect))

    short = f"length(params.text_value) < {LIMIT}"
    assert short in sql('params.lr = "0.1"', postgresql.dialect())
    assert short in sql("params.opt in (adam, sgd)", postgresql.dialect())
    assert "length(" not in sql('params.lr = "0.1"', sqlite.dialect())
    for unbounded in (f'params.x = "{"x" * LIMIT}"', 'params.x != "a"', 'params.x > "a"', 'params.x ~ "a*"',
                      "params.lr = 0.1", "params.x is null"):
        assert "length(" not in sql(unbounded, postgresql.dialect()), unbounded
    count = str(compile_count(parse('metrics.auc > 0.5 and params.lr = "0.1"'), stale_before=0.0)
                .compile(dialect=postgresql.dialect()))
    assert short in count


@pytest.fixture
def valued(store):
    """Runs holding each value of VALUES as param ``x`` (three runs each, one of them also with ``auc``)."""
    ids: dict[str, list[str]] = {}
    for n, value in enumerate(VALUES * 3):
        run = store.create_run(name=f"r{n}")
        store.log_params(run.id, {"x": value, "lr": "0.1" if n % 2 else 0.1})
        if n % 3 == 0:
            store.log_metrics(run.id, {"auc": 0.2 + 0.01 * n})
        ids.setdefault(value, []).append(run.id)
    return store, ids


def _without_predicate(monkeypatch, store) -> None:
    # No literal is "short" any more: the same filters compile without the length test.
    monkeypatch.setattr(s, "SHORT_TEXT_CHARS", 0)
    store._statements = StatementCache(deep_walk=store.statements.deep_walk)


def test_every_value_matches_exactly_with_and_without_the_predicate(valued, monkeypatch):
    store, ids = valued
    filters = [f"params.x = {quoted(value)}" for value in VALUES]
    filters += [f"metrics.auc > 0.1 and params.x = {quoted(value)}" for value in VALUES]
    filters += [f"params.x in ({quoted(VALUES[0])}, {quoted(VALUES[-1])})", 'params.lr = "0.1"']

    def answers() -> list[tuple[list[str], int, list[str], int]]:
        found = []
        for filter_text in filters:
            everything = store.search_runs(filter_text)
            page = store.search_runs(filter_text, ["metrics.auc DESC"], limit=2, offset=0)
            found.append(([r.id for r in everything.items], everything.total,
                          [r.id for r in page.items], page.total))
        return found

    with_predicate = answers()
    for value, (all_ids, total, _, page_total) in zip(VALUES, with_predicate, strict=False):
        assert sorted(all_ids) == sorted(ids[value]) and total == page_total == 3, value[:20]
    both = with_predicate[len(VALUES):2 * len(VALUES)]
    assert all(total == 1 for _, total, _, _ in both)  # one run of the three has auc (n % 3 == 0)
    assert with_predicate[-1][1] == len(VALUES) * 3  # lr "0.1" as text: the runs logged it as text or number
    _without_predicate(monkeypatch, store)
    assert answers() == with_predicate


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)  # SQLite indexes every text value (0004)
def test_postgresql_can_answer_the_count_from_the_partial_index(valued):
    store, _ = valued
    assert store.engine.dialect.name == "postgresql"
    count = compile_count(parse('params.x = "adam"'), stale_before=0.0)
    statement = str(count.compile(dialect=store.engine.dialect, compile_kwargs={"literal_binds": True}))
    with store.engine.begin() as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))  # a few dozen rows: make the planner show its options
        plan = "\n".join(conn.scalars(text("EXPLAIN " + statement)))
        assert conn.scalar(text(statement)) == 3
    assert "ix_params_key_short_text_run" in plan, plan
