"""``jupyter-mlops runs ...`` end to end: click's CliRunner against the real ``main``/``cli`` and real stores.

Happy paths run on SQLite and PostgreSQL (``store`` fixture); every bad input must give one line on stderr, a
non-zero exit and leave the store as it was. One test runs the installed console script in a subprocess.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from compare_data import STEPS, populate

from jupyter_mlops.cli import cli, main
from jupyter_mlops.entities import SliceMetric
from jupyter_mlops.store import open_store


@pytest.fixture
def env(monkeypatch, blobs, tmp_path):
    """Point settings at the test's blob store and keep the CLI away from the real project."""
    monkeypatch.setenv("JUPYTER_MLOPS_BLOBS", str(blobs.root))
    monkeypatch.delenv("JUPYTER_MLOPS_STORE", raising=False)
    monkeypatch.chdir(tmp_path)
    return blobs


def invoke(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    """Run ``main`` (with its single error translation) in click's isolation; returns (exit code, stdout, stderr)."""
    runner = CliRunner()
    with runner.isolation(input=stdin) as (out, err, _):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        return code, out.getvalue().decode(), err.getvalue().decode()


def ok(*args: str, stdin: str | None = None) -> str:
    code, out, err = invoke(*args, stdin=stdin)
    assert code == 0, err
    return out


def run_count(url: str) -> int:
    with open_store(url, create=False) as s:
        return s.search_runs().total


# -- list ----------------------------------------------------------------------------------------------------
def test_list_table_json_csv_filter_sort_limit(store, store_url, env):
    ids = populate(store, env)
    table = ok("runs", "list", "--store", store_url)
    assert "baseline" in table and "tuned" in table and "auc" in table
    data = json.loads(ok("runs", "list", "--store", store_url, "--format", "json"))
    assert data["total"] == 3 and data["offset"] == 0 and data["limit"] == 50
    assert [r["name"] for r in data["runs"]] == ["wide", "tuned", "baseline"]  # newest first
    assert data["runs"][0]["params"]["layers"] == [64, 32]
    filtered = json.loads(ok("runs", "list", "--store", store_url, "-f", "json", "--filter", "params.lr = 0.05",
                             "--sort", "metrics.auc asc"))
    assert [r["id"] for r in filtered["runs"]] == [ids["tuned"], ids["wide"]]
    limited = json.loads(ok("runs", "list", "--store", store_url, "-f", "json", "--limit", "1", "--offset", "1"))
    assert [r["name"] for r in limited["runs"]] == ["tuned"] and limited["total"] == 3
    rows = list(csv.DictReader(io.StringIO(ok("runs", "list", "--store", store_url, "--format", "csv"))))
    assert rows[0]["run_id"] == ids["wide"] and rows[0]["params.depth"] == "5"
    assert "No runs match." in ok("runs", "list", "--store", store_url, "--filter", "params.lr = 7")


# -- show / export -----------------------------------------------------------------------------------------
def test_show_by_name_and_prefix(store, store_url, env):
    ids = populate(store, env)
    shown = json.loads(ok("runs", "show", "tuned", "--store", store_url, "--format", "json"))
    assert shown["run"]["id"] == ids["tuned"]
    assert shown["env"]["packages"]["numpy"] == "2.0.0" and len(shown["code"]["cells"]) == 2
    text = ok("runs", "show", ids["wide"][:6], "--store", store_url)
    assert "wide" in text and "optimizer" in text and "data/train.csv" in text and "out of order" in text
    assert "3.11.7" in text and "Linux-6.1-x86_64" in text and "Xeon × 2" in text and "8.0 GB" in text


def test_a_run_with_logging_errors_never_reads_as_a_clean_finished(store, store_url, env):
    clean = store.create_run(name="clean")
    store.update_run(clean.id, status="finished", end_time=clean.start_time + 1)
    lossy = store.create_run(name="lossy")
    store.update_run(lossy.id, status="finished", end_time=lossy.start_time + 1, logging_errors=7)
    text = ok("runs", "show", "lossy", "--store", store_url)
    assert "finished (7 not stored)" in text and "logging errors" in text and "incomplete" in text
    assert "not stored" not in ok("runs", "show", "clean", "--store", store_url)
    shown = json.loads(ok("runs", "show", "lossy", "--store", store_url, "--format", "json"))
    assert (shown["run"]["status"], shown["run"]["logging_errors"]) == ("finished", 7)
    listed = ok("runs", "list", "--store", store_url)
    assert listed.count("not stored") == 1 and "finished (7 not stored)" in listed


def test_export_writes_full_histories(store, store_url, env, tmp_path):
    ids = populate(store, env)
    target = tmp_path / "wide.json"
    code, _, err = invoke("runs", "export", "wide", "--store", store_url, "-o", str(target))
    assert code == 0 and "Wrote" in err
    doc = json.loads(target.read_text())
    assert doc["format"] == "jupyter-mlops.run/1" and doc["run"]["id"] == ids["wide"]
    assert len(doc["metric_history"]["loss"]) == STEPS and doc["metric_history"]["loss"][3]["step"] == 3
    assert doc["param_history"]["lr"][-1]["value"] == 0.05
    assert doc["code"]["cells"][-1]["source"] == "plot(history)"


def test_export_carries_every_slice_history(store, store_url, env, tmp_path):
    ids = populate(store, env)
    points = [SliceMetric("auc", label, 0.6 + step / 100, step, 1_700_000_000.0 + step)
              for step in range(3) for label in ("region=EU", "device=a%2Cb,region=US")]
    store.log_batch(ids["wide"], sliced=[*points, SliceMetric("f1", "region=EU", 0.4)])
    target = tmp_path / "wide.json"
    assert invoke("runs", "export", "wide", "--store", store_url, "-o", str(target))[0] == 0
    sliced = json.loads(target.read_text())["slice_history"]
    assert sorted(sliced) == ["auc", "f1"] and sorted(sliced["auc"]) == ["device=a%2Cb,region=US", "region=EU"]
    assert [p["step"] for p in sliced["auc"]["region=EU"]] == [0, 1, 2]
    assert sliced["auc"]["device=a%2Cb,region=US"][2] == {
        "key": "auc", "slice": "device=a%2Cb,region=US", "value": 0.62, "step": 2, "timestamp": 1_700_000_002.0,
        "dims": {"device": "a,b", "region": "US"}}
    assert len(json.loads(target.read_text())["metric_history"]["loss"]) == STEPS  # the unsliced series as before
    assert json.loads(ok("runs", "export", "tuned", "--store", store_url))["slice_history"] == {}


# -- compare -----------------------------------------------------------------------------------------------
def test_compare_formats(store, store_url, env):
    ids = populate(store, env)
    data = json.loads(ok("runs", "compare", "baseline", "tuned", "wide", "--store", store_url, "--format", "json"))
    assert data["baseline"] == ids["baseline"]
    assert [p["key"] for p in data["params"]] == ["depth", "lr"]
    assert data["data"][0]["changes"][0]["columns_added"] == ["income"]
    assert data["env"]["packages"] == [{"name": "numpy", "values": ["1.26.0", "2.0.0", "2.0.0"], "change": "bumped"}]
    table = ok("runs", "compare", "baseline", "tuned", "--store", store_url)
    for expected in ("Params", "-lr = 0.1", "+lr = 0.05", "+income", "numpy", "bumped", "auc"):
        assert expected in table, expected
    md = ok("runs", "compare", "baseline", "tuned", "--store", store_url, "--format", "markdown")
    assert md.startswith("## Run comparison") and "```diff" in md
    everything = json.loads(ok("runs", "compare", "baseline", "tuned", "--all", "--store", store_url, "-f", "json"))
    assert {p["key"] for p in everything["params"]} == {"depth", "layers", "lr", "optimizer"}


def test_compare_last_and_html_file(store, store_url, env, tmp_path):
    ids = populate(store, env)
    data = json.loads(ok("runs", "compare", "--last", "2", "--store", store_url, "-f", "json"))
    assert [r["id"] for r in data["runs"]] == [ids["tuned"], ids["wide"]]
    narrowed = json.loads(ok("runs", "compare", "--last", "5", "--filter", "params.depth = 3", "--store", store_url,
                             "-f", "json"))
    assert [r["name"] for r in narrowed["runs"]] == ["baseline", "tuned"]
    target = tmp_path / "cmp.html"
    ok("runs", "compare", "baseline", "wide", "--store", store_url, "-f", "html", "-o", str(target))
    assert target.read_text().startswith('<div class="mlops-compare">')


# -- edits -------------------------------------------------------------------------------------------------
def test_tag_and_note(store, store_url, env):
    ids = populate(store, env)
    assert "candidate" in ok("runs", "tag", "tuned", "candidate", "reviewed", "--store", store_url)
    ok("runs", "tag", "tuned", "reviewed", "--remove", "--store", store_url)
    assert set(store.get_run(ids["tuned"]).tags) == {"demo", "candidate"}
    ok("runs", "note", "tuned", "first try", "--store", store_url)
    ok("runs", "note", "tuned", "-", "--append", "--store", store_url, stdin="second line\n")
    assert store.get_run(ids["tuned"]).note == "first try\nsecond line"


def test_delete_needs_yes_without_a_terminal(store, store_url, env):
    ids = populate(store, env)
    code, out, err = invoke("runs", "delete", "tuned", "--store", store_url)
    assert code != 0 and "--yes" in err and len(err.strip().splitlines()) == 1
    assert run_count(store_url) == 3
    assert "Deleted 2 run(s)." in ok("runs", "delete", "tuned", ids["wide"][:8], "--yes", "--store", store_url)
    assert [r.id for r in store.search_runs().items] == [ids["baseline"]]


# -- bad input: one line, non-zero exit, store unharmed -----------------------------------------------------
BAD_INPUTS = [
    (["runs", "show", "nosuchrun"], "nosuchrun"),
    (["runs", "show", "abcd"], "abcd"),  # ambiguous prefix
    (["runs", "compare", "baseline", "nosuchrun"], "nosuchrun"),
    (["runs", "list", "--filter", "params.lr = = 3"], "filter"),
    (["runs", "list", "--format", "yaml"], "--format"),
    (["runs", "compare", "baseline", "--format", "csv"], "--format"),
    (["runs", "list", "--sort", "bogus desc"], "bogus"),
    (["runs", "list", "--limit", "0"], "--limit"),
    (["runs", "compare"], "--last"),
    (["runs", "compare", "baseline", "--last", "2"], "not both"),
    (["runs", "compare", "--last", "0"], "--last"),
    (["runs", "delete", "baseline", "nosuchrun", "--yes"], "nosuchrun"),
    (["runs", "tag", "nosuchrun", "x"], "nosuchrun"),
    (["runs", "note", "nosuchrun", "x"], "nosuchrun"),
]


@pytest.mark.parametrize(("args", "mentions"), BAD_INPUTS, ids=[" ".join(a[1:3]) for a, _ in BAD_INPUTS])
def test_bad_input_is_one_line_and_harmless(store, store_url, env, args, mentions):
    populate(store, env)
    store.create_run(name="twin-a", run_id="abcd" + "0" * 28)
    store.create_run(name="twin-b", run_id="abcd" + "1" * 28)
    before = json.loads(ok("runs", "list", "--store", store_url, "-f", "json"))
    code, out, err = invoke(*args, "--store", store_url)
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and mentions in lines[0], err
    assert "Traceback" not in out + err
    assert json.loads(ok("runs", "list", "--store", store_url, "-f", "json")) == before


def test_compare_last_with_a_filter_that_matches_nothing_is_not_found(store, store_url, env):
    populate(store, env)
    code, _, err = invoke("runs", "compare", "--last", "2", "--filter", 'name = "nothing"', "--store", store_url)
    assert (code, err.strip()) == (1, "Error: no runs match 'name = \"nothing\"'")
    code, _, err = invoke("runs", "compare", "--last", "2", "--filter", "name = = x", "--store", store_url)
    assert code == 2 and "invalid filter" in err


def test_store_that_is_not_a_database(env, tmp_path):
    bogus = tmp_path / "notadb.db"
    bogus.write_bytes(b"this is not sqlite at all" * 100)
    code, _, err = invoke("runs", "list", "--store", f"sqlite:///{bogus}")
    assert code != 0 and len(err.strip().splitlines()) == 1 and err.startswith("Error: ")
    assert bogus.read_bytes() == b"this is not sqlite at all" * 100
    code, _, err = invoke("runs", "list", "--store", f"sqlite:///{tmp_path / 'missing.db'}")
    assert code != 0 and "no store at" in err and not (tmp_path / "missing.db").exists()


def test_a_percent_encoded_store_url_names_the_file_the_store_opens(env, tmp_path):
    # The CLI's "is there a store?" check and the engine read the URL the same way (StoreLocation).
    url = f"sqlite:///{tmp_path}/my%20runs/mlops.db"
    with open_store(url) as s:
        s.create_run(name="spaced")
    assert (tmp_path / "my runs" / "mlops.db").is_file()
    listed = json.loads(ok("runs", "list", "--store", url, "--format", "json"))
    assert [r["name"] for r in listed["runs"]] == ["spaced"]
    assert "spaced" in ok("runs", "show", "spaced", "--store", url)


def test_the_plain_list_skips_sqlalchemy_and_says_what_the_store_says(tmp_path):
    url = f"sqlite:///{tmp_path / 'mlops.db'}"
    from jupyter_mlops.store.blobs import BlobStore

    with open_store(url) as s:
        populate(s, BlobStore(tmp_path / "blobs"))
    program = ("import sys\nfrom jupyter_mlops.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n"
               "    pass\nprint('sqlalchemy' in sys.modules, file=sys.stderr)")
    for args, loads_sqlalchemy in ((["--format", "json"], "False"), (["--format", "json", "--limit", "2"], "False"),
                                   (["--format", "json", "--filter", "name ~ '*'"], "True")):
        done = subprocess.run([sys.executable, "-c", program, "runs", "list", "--store", url, *args],
                              capture_output=True, text=True, cwd=tmp_path, timeout=60,
                              env={**os.environ, "JUPYTER_MLOPS_BLOBS": str(tmp_path / "blobs")})
        assert done.returncode == 0 and done.stderr.strip() == loads_sqlalchemy, done.stderr
        # the same runs, totals and JSON as the store's own path (an explicit sort always takes it)
        limit = args[3] if "--limit" in args else "50"
        assert json.loads(done.stdout) == json.loads(ok("runs", "list", "--store", url, "--format", "json",
                                                        "--limit", limit, "--sort", "start_time desc"))


@pytest.mark.parametrize("where", ["file", "folder"])
def test_a_read_only_store_is_listed_and_shown_but_writes_are_refused_in_one_line(tmp_path, env, where):
    # Tests run as root, whom chmod does not stop: a mode without write bits is what marks a store read-only.
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "ro.db"
    url = f"sqlite:///{path}"
    with open_store(url) as s:
        s.create_run(name="kept")
    (path if where == "file" else folder).chmod(0o444 if where == "file" else 0o555)
    try:
        before = path.read_bytes()
        for extra in ([], ["--filter", "name = kept"], ["--format", "json"]):
            assert "kept" in ok("runs", "list", "--store", url, *extra)
        assert "kept" in ok("runs", "show", "kept", "--store", url)
        for write in (["tag", "kept", "x"], ["note", "kept", "hello"]):
            code, out, err = invoke("runs", *write, "--store", url)
            assert code == 1 and out == "" and "read-only" in err and len(err.strip().splitlines()) == 1, err
        assert path.read_bytes() == before
        assert sorted(p.name for p in folder.iterdir()) == ["ro.db"]
    finally:
        folder.chmod(0o755)
        path.chmod(0o644)


@pytest.mark.parametrize("args", [[], ["--filter", "name = x"], ["--format", "csv"]])
def test_runs_list_leaves_a_sqlite_file_of_another_program_unchanged(tmp_path, env, args):
    import sqlite3

    path = tmp_path / "theirs.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.close()
    before = path.read_bytes()
    code, out, err = invoke("runs", "list", "--store", f"sqlite:///{path}", *args)
    assert code == 1 and out == "" and "did not create" in err and len(err.strip().splitlines()) == 1, err
    assert path.read_bytes() == before
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("theirs")) == ["theirs.db"]


def test_help_of_every_runs_command():
    runner = CliRunner()
    result = runner.invoke(cli, ["runs", "--help"])
    assert result.exit_code == 0
    for name in ("list", "show", "compare", "tag", "note", "delete", "export"):
        sub = runner.invoke(cli, ["runs", name, "--help"])
        assert sub.exit_code == 0 and "Examples:" in sub.output, name


def test_console_script_in_a_subprocess(tmp_path):
    url = f"sqlite:///{tmp_path / 'mlops.db'}"
    from jupyter_mlops.store.blobs import BlobStore

    with open_store(url) as s:
        ids = populate(s, BlobStore(tmp_path / "blobs"))
    script = shutil.which("jupyter-mlops", path=str(Path(sys.executable).parent))
    assert script, "the jupyter-mlops console script is installed next to the interpreter"
    env = {**os.environ, "JUPYTER_MLOPS_BLOBS": str(tmp_path / "blobs")}
    done = subprocess.run([script, "runs", "compare", "baseline", "tuned", "--store", url, "-f", "json"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["baseline"] == ids["baseline"]
    failed = subprocess.run([script, "runs", "show", "nosuchrun", "--store", url], capture_output=True, text=True,
                            env=env, cwd=tmp_path, timeout=60)
    assert failed.returncode == 1 and failed.stderr.count("\n") == 1 and "nosuchrun" in failed.stderr


def _run_on_terminal(argv: list[str], answer: str, env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Run a command with a pseudo-terminal as stdin/stdout, answer a prompt, return (exit code, output)."""
    import pty
    import select

    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd, close_fds=True)
    os.close(slave)
    output, answered = b"", False
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 30)
            if not ready:
                break
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
            if not answered and b"[y/N]" in output:
                os.write(master, answer.encode() + b"\n")
                answered = True
        code = proc.wait(timeout=30)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return code, output.decode(errors="replace")


@pytest.mark.parametrize(("answer", "deleted"), [("y", True), ("n", False)])
def test_delete_asks_on_a_terminal(tmp_path, answer, deleted):
    url = f"sqlite:///{tmp_path / 'mlops.db'}"
    from jupyter_mlops.store.blobs import BlobStore

    with open_store(url) as s:
        ids = populate(s, BlobStore(tmp_path / "blobs"))
    script = shutil.which("jupyter-mlops", path=str(Path(sys.executable).parent))
    env = {**os.environ, "JUPYTER_MLOPS_BLOBS": str(tmp_path / "blobs")}
    code, output = _run_on_terminal([script, "runs", "delete", "tuned", "--store", url], answer, env, tmp_path)
    assert f"Delete 1 run(s): tuned ({ids['tuned'][:8]})?" in output
    assert (code == 0) is deleted
    assert (run_count(url) == 2) is deleted


def test_compare_of_a_single_run_is_a_usage_error_like_the_magic(store, store_url, env):
    ids = populate(store, env)
    for args in (["baseline"], ["baseline", ids["baseline"]], ["--last", "1"]):
        code, out, err = invoke("runs", "compare", *args, "--store", store_url)
        assert code == 2 and out == "" and err.count("\n") == 1, (args, code, err)
        assert "compare needs at least two runs, found 1" in err


# -- rollups -------------------------------------------------------------------------------------------------
def test_rollups_builds_what_a_back_fill_left_uncovered_and_only_that(store, store_url, env):
    from sqlalchemy import select

    from jupyter_mlops.store import schema

    def valid(run_id: str) -> bool:
        state = schema.metric_rollup_state.c
        with store.engine.connect() as conn:
            return bool(conn.scalar(select(state.valid).where(state.run_id == run_id)))

    steady, backfilled = store.create_run(name="steady"), store.create_run(name="backfilled")
    for run in (steady, backfilled):
        store.log_metric_rows(run.id, [("loss", 1.0 / (step + 1), step, 1.0) for step in range(1, 3000)])
    store.log_metric_rows(backfilled.id, [("loss", 2.0, 0, 2.0)])  # a step below the latest: rollup invalid
    assert valid(steady.id) and not valid(backfilled.id)
    assert ok("runs", "rollups", "--store", store_url).strip() == "Built the rollups of 1 run(s): 2 block(s)."
    assert valid(backfilled.id)
    assert ok("runs", "rollups", "--store", store_url).strip() == "Built the rollups of 0 run(s): 0 block(s)."
    assert "1 run(s): 2 block(s)" in ok("runs", "rollups", "steady", "--store", store_url)  # a named run: rebuilt
    code, out, err = invoke("runs", "rollups", "nosuchrun", "--store", store_url)
    assert code == 1 and out == "" and err.count("\n") == 1 and "nosuchrun" in err
