"""``jupyter-mlops runs`` against hostile input: markup and escape sequences in run names and tags, CSV formulas,
control characters, filters nested or repeated past the limits, absurd offsets, and a PostgreSQL URL without
psycopg installed. Each gives its output literally, or one line on stderr and exit 2 (bad input) or 1 (store).
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli_runs import invoke

from jupyter_mlops.store import open_store

LINK = "[link=https://evil.example/x]trusted-run[/link]"
ESCAPES = "evil\x1b]0;TITLE\x07\x1b[2J"


@pytest.fixture
def url(tmp_path, monkeypatch) -> str:
    monkeypatch.setenv("JUPYTER_MLOPS_BLOBS", str(tmp_path / "blobs"))
    monkeypatch.delenv("JUPYTER_MLOPS_STORE", raising=False)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "mlops.db"
    with open_store(f"sqlite:///{path}") as store:
        a = store.create_run(name=LINK)
        store.log_metric(a.id, "auc", 0.9)
        store.log_param(a.id, "formula", '=HYPERLINK("https://evil.example","x")')
        b = store.create_run(name="plain")
        store.log_metric(b.id, "auc", 0.8)
    # A row written before names were checked (or by another tool): the faces must still draw it inertly.
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE runs SET name = ?, note = ? WHERE id = ?", (ESCAPES, "n1\nn2\x1b[2J", b.id))
    conn.close()
    return f"sqlite:///{path}"



def one_line_error(result: tuple[int, str, str], expected_code: int) -> str:
    code, out, err = result
    assert code == expected_code and out == "", (code, out, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and "internal error" not in err, err
    return err


def run_id_named(url: str, name: str) -> str:
    code, out, err = invoke("runs", "list", "--format", "json", "--store", url)
    return next(r["id"] for r in json.loads(out)["runs"] if r["name"] == name)


def assert_inert(text: str) -> None:
    assert "\x1b]" not in text and "\x07" not in text and "\x1b[2J" not in text


def test_a_markup_tag_does_not_break_listings_and_names_show_literally(url):
    run_id = run_id_named(url, ESCAPES)
    assert invoke("runs", "tag", run_id, "[/bold]", "[red]", "--store", url)[0] == 0
    for args in (["runs", "list"], ["runs", "list", "--filter", "tag = '[/bold]'"], ["runs", "show", run_id],
                 ["runs", "compare", "--last", "2"], ["runs", "compare", "--last", "2", "--format", "markdown"]):
        code, out, err = invoke(*args, "--store", url)
        assert code == 0 and err == "", (args, err)
        assert "[/bold]" in out and "evil]0;TITLE[2J" in out, args
        assert_inert(out)
    code, out, _ = invoke("runs", "list", "--store", url)
    assert LINK in out


def test_runs_show_keeps_note_lines_without_escapes(url):
    code, out, err = invoke("runs", "show", run_id_named(url, ESCAPES), "--store", url)
    assert code == 0 and "n1" in out and "n2[2J" in out
    assert_inert(out)


def test_csv_output_neutralises_formulas(url):
    code, out, err = invoke("runs", "list", "--format", "csv", "--store", url)
    assert code == 0
    rows = {r["run_id"]: r for r in csv.DictReader(io.StringIO(out, newline=""))}
    formulas = [r["params.formula"] for r in rows.values() if r["params.formula"]]
    assert formulas == ['\'=HYPERLINK("https://evil.example","x")']


@pytest.mark.parametrize("bad", ["a\x1b[2J", "bell\x07", "del\x7f", "rlo\u202e"])
def test_tags_with_control_characters_are_refused_in_one_line(url, bad):
    run_id = run_id_named(url, LINK)
    err = one_line_error(invoke("runs", "tag", run_id, bad, "--store", url), 2)
    assert "control character" in err
    with open_store(url, create=False) as store:
        assert store.get_run(run_id).tags == ()


def test_notes_keep_newlines(url):
    run_id = run_id_named(url, LINK)
    assert invoke("runs", "note", run_id, "first\nsecond", "--store", url)[0] == 0
    with open_store(url, create=False) as store:
        assert store.get_run(run_id).note == "first\nsecond"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("(" * 1300 + "name = a" + ")" * 1300, "deep"),
        ("not " * 1000 + "name = a", "deep"),
        (" or ".join(f"name = n{i}" for i in range(2000)), "comparisons"),
        ("name in (" + ", ".join(f"n{i}" for i in range(5000)) + ")", "comparisons"),
    ],
)
def test_filters_past_the_limits_exit_2_in_one_line(url, text, says):
    for command in (["runs", "list"], ["runs", "compare", "--last", "2"]):
        err = one_line_error(invoke(*command, "--filter", text, "--store", url), 2)
        assert says in err and "store" not in err.lower()


@pytest.mark.parametrize("option", ["--offset", "--limit"])
def test_a_30_digit_offset_or_limit_exits_2(url, option):
    for extra in ([], ["--filter", "name = plain"]):
        err = one_line_error(invoke("runs", "list", option, "9" * 30, *extra, "--store", url), 2)
        assert "must be between" in err


def _without_psycopg(tmp_path: Path) -> dict[str, str]:
    """An environment in which ``import psycopg`` fails, as on an install without the postgres extra."""
    shim = tmp_path / "shim"
    shim.mkdir(exist_ok=True)
    (shim / "sitecustomize.py").write_text("import sys\nsys.modules['psycopg'] = None\n")
    path = os.pathsep.join(p for p in (str(shim), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "JUPYTER_MLOPS_BLOBS": str(tmp_path / "blobs")}


def test_a_postgresql_url_without_psycopg_names_the_extra(tmp_path):
    secret_url = "postgresql+psycopg://mlops:hunter2secret@127.0.0.1:9/runs"
    env = _without_psycopg(tmp_path)
    for args in (["runs", "list"], ["runs", "list", "--filter", "name = x"], ["runs", "show", "x"]):
        done = subprocess.run([sys.executable, "-m", "jupyter_mlops", *args, "--store", secret_url],
                              capture_output=True, text=True, cwd=tmp_path, timeout=120, env=env)
        assert done.returncode == 1 and done.stdout == "", done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "jupyter_mlops[postgres]" in done.stderr and "psycopg" in done.stderr
        assert "hunter2secret" not in done.stderr and "internal error" not in done.stderr
