"""Hostile input at the store: store URLs never shown with a password, names with control characters refused in
the write primitives every face goes through, filters too deep or too long refused by the parser, paging past
64-bit integers refused. Each is one line of :class:`InvalidInput`/:class:`StoreUnavailable`, and nothing stored
is changed.
"""

from __future__ import annotations

import doctest

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.entities import Metric, Param
from jupyter_mlops.errors import FilterSyntaxError, InvalidInput, StoreUnavailable
from jupyter_mlops.store import checks, engine, open_store
from jupyter_mlops.store.engine import make_engine, redact_url
from jupyter_mlops.store.filters import MAX_CHILD_CONDITIONS, MAX_DEPTH, MAX_TERMS, parse


def _one_line(error: BaseException) -> str:
    text = str(error)
    assert "\n" not in text and "Traceback" not in text
    return text


# -- store URLs ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://mlops:hunter2secret@db.example:5432/runs",
         "postgresql+psycopg://mlops:***@db.example:5432/runs"),
        ("postgresql://u:a/b@h/db", "postgresql://u:***@h/db"),  # '/' in the password
        ("postgresql://u:p@ss@h/db", "postgresql://u:***@h/db"),  # unencoded '@' in the password
        ("postgresql://u:p@s/s@h/db", "postgresql://u:***@h/db"),  # both
        ("postgresql://:hunter2secret@h/db", "postgresql://:***@h/db"),  # empty user
        ("postgresql://u:p%40ss@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u@h/db?password=hunter2secret&sslmode=require",
         "postgresql://u@h/db?password=***&sslmode=require"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("sqlite:////tmp/a@b/mlops.db", "sqlite:////tmp/a@b/mlops.db"),
        ("sqlite://", "sqlite://"),
    ],
)
def test_redact_url_never_shows_a_password(url, shown):
    assert redact_url(url) == shown


@pytest.mark.parametrize("url", ["::not a url:hunter2secret@somewhere", "hunter2secret"])
def test_an_unparseable_url_is_shown_without_its_password(url):
    assert "hunter2secret" not in redact_url(url)
    with pytest.raises(StoreUnavailable) as info:
        make_engine(url)
    assert "hunter2secret" not in _one_line(info.value)


@pytest.mark.parametrize(("setting", "shown"), [("/tmp/runs/mlops.db", "'/tmp/runs/mlops.db'"),
                                             ("mlops:hunter2secret@db/runs", "(not shown")])
def test_a_store_setting_without_a_scheme_names_the_url_forms(setting, shown):
    with pytest.raises(InvalidInput) as info:
        open_store(setting)
    line = _one_line(info.value)
    assert shown in line and "sqlite:///PATH" in line and "hunter2secret" not in line


def test_the_server_schemas_show_store_urls_through_the_same_function():
    from jupyter_mlops.server import schemas

    assert schemas.settings_json("1", "postgresql://u:p@ss@h/db")["store"] == "postgresql://u:***@h/db"
    assert not hasattr(schemas, "redact_url") or schemas.redact_url is engine.redact_url


@pytest.mark.parametrize("module", [checks, engine])
def test_docstring_examples(module):
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in doctest.DocTestFinder().find(module):
        runner.run(test)
    assert runner.failures == 0 and runner.tries > 0


# -- control characters in names -------------------------------------------------------------------------------
HOSTILE = ["evil\x1b]0;TITLE\x07\x1b[2J", "a\rb", "tab\there", "new\nline", "del\x7f", "csi\x9b2J", "rlo\u202etxt"]


@pytest.mark.parametrize("name", HOSTILE)
def test_names_and_tags_with_control_characters_are_refused_everywhere_they_are_written(store, name):
    run = store.create_run(name="clean", tags=["ok"])
    store.log_metric(run.id, "auc", 0.5)
    writes = {
        "run name": lambda: store.create_run(name=name),
        "experiment name": lambda: store.create_run(name="x", experiment=name),
        "tag": lambda: store.create_run(name="x", tags=[name]),
        "experiment": lambda: store.get_or_create_experiment(name),
        "set_tags": lambda: store.set_tags(run.id, add=[name]),
        "rename": lambda: store.update_run(run.id, name=name),
        "patch": lambda: store.patch_run(run.id, name=name),
        "param name": lambda: store.log_batch(run.id, params=[Param(name, 1)]),
        "metric name": lambda: store.log_batch(run.id, metrics=[Metric(name, 1.0, 0, 1.0)]),
        "metric rows": lambda: store.log_metric_rows(run.id, [("auc", 0.7, 1, 1.0), (name, 1.0, 0, 1.0)]),
    }
    for what, write in writes.items():
        with pytest.raises(InvalidInput) as info:
            write()
        assert "control character" in _one_line(info.value), what
    kept = store.get_run(run.id)
    assert (kept.name, kept.tags, kept.metrics, kept.params) == ("clean", ("ok",), {"auc": 0.5}, {})
    assert store.search_runs().total == 1


def test_notes_keep_their_newlines(store):
    run = store.create_run(name="n")
    assert store.update_run(run.id, note="line one\nline two\ttabbed").note == "line one\nline two\ttabbed"


def test_markup_looking_names_are_plain_text_and_allowed(store):
    run = store.create_run(name="[link=https://evil.example/x]trusted-run[/link]", tags=["[/bold]"])
    assert store.get_run(run.id).tags == ("[/bold]",)


def test_the_python_api_refuses_a_run_name_with_an_escape_sequence(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_MLOPS_STORE", f"sqlite:///{tmp_path / 'mlops.db'}")
    monkeypatch.setenv("JUPYTER_MLOPS_BLOBS", str(tmp_path / "blobs"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidInput, match="control character"):
        mlops.start_run(name="x\x1b[2J")
    assert mlops.active_run() is None


def test_the_python_api_refuses_control_characters_at_the_call_and_keeps_the_other_points(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_MLOPS_STORE", f"sqlite:///{tmp_path / 'mlops.db'}")
    monkeypatch.setenv("JUPYTER_MLOPS_BLOBS", str(tmp_path / "blobs"))
    monkeypatch.chdir(tmp_path)
    with mlops.start_run(name="kept", auto_capture=False) as run:
        run.log_metric("auc", 0.5)
        for bad in (lambda: run.log_metric("auc\x1b[2J", 1.0), lambda: run.log_param("lr\r", 0.1),
                    lambda: run.log_params({"ok": 1, "del\x7f": 2}), lambda: run.set_tags("t\x1b")):
            with pytest.raises(InvalidInput, match="control character"):
                bad()
        run.log_metric("auc", 0.7)
        run.log_param("lr", 0.1)
    stored = mlops.get_run(run.id)
    assert (stored.metrics, stored.params, stored.tags) == ({"auc": 0.7}, {"lr": 0.1}, ())


# -- filters ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "limit"),
    [
        ("(" * 1300 + "name = 'a'" + ")" * 1300, "deep"),
        ("not " * 1000 + "name = 'a'", "deep"),
        (" or ".join(f"name = 'n{i}'" for i in range(2000)), "comparisons"),
        ("params.lr in (" + ", ".join(str(i) for i in range(5000)) + ")", "comparisons"),
        (" and ".join(f"params.lr != {i}" for i in range(MAX_CHILD_CONDITIONS + 1)), "conditions on params"),
        (" or ".join(f"(tag = t{i} and metrics.auc > {i})" for i in range(20)), "conditions on params"),
    ],
)
def test_filters_past_the_limits_are_refused_by_the_parser(store, text, limit):
    with pytest.raises(FilterSyntaxError) as info:
        parse(text)
    assert limit in _one_line(info.value)
    with pytest.raises(FilterSyntaxError):  # the store says the same, not "store unavailable"
        store.search_runs(text)


def test_filters_at_the_limits_still_run(store):
    run = store.create_run(name="a", tags=["t"])
    store.log_params(run.id, {"lr": 0.5})
    store.log_metric(run.id, "auc", 0.9)
    deepest = "not " * (MAX_DEPTH - 1) + "(" + "name = 'a'" + ")"
    widest = " and ".join(f"params.lr != {i}" for i in range(MAX_CHILD_CONDITIONS - 2))
    widest += " and metrics.auc > 0.5 and tag = t"
    listed = "tag not in (" + ", ".join(f"'t{i}'" for i in range(1, MAX_TERMS)) + ")"
    run_fields = " and ".join(f"name != 'n{i}'" for i in range(MAX_TERMS))
    nested = "not " * 30 + "(" * 33 + widest + ")" * 33
    assert store.search_runs(deepest).total == 0  # an odd number of nots around a match
    assert store.search_runs(widest).total == 1
    assert store.search_runs(listed).total == 1
    assert store.search_runs(run_fields).total == 1
    assert store.search_runs(nested).total == 1  # an even number of nots
    assert len(store.run_columns(widest)["run_id"]) == 1


@pytest.mark.parametrize(("limit", "offset"), [(None, 10**30), (10**30, 0), (None, -1)])
def test_paging_beyond_64_bit_integers_is_invalid_input(store, limit, offset):
    with pytest.raises(InvalidInput) as info:
        store.search_runs(limit=limit, offset=offset)
    assert "must be between 0 and" in _one_line(info.value)


def test_a_postgresql_read_past_its_time_is_stopped_in_one_line(_pg_test_db):
    # Every search on a shared server runs under statement_timeout, so no filter can hold the server for minutes.
    # (SQLite reads run in the user's own process: nothing to bound there.)
    store = open_store(_pg_test_db)
    store.read_timeout_ms = 200
    with pytest.raises(StoreUnavailable, match=r"took longer than 0\.2 s .* narrow the filter") as info:
        store._read(lambda conn: conn.exec_driver_sql("SELECT pg_sleep(2)").all())
    assert "\n" not in str(info.value)
    store.read_timeout_ms = 30_000
    run = store.create_run(name="after-the-timeout")  # the store is usable afterwards
    assert store.search_runs('name = "after-the-timeout"').items[0].id == run.id
    store.delete_run(run.id)
    store.close()
