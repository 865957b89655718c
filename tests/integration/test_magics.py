"""The %track magics in a live IPython shell: every sub-command, every misuse, and the post-cell observer."""

from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell

import jupyter_mlops as mlops
from jupyter_mlops.app import runs as app_runs
from jupyter_mlops.store import open_store
from jupyter_mlops.tracking import context, fluent


def run(ip: InteractiveShell, source: str):
    return ip.run_cell(source, store_history=True)


def one_line_error(ip, capsys, source: str) -> str:
    result = run(ip, source)
    err = capsys.readouterr().err.strip()
    assert result.error_in_exec is not None, source
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("UsageError: ")
    return err


def test_start_status_stop(ip, capsys):
    run(ip, "%track start first --experiment churn --tag lgbm --tag v1 --note 'first try'")
    assert "Started run 'first'" in capsys.readouterr().out
    run(ip, "%track status")
    assert "is running in experiment 'churn'" in capsys.readouterr().out
    active = mlops.active_run()
    run(ip, "%track stop")
    assert "as finished" in capsys.readouterr().out
    view = mlops.get_run(active.id)
    assert (view.status, view.experiment, view.tags, view.note) == ("finished", "churn", ("lgbm", "v1"), "first try")
    run(ip, "%track status")
    assert "No active run" in capsys.readouterr().out


def test_stop_failed_and_restart_ends_the_previous_run(ip, capsys):
    run(ip, "%track start a")
    first = mlops.active_run()
    run(ip, "%track start b")
    assert "Ended run 'a'" in capsys.readouterr().out
    run(ip, "%track stop --failed")
    assert mlops.get_run(first.id).status == "finished"
    assert mlops.get_run("b").status == "failed"


def test_params_cell_and_line(ip, capsys):
    run(ip, "%track start p --no-auto")
    result = run(ip, "%%track params\nlr = 0.1\nlayers = [64, 32]\nname = 'x' + 'y'\nimport math\n")
    assert result.success and ip.user_ns["name"] == "xy"
    run(ip, "depth = 7")
    run(ip, "%track params depth")
    run(ip, "%%track params\nlr = 0.2\n")
    out = run(ip, "%track params").result
    assert out == {"lr": 0.2, "layers": [64, 32], "name": "xy", "depth": 7}
    assert mlops.get_run("p").param_history("lr") == [0.1, 0.2]


def test_metric_line_and_metrics_cell(ip, capsys):
    run(ip, "%track start m --no-auto")
    run(ip, "auc_value = 0.93")
    run(ip, "%track metric acc=0.9 auc=auc_value --step 2")
    run(ip, "%%track metrics --step 3\nloss = 0.25\nlabel = 'not a number'\nflag = True\n")
    run(ip, "%track stop")
    view = mlops.get_run("m")
    assert view.metrics == {"acc": 0.9, "auc": 0.93, "loss": 0.25}
    assert [m.step for m in view.metric_history("loss")] == [3]


def test_data_artifact_tag_note(ip, capsys, tmp_path):
    (tmp_path / "train.csv").write_text("a,b\n1,2\n")
    (tmp_path / "model.txt").write_text("weights")
    run(ip, "%track start d --no-auto")
    run(ip, "import pandas as pd\nframe = pd.DataFrame({'x': [1, 2, 3]})\npath_var = 'train.csv'")
    run(ip, "%track data train.csv frame")
    run(ip, "%track data path_var")
    run(ip, "%track artifact model.txt")
    run(ip, "%track tag good")
    run(ip, "%track note it's better")
    out = capsys.readouterr().out
    assert "Recorded data 'train.csv'" in out and "Stored artifact 'model.txt'" in out
    run(ip, "%track stop")
    view = mlops.get_run("d")
    assert {d.name: d.kind for d in view.data_inputs} == {"train.csv": "file", "frame": "dataframe"}
    assert [a.path for a in view.artifacts] == ["model.txt"]
    assert "good" in view.tags and view.note == "it's better"


def test_list_show_compare(ip, capsys):
    for lr in (0.1, 0.2):
        run(ip, f"%track start lr{lr} --no-auto")
        run(ip, f"%track metric auc={lr + 0.5}")
        run(ip, f"lr = {lr}")
        run(ip, "%track params lr")
        run(ip, "%track stop")
    capsys.readouterr()
    run(ip, "%track list --filter 'metrics.auc > 0.65' --limit 5")
    out = capsys.readouterr().out
    assert "lr0.2" in out and "lr0.1" not in out
    run(ip, "%track show lr0.1")
    assert "lr0.1" in capsys.readouterr().out
    result = run(ip, "%track compare --last 2")
    assert result.success
    result = run(ip, "%track compare lr0.1 lr0.2")
    assert result.success
    run(ip, "%track list --filter 'name = \"zzz\"'")
    assert "No runs match" in capsys.readouterr().out


def test_compare_last_n_takes_a_filter_as_the_cli_does(ip, capsys):
    for lr in (0.1, 0.2, 0.3):
        run(ip, f"%track start lr{lr} --no-auto")
        run(ip, f"%track metric auc={lr + 0.5}")
        run(ip, "%track stop")
    capsys.readouterr()
    assert run(ip, "%track compare --last 5 --filter 'metrics.auc > 0.65'").success
    out = capsys.readouterr().out
    assert "lr0.2" in out and "lr0.3" in out and "lr0.1" not in out
    assert run(ip, "%track compare --last 5 --filter 'metrics.auc > 0.75'").success
    assert "a second run is needed to compare" in capsys.readouterr().out


def test_compare_with_one_run_shows_it_and_asks_for_a_second(ip, capsys):
    # The first Run All of the README's notebook ends in `%track compare --last 2` with one run in the store.
    result = run(ip, "%track compare --last 2")
    assert result.success, result.error_in_exec
    assert "No runs to compare yet" in capsys.readouterr().out
    run(ip, "%track start only --no-auto")
    run(ip, "%track metric auc=0.7")
    run(ip, "%track stop")
    capsys.readouterr()
    result = run(ip, "%track compare --last 2")
    captured = capsys.readouterr()
    assert result.success, result.error_in_exec
    assert captured.err == ""
    assert "only (" in captured.out and "auc = 0.7" in captured.out
    assert "a second run is needed to compare" in captured.out
    assert run(ip, "%track compare only").success


@pytest.mark.parametrize(
    ("source", "needle"),
    [
        ("%track stop", "no active run"),
        ("%track bogus", "unknown %track sub-command 'bogus'"),
        ("%track", "usage: %track"),
        ("%track list --filter 'params.lr >'", "invalid filter"),
        ("%track show no-such-run", "no run matches"),
        ("%track compare no-such-run other", "no run matches"),
        ("%track compare", "usage: %track compare"),
        ("%track compare a b --filter 'x = 1'", "--filter works with --last N"),
        ("%track compare --last 0", "--last needs a positive number of runs, got 0"),
        ("%track list --limit 0", "--limit must be a positive number"),
        ("%track metric auc", "expected NAME=VALUE"),
        ("%track start --bogus-flag", "unrecognized arguments"),
        ("%track start 'unclosed", "cannot read the %track line"),
    ],
)
def test_misuse_is_one_line_and_harms_no_run(ip, capsys, source, needle):
    run(ip, "%track start keep --no-auto")
    run(ip, "%track metric auc=0.5")
    run(ip, "%track stop")
    capsys.readouterr()
    assert needle in one_line_error(ip, capsys, source)
    view = mlops.get_run("keep")
    assert view.status == "finished" and view.metrics == {"auc": 0.5}


@pytest.mark.parametrize(
    ("source", "needle"),
    [  # every sub-command's parser refuses missing, extra, mistyped and unknown arguments (these held on main too)
        ("%track start one two", "%track start: unrecognized arguments: two"),
        ("%track start --experiment", "argument --experiment/-e: expected one argument"),
        ("%track stop now", "%track stop: unrecognized arguments: now"),
        ("%track status --verbose", "%track status: unrecognized arguments: --verbose"),
        ("%track metric auc=0.9 --step ten", "argument --step: invalid int value: 'ten'"),
        ("%%track metrics --bogus\nauc = 0.9\n", "%track metrics: unrecognized arguments: --bogus"),
        ("%track list --limit many", "argument --limit/-n: invalid int value: 'many'"),
        ("%track list extra", "%track list: unrecognized arguments: extra"),
        ("%track compare --last", "argument --last: expected one argument"),
        ("%track compare --sideways a b", "%track compare: unrecognized arguments: --sideways"),
    ],
)
def test_bad_arguments_of_every_sub_command_are_one_line(ip, capsys, source, needle):
    assert needle in one_line_error(ip, capsys, source)
    assert mlops.active_run() is None and mlops.runs().empty  # nothing started, nothing stored


@pytest.mark.parametrize(
    ("source", "needle"),
    [  # huge integers are argument errors, not an OverflowError traceback or a write the store later refuses
        ("%track list --limit 99999999999999999999", "argument --limit/-n: 99999999999999999999 is out of"),
        ("%track compare --last 99999999999999999999", "%track compare: argument --last: 99999999999999999999 is out"),
        ("%track show --bogus", "%track show: unrecognized arguments: --bogus"),
        ("%track show keep other", "%track show: unrecognized arguments: other"),
    ],
)
def test_huge_integers_and_flags_of_reading_commands_are_one_line(ip, capsys, source, needle):
    run(ip, "%track start keep --no-auto")
    run(ip, "%track start other --no-auto")
    run(ip, "%track stop")
    capsys.readouterr()
    assert needle in one_line_error(ip, capsys, source)


@pytest.mark.parametrize(
    ("source", "needle"),
    [
        ("%track metric auc=0.9 --step 99999999999999999999", "argument --step: 99999999999999999999 is out of range"),
        ("%track metric auc=0.9 --step -9223372036854775809", "argument --step: -9223372036854775809 is out of range"),
        ("%track metric auc=huge", "metric 'auc': an integer of 1329 bits is too large for a 64-bit float"),
        ("%%track metrics --step 99999999999999999999\nauc = 0.9\n", "argument --step: 99999999999999999999 is out"),
        ("%%track metrics\nauc = 10**400\n", "metric 'auc': an integer of 1329 bits is too large for a 64-bit float"),
        ("%%track params lr\nlr = 0.1\n", "%%track params takes no arguments"),
        ("%track params --lr", "%track params: unrecognized arguments: --lr"),
        ("%track tag --bogus", "%track tag: the following arguments are required: TAG"),
        ("%track data", "%track data: the following arguments are required: PATH_OR_VARIABLE"),
        ("%track artifact", "%track artifact: the following arguments are required: PATH"),
        ("%track note", "usage: %track note TEXT"),
    ],
)
def test_bad_arguments_during_a_run_are_one_line_and_store_nothing(ip, capsys, source, needle):
    run(ip, "%track start live --no-auto")
    run(ip, "%track metric auc=0.5 --step 1")
    run(ip, "%track note keep this note")
    ip.user_ns["huge"] = 10**400
    capsys.readouterr()
    assert needle in one_line_error(ip, capsys, source)
    active = mlops.active_run()
    assert active is not None and active.name == "live"  # the run survives the misuse
    run(ip, "%track stop")
    view = mlops.get_run("live")
    assert view.status == "finished" and view.metrics == {"auc": 0.5}
    assert view.params == {} and not view.tags and view.note == "keep this note"


def test_an_unexpected_error_is_one_line_unless_debugging(ip, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("first line of a bug\nsecond line")

    monkeypatch.setattr(app_runs, "list_runs", broken)  # stands in for a bug below the magic
    err = one_line_error(ip, capsys, "%track list")
    assert "%track list: internal error: RuntimeError: first line of a bug" in err and "second line" not in err
    assert "JUPYTER_MLOPS_DEBUG=1" in err
    monkeypatch.setenv("JUPYTER_MLOPS_DEBUG", "1")
    result = run(ip, "%track list")
    assert isinstance(result.error_in_exec, RuntimeError)  # the traceback, for whoever debugs it


def test_missing_data_path_and_variable_during_a_run(ip, capsys):
    run(ip, "%track start miss --no-auto")
    assert "data path not found: nothere.csv" in one_line_error(ip, capsys, "%track data nothere.csv")
    assert "no variable named" in one_line_error(ip, capsys, "%track params not_defined_anywhere")
    assert mlops.active_run() is not None  # the run survives the misuse


@pytest.mark.parametrize("kind", ["not-a-database", "read-only"])
def test_unusable_store_is_one_line(ip, capsys, tmp_path, monkeypatch, kind):
    bad = tmp_path / f"{kind}.db"
    if kind == "not-a-database":
        bad.write_text("this is not sqlite")
    else:
        open_store(f"sqlite:///{bad}").close()  # a real store, opened outside the API's per-process cache
        bad.chmod(0o444)
        (tmp_path / f"{kind}.db").parent.chmod(0o555)
    monkeypatch.setenv("JUPYTER_MLOPS_STORE", f"sqlite:///{bad}")
    try:
        err = one_line_error(ip, capsys, "%track start x")
    finally:
        (tmp_path / f"{kind}.db").parent.chmod(0o755)
    assert "UsageError" in err


def test_auto_capture_params_data_configs_and_code(ip, capsys, tmp_path):
    (tmp_path / "data.csv").write_text("age,y\n1,0\n2,1\n")
    (tmp_path / "config.yaml").write_text("model:\n  learning_rate: 0.05\n  depth: 4\n")
    run(ip, "%track start auto")
    run(ip, "alpha = 0.5\nepochs = 3\n")  # a leading cell of only literals: inferred parameters
    run(ip, "import pandas as pd, yaml\ndf = pd.read_csv('data.csv')\ncfg = yaml.safe_load(open('config.yaml'))\n")
    run(ip, "x = 1\n1/0")
    run(ip, "%track stop")
    assert context.drain()
    view = mlops.get_run("auto")
    assert view.params["alpha"] == 0.5 and view.params["epochs"] == 3
    assert view.params["model.learning_rate"] == 0.05 and view.params["model.depth"] == 4
    data = {d.name: d for d in view.data_inputs}
    assert set(data) == {"data.csv", "config.yaml"} and data["data.csv"].schema["rows"] == 2
    sources = [c["source"] for c in view.code["cells"]]
    assert sources[-4:] == [  # the snapshot is taken while `%track stop` runs, so it ends before it
        "%track start auto",
        "alpha = 0.5\nepochs = 3\n",
        "import pandas as pd, yaml\ndf = pd.read_csv('data.csv')\ncfg = yaml.safe_load(open('config.yaml'))\n",
        "x = 1\n1/0",
    ]
    assert set(view.flags) == {"out_of_order", "edited_after_run", "kernel_restarted", "cells_rerun"}
    assert [p.source for p in fluent.open_stores()[0].param_history(view.id, "alpha")] == ["parameters:inferred"]


def test_second_run_in_one_shell_holds_its_own_cells_and_their_context(ip):
    run(ip, "sem_base = 2")
    run(ip, "sem_unused = 3")
    run(ip, "%track start sem-one")
    run(ip, "sem_y = sem_base * 2")
    run(ip, "%track stop")
    run(ip, "%track start sem-two")
    run(ip, "sem_z = sem_y + 1")
    run(ip, "%track stop")
    cells = [(c["source"], c.get("context", False)) for c in mlops.get_run("sem-two").code["cells"]]
    assert cells == [("sem_base = 2", True), ("sem_y = sem_base * 2", True), ("%track start sem-two", False),
                     ("sem_z = sem_y + 1", False)]
    assert [c["source"] for c in mlops.get_run("sem-one").code["cells"]] == [
        "sem_base = 2", "%track start sem-one", "sem_y = sem_base * 2"]


def test_context_holds_what_a_function_reads_from_the_notebook_not_its_locals(ip):
    # ADR-046: a function's parameters and locals are not reads of the notebook, so the earlier cells that
    # happened to bind those names are not context; the globals the function looks up are.
    run(ip, "ctx_model = 'an earlier model'")
    run(ip, "ctx_scale = 10")
    run(ip, "%track start ctx-run")
    run(ip, "def ctx_score(ctx_model):\n    ctx_value = ctx_model * ctx_scale\n    return ctx_value")
    run(ip, "%track stop")
    cells = [(c["source"], c.get("context", False)) for c in mlops.get_run("ctx-run").code["cells"]]
    assert cells == [("ctx_scale = 10", True), ("%track start ctx-run", False),
                     ("def ctx_score(ctx_model):\n    ctx_value = ctx_model * ctx_scale\n    return ctx_value", False)]


def test_execution_counter_going_back_marks_the_open_run_restarted(ip):
    from types import SimpleNamespace

    from jupyter_mlops.ipython import magics

    run(ip, "%track start counter-back")
    observer = magics._OBSERVERS[id(ip)]
    # what IPython reports after a new session in the same process: counting starts again at 1
    info = SimpleNamespace(raw_cell="restarted_x = 1", store_history=True, cell_id=None)
    observer.post_run_cell(SimpleNamespace(info=info, execution_count=1, error_in_exec=None, error_before_exec=None))
    run(ip, "%track stop")
    run(ip, "%track start counter-fine")
    run(ip, "%track stop")
    assert mlops.get_run("counter-back").flags["kernel_restarted"] is True
    assert mlops.get_run("counter-fine").flags["kernel_restarted"] is False


def test_no_auto_records_no_params_or_data(ip, tmp_path):
    (tmp_path / "data.csv").write_text("a\n1\n")
    run(ip, "%track start manual --no-auto")
    run(ip, "beta = 0.5\n")
    run(ip, "import pandas as pd\nd2 = pd.read_csv('data.csv')\n")
    run(ip, "%track stop")
    context.drain()
    view = mlops.get_run("manual")
    assert view.params == {} and view.data_inputs == ()
    assert view.code is not None


def test_capture_failure_never_breaks_the_cell(ip, tmp_path, caplog):
    run(ip, "%track start fragile")
    session = next(iter(__import__("jupyter_mlops.ipython.magics").ipython.magics._OBSERVERS.values())).session
    original = session._params
    session._params = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("analysis exploded"))
    try:
        result = run(ip, "gamma = 1\n")
    finally:
        session._params = original
    assert result.success and ip.user_ns["gamma"] == 1
    assert "analysis exploded" in caplog.text  # the failure did happen, and became a warning


def test_cell_magics_without_a_run_still_run_the_cell(ip, capsys):
    result = run(ip, "%%track params\ndelta = 4\n")
    assert result.success and ip.user_ns["delta"] == 4
    assert "not recorded" in capsys.readouterr().err


def test_user_error_inside_a_track_cell_shows_its_own_source_line(ip, capsys):
    result = run(ip, "%%track metrics\nx = 1\nratio_of_nothing = x / 0\n")
    shown = "".join(capsys.readouterr())
    assert isinstance(result.error_in_exec, ZeroDivisionError)
    assert "ratio_of_nothing = x / 0" in shown and "Could not get source" not in shown


def test_enable_disable_loads_the_extension_in_new_shells(tmp_path):
    import subprocess
    import sys

    from click.testing import CliRunner

    from jupyter_mlops.cli import cli

    ipdir = tmp_path / "ipython"
    config = ipdir / "profile_default" / "ipython_config.py"
    config.parent.mkdir(parents=True)
    config.write_text("c.InteractiveShell.colors = 'nocolor'\n")
    runner = CliRunner()
    for _ in range(2):  # idempotent
        result = runner.invoke(cli, ["enable", "--ipython-dir", str(ipdir)])
        assert result.exit_code == 0, result.output
    assert config.read_text().count("jupyter_mlops") == 1 and "colors = 'nocolor'" in config.read_text()

    def status() -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "IPython", f"--ipython-dir={ipdir}", "-c", "%track status"],
            capture_output=True, text=True, cwd=tmp_path, timeout=120,
        )
        return proc.stdout + proc.stderr

    assert "No active run" in status()
    assert runner.invoke(cli, ["disable", "--ipython-dir", str(ipdir)]).exit_code == 0
    assert config.read_text() == "c.InteractiveShell.colors = 'nocolor'\n"
    assert "No active run" not in status()


def test_observer_reuses_ipythons_tree_without_an_ast_transformer(ip, tmp_path):
    # An ast_transformers entry would make IPython run ast.fix_missing_locations over every cell.
    from jupyter_mlops.capture import cells as cell_analysis

    assert ip.ast_transformers == []
    (tmp_path / "d.csv").write_text("a\n1\n")
    parsed: dict[str, int] = {}
    original = cell_analysis.analyze

    def spy(tree, source=None):
        parsed[source] = len(tree.body)
        return original(tree, source)

    cell_analysis.analyze = spy
    try:
        run(ip, "%track start tap")
        # %timeit parses its own snippets while the cell runs: the tree kept is still the cell's.
        run(ip, "lr = 0.25\n")
        run(ip, "x = 1\ny = 2\n%timeit -n1 -r1 sum([1])\n")
        run(ip, "with open('d.csv') as fh:\n    fh.read()\n")
        run(ip, "%track stop")
    finally:
        cell_analysis.analyze = original
    assert context.drain()
    view = mlops.get_run("tap")
    assert view.params == {"lr": 0.25}
    assert [d.name for d in view.data_inputs] == ["d.csv"]
    assert parsed["x = 1\ny = 2\n%timeit -n1 -r1 sum([1])\n"] == 3  # not the one-statement snippet timeit parsed


def test_unloading_restores_the_compiler(tmp_path):
    shell = InteractiveShell.instance()
    from jupyter_mlops.ipython import magics

    observer = magics.CellObserver(shell)
    observer.register()
    assert "ast_parse" in shell.compile.__dict__
    observer.unregister()
    observer.unregister()  # twice is harmless
    assert shell.compile.ast_parse("x = 1").body[0].targets[0].id == "x"
    assert any(isinstance(v, magics.CellObserver) for v in magics._OBSERVERS.values())  # the module's own stays
