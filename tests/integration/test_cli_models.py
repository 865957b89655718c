"""``jupyter-mlops models ...`` end to end: the real ``main`` against a store filled through the tracking API.

Bad references and refused promotions must give one line on stderr, the documented exit code (2 bad input,
1 not found or refused) and leave the store as it was.
"""

from __future__ import annotations

import json

import pytest
from test_cli_runs import invoke

import jupyter_mlops as mlops
from jupyter_mlops.store import open_store
from jupyter_mlops.tracking import context, fluent


@pytest.fixture
def url(tmp_path, monkeypatch):
    """A store holding churn 1.0.0 (complete lineage once the run's code hash is set) and 1.1.0 (no code)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JUPYTER_MLOPS_BLOBS", str(tmp_path / "blobs"))
    monkeypatch.setenv("JUPYTER_MLOPS_USER", "ana")
    monkeypatch.delenv("JUPYTER_MLOPS_STORE", raising=False)
    url = f"sqlite:///{tmp_path / 'mlops.db'}"
    data = tmp_path / "train.csv"
    for rows, run_name in ((["a,b", "1,2"], "first"), (["a,b", "1,2", "3,4"], "second")):
        data.write_text("\n".join(rows) + "\n")
        with mlops.start_run(run_name, store=url, auto_capture=False) as run:
            run.log_data(str(data), name="train")
            run.log_metric("auc", 0.8)
            run.log_model({"w": len(rows)}, "churn", parents=["churn:latest"] if run_name == "second" else ())
    with open_store(url) as store:
        store.update_run(store.resolve_run("first"), code_hash="xxh3_128:" + "01" * 16)
    yield url
    fluent.end_run()
    context.drain()


def ok(*args: str) -> str:
    code, out, err = invoke(*args)
    assert code == 0, err
    return out


def test_list_show_lineage_alias_stage_history(url):
    assert "churn" in ok("models", "list", "--store", url) and "1.1.0" in ok("models", "list", "--store", url)
    listed = json.loads(ok("models", "list", "--store", url, "--format", "json"))["models"]
    assert [(m["name"], m["latest"], m["versions"]) for m in listed] == [("churn", "1.1.0", 2)]
    table = ok("models", "show", "churn", "--store", url)
    assert table.index("1.1.0") < table.index("1.0.0") and "incomplete" in table

    assert ok("models", "alias", "churn", "1.0.0", "champion", "--store", url).strip() == (
        "churn: alias champion - -> 1.0.0")
    assert "stage none -> production" in ok("models", "stage", "churn", "@champion", "production", "--store", url)
    shown = ok("models", "show", "churn@champion", "--store", url)
    assert "churn:1.0.0" in shown and "stage: production" in shown and "lineage  complete" in shown

    graph = ok("models", "lineage", "churn:latest", "--store", url)
    lines = graph.splitlines()
    # read left to right: data -> run -> model, the parent's lineage below its "parent" line
    first = lines[0]
    assert first.startswith("data train") and first.index("--> run second") < first.index("--> model churn:1.1.0")
    parent = lines.index("model churn:1.0.0 --> model churn:1.1.0  (parent)")
    assert lines[parent + 1].startswith("    data train") and lines[parent + 1].endswith(
        "--> model churn:1.0.0  [production, champion]")
    lineage = json.loads(ok("models", "lineage", "churn:1.1.0", "--store", url, "--format", "json"))
    assert lineage["run"]["name"] == "second" and lineage["parents"][0]["model"]["version"] == "1.0.0"
    assert len(lineage["model"]["lineage"]["data"][0]["hash"]) > 30

    history = json.loads(ok("models", "history", "churn", "--store", url, "--format", "json"))["history"]
    assert [(h["label"], h["from_value"], h["to_value"], h["who"]) for h in history] == [
        ("champion", None, "1.0.0", "ana"), ("stage", "none", "production", "ana")]
    assert "ana" in ok("models", "history", "churn", "--store", url)


def test_an_alias_is_removed_with_a_history_row(url):
    ok("models", "alias", "churn", "1.0.0", "champion", "--store", url)
    assert ok("models", "alias", "churn", "--remove", "champion", "--note", "retired", "--store", url).strip() == (
        "churn: alias champion 1.0.0 -> -")
    code, _, err = invoke("models", "show", "churn@champion", "--store", url)
    assert code == 1 and "has no alias 'champion'" in err
    history = json.loads(ok("models", "history", "churn", "--store", url, "--format", "json"))["history"]
    assert [(h["label"], h["version"], h["from_value"], h["to_value"], h["note"]) for h in history] == [
        ("champion", "1.0.0", None, "1.0.0", ""), ("champion", "1.0.0", "1.0.0", None, "retired")]
    code, _, err = invoke("models", "alias", "churn", "--remove", "champion", "--store", url)
    assert code == 1 and "has no alias 'champion'" in err and len(err.strip().splitlines()) == 1
    code, _, err = invoke("models", "alias", "churn", "1.0.0", "--remove", "champion", "--store", url)
    assert code == 2 and "--remove ALIAS takes only the model NAME" in err
    code, _, err = invoke("models", "alias", "churn", "--store", url)
    assert code == 2 and "or --remove ALIAS" in err
    assert len(json.loads(ok("models", "history", "churn", "--store", url, "-f", "json"))["history"]) == 2


def test_promotion_refused_then_forced_with_a_recorded_reason(url):
    code, out, err = invoke("models", "alias", "churn", "1.1.0", "champion", "--store", url)
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1
    assert "lineage incomplete (code not recorded" in err
    code, _, err = invoke("models", "alias", "churn", "1.1.0", "champion", "--force", "--store", url)
    assert code == 2 and "needs a reason" in err and len(err.strip().splitlines()) == 1
    assert ok("models", "history", "churn", "--store", url).startswith("No alias or stage changes")
    ok("models", "alias", "churn", "1.1.0", "champion", "--stage", "staging", "--force", "--reason", "demo day",
       "--store", url)
    history = json.loads(ok("models", "history", "churn", "--store", url, "-f", "json"))["history"]
    assert [(h["label"], h["forced"]) for h in history] == [("champion", True), ("stage", True)]
    assert all(h["note"].endswith("demo day") for h in history)


@pytest.mark.parametrize(("args", "exit_code", "message"), [
    (["models", "show", "churn:x.y"], 2, "invalid model reference 'churn:x.y'"),
    (["models", "lineage", "churn"], 2, "names no version"),
    (["models", "show", "nope"], 1, "no model named 'nope'"),
    (["models", "lineage", "nope:latest"], 1, "no model named 'nope'"),
    (["models", "show", "churn@gold"], 1, "model 'churn' has no alias 'gold'"),
    (["models", "show", "churn:7.0.0"], 1, "has no version 7.0.0 (newest: 1.1.0)"),
    (["models", "history", "nope"], 1, "no model named 'nope'"),
    (["models", "alias", "churn", "1.0.0"], 2, "give an ALIAS or --stage"),
    (["models", "alias", "churn", "1.0.0", "latest"], 2, "'latest' is reserved"),
    (["models", "alias", "churn", "1.0.0", "champion", "--stage", "gold"], 2, "stage must be one of"),
    (["models", "stage", "churn", "x", "production"], 2, "invalid model reference"),
    (["models", "list", "--format", "xml"], 2, "--format must be one of"),
])
def test_bad_references_are_one_line_errors_that_change_nothing(url, args, exit_code, message):
    code, out, err = invoke(*args, "--store", url)
    assert code == exit_code, err
    assert err.startswith("Error: ") and len(err.strip().splitlines()) == 1 and message in err
    assert ok("models", "history", "churn", "--store", url).startswith("No alias or stage changes")


def test_a_missing_store_is_not_created(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = invoke("models", "list", "--store", f"sqlite:///{tmp_path / 'none.db'}")
    assert code == 1 and "no store at" in err and not (tmp_path / "none.db").exists()


def test_json_output_is_strict_json_when_a_metric_is_nan(url):
    with mlops.start_run("nan", store=url, auto_capture=False) as run:
        run.log_metric("loss", float("nan"))
        run.log_model({"w": 0}, "odd")

    def refuse(constant: str) -> None:
        raise AssertionError(f"non-standard JSON constant {constant}")

    shown = json.loads(ok("models", "show", "odd:1.0.0", "--store", url, "-f", "json"), parse_constant=refuse)
    assert shown["versions"][0]["lineage"]["metrics"] == {"loss": None}
