"""The pure comparison core (jupyter_mlops.comparing): sections built from run entities, no store."""

from __future__ import annotations

import json
import math

import pytest

from jupyter_mlops.comparing import RunSnapshot, build_comparison, code_diffs
from jupyter_mlops.comparing.code import cell_changes, snapshot_cells
from jupyter_mlops.comparing.sections import metric_goal, package_change, same_value
from jupyter_mlops.entities import DataInput, Run, RunStatus
from jupyter_mlops.errors import InvalidInput


def make_run(run_id: str, **fields) -> Run:
    return Run(id=run_id, name=fields.pop("name", run_id), experiment="e", status=RunStatus.FINISHED,
               start_time=1000.0, end_time=1010.0, **fields)


def csv_input(hash_: str, size: int, rows: int, columns: dict[str, str], name: str = "data/train.csv") -> DataInput:
    schema = {"columns": [{"name": c, "dtype": d} for c, d in columns.items()], "rows": rows}
    return DataInput(name=name, hash=hash_, path=name, size=size, schema=schema)


def snaps(*runs: Run, code=None, env=None) -> list[RunSnapshot]:
    code = code or [None] * len(runs)
    env = env or [None] * len(runs)
    return [RunSnapshot(r, c, e) for r, c, e in zip(runs, code, env, strict=True)]


# -- params ----------------------------------------------------------------------------------------------------
def test_params_only_differences_by_default_and_missing_counts_as_differing():
    a = make_run("a", params={"lr": 0.1, "depth": 3, "opt": "adam"})
    b = make_run("b", params={"lr": 0.2, "depth": 3})
    cmp = build_comparison(snaps(a, b))
    rows = {p.key: p for p in cmp.params}
    assert set(rows) == {"lr", "opt"}
    assert rows["lr"].values == (0.1, 0.2)
    assert rows["opt"].values == ("adam", None) and rows["opt"].differs
    everything = {p.key: p for p in build_comparison(snaps(a, b), all_values=True).params}
    assert everything["depth"].differs is False and everything["depth"].values == (3, 3)


def test_params_keep_native_types_and_compare_numbers_by_value():
    a = make_run("a", params={"n": 1, "flag": True, "layers": [64, 32], "cfg": {"a": 1}})
    b = make_run("b", params={"n": 1.0, "flag": 1, "layers": [64, 32], "cfg": {"a": 2}})
    rows = {p.key: p for p in build_comparison(snaps(a, b), all_values=True).params}
    assert rows["n"].differs is False
    assert rows["flag"].differs is True  # True and 1 are different params
    assert rows["layers"].differs is False and rows["layers"].values[0] == [64, 32]
    assert rows["cfg"].differs is True
    assert same_value(float("nan"), float("nan"))
    assert not same_value("1", 1)


# -- metrics ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "goal"),
    [("val_loss", "min"), ("RMSE", "min"), ("error_rate", "min"), ("fit_time", "min"), ("p95_latency", "min"),
     ("auc", "max"), ("accuracy", "max"), ("f1", "max")],
)
def test_metric_goal_is_inferred_from_the_name(key, goal):
    assert metric_goal(key) == goal


def test_metrics_deltas_best_and_missing_values():
    a = make_run("a", metrics={"auc": 0.90, "loss": 0.5, "only_a": 1.0})
    b = make_run("b", metrics={"auc": 0.92, "loss": 0.4})
    c = make_run("c", metrics={"auc": 0.92, "loss": 0.7})
    rows = {m.key: m for m in build_comparison(snaps(a, b, c)).metrics}
    auc = rows["auc"]
    assert auc.goal == "max" and auc.best == 1  # tie between b and c goes to the earlier run
    assert auc.deltas[0] == 0.0 and math.isclose(auc.deltas[1], 0.02)
    assert rows["loss"].goal == "min" and rows["loss"].best == 1
    assert rows["only_a"].values == (1.0, None, None) and rows["only_a"].deltas == (0.0, None, None)


def test_metrics_are_listed_even_when_unchanged_and_nan_is_never_best():
    a = make_run("a", metrics={"auc": 0.9, "loss": float("nan")})
    b = make_run("b", metrics={"auc": 0.9, "loss": 0.3})
    rows = {m.key: m for m in build_comparison(snaps(a, b)).metrics}
    assert rows["auc"].best == 0 and not rows["auc"].differs
    assert rows["loss"].best == 1
    assert build_comparison(snaps(a, b)).to_dict()["metrics"][1]["values"] == [None, 0.3]


# -- data ------------------------------------------------------------------------------------------------------
def test_data_change_reports_hash_size_rows_columns_and_dtypes():
    base = csv_input("xxh3_128:aa", 100, 10, {"age": "int64", "city": "object", "y": "int64"})
    new = csv_input("xxh3_128:bb", 140, 14, {"age": "float64", "y": "int64", "income": "float64"})
    a, b = make_run("a", data_inputs=(base,)), make_run("b", data_inputs=(new,))
    (row,) = build_comparison(snaps(a, b)).data
    assert row.differs and row.name == "data/train.csv"
    (change,) = row.changes
    assert change.status == "changed" and change.hash_changed
    assert change.size == (100, 140) and change.rows == (10, 14)
    assert change.columns_added == ("income",) and change.columns_removed == ("city",)
    assert change.dtype_changes == (("age", "int64", "float64"),)
    wire = row.to_dict()["changes"][0]
    assert wire["dtype_changes"] == [{"column": "age", "from": "int64", "to": "float64"}]


def test_data_same_hash_is_not_listed_and_missing_input_is():
    same = csv_input("xxh3_128:aa", 100, 10, {"x": "int64"})
    other = DataInput(name="labels.npy", hash="xxh3_128:cc", kind="file", size=8)
    a = make_run("a", data_inputs=(same,))
    b = make_run("b", data_inputs=(same, other))
    rows = build_comparison(snaps(a, b)).data
    assert [r.name for r in rows] == ["labels.npy"]
    assert rows[0].changes[0].status == "added" and rows[0].values[0] is None
    assert rows[0].changes[0].columns_added == ()  # no schema on one side: no column claims
    assert len(build_comparison(snaps(a, b), all_values=True).data) == 2


def test_output_data_is_not_an_input_difference():
    out = DataInput(name="model.pkl", hash="xxh3_128:dd", role="output", size=3)
    rows = build_comparison(snaps(make_run("a"), make_run("b", data_inputs=(out,)))).data
    assert rows == ()


# -- environment -----------------------------------------------------------------------------------------------
def test_env_packages_added_removed_bumped_and_python():
    env_a = {"python": "3.11.7", "platform": "Linux", "packages": {"numpy": "1.26.0", "pandas": "2.2", "Old_Pkg": "1"}}
    env_b = {"python": "3.12.1", "platform": "Linux", "packages": {"numpy": "2.0.0", "pandas": "2.2", "rich": "13"}}
    cmp = build_comparison(snaps(make_run("a"), make_run("b"), env=[env_a, env_b]))
    changes = {p.name: p.change for p in cmp.env.packages}
    assert changes == {"numpy": "bumped", "Old_Pkg": "removed", "rich": "added"}
    assert cmp.env.python == ("3.11.7", "3.12.1") and cmp.env.python_differs
    assert not cmp.env.platform_differs
    everything = build_comparison(snaps(make_run("a"), make_run("b"), env=[env_a, env_b]), all_values=True)
    assert {p.name: p.change for p in everything.env.packages}["pandas"] == "unchanged"


def test_env_package_names_are_normalised_and_missing_snapshots_remove_nothing():
    env_a = {"python": "3.11.7", "packages": {"scikit_learn": "1.4"}}
    env_b = {"python": "3.11.7", "packages": {"Scikit-Learn": "1.4"}}
    cmp = build_comparison(snaps(make_run("a"), make_run("b"), make_run("c"), env=[env_a, env_b, None]))
    assert cmp.env.packages == ()
    assert cmp.env.python == ("3.11.7", "3.11.7", None)


def test_package_change_classification():
    assert package_change(["1.0", "1.1"]) == "bumped"
    assert package_change([None, "1.1"]) == "added"
    assert package_change(["1.0", None, "1.1"]) == "removed"
    assert package_change(["1.0", "1.0"]) == "unchanged"


# -- code ------------------------------------------------------------------------------------------------------
def code(*sources: str, ids: list[str] | None = None) -> dict:
    return {"cells": [{"index": i, "execution_count": i + 1, "source": s, "cell_id": (ids or [])[i] if ids else f"c{i}"}
                      for i, s in enumerate(sources)]}


def test_cell_changes_added_removed_changed_with_unified_diff():
    # The compare's code section is the notebook diff engine's result (ADR-042): cells pair by id first.
    base = snapshot_cells(code("import pandas as pd", "df = pd.read_csv('a.csv')", "model.fit(df, lr=0.1)", "print(1)",
                               ids=["imports", "load", "fit", "show"]))
    new = snapshot_cells(code("import pandas as pd", "model.fit(df, lr=0.2)", "print(1)", "plot(df)",
                              ids=["imports", "fit", "show", "plot"]))
    changes = cell_changes(base, new)
    kinds = [(c["change"], c["a_index"], c["b_index"]) for c in changes]
    assert kinds == [("removed", 1, None), ("changed", 2, 1), ("added", None, 3)]
    changed = changes[1]
    assert "-model.fit(df, lr=0.1)" in changed["source_diff"] and "+model.fit(df, lr=0.2)" in changed["source_diff"]
    assert changed["a_source"] == "model.fit(df, lr=0.1)" and changed["b_source"] == "model.fit(df, lr=0.2)"


def test_cell_changes_are_the_diff_engines_changes_for_the_same_snapshots():
    from jupyter_mlops.notebooks.diff import DiffOptions, diff_notebooks, notebook_from_code_snapshot

    old, new = code("lr = 0.1", "fit(lr)", ids=["p", "f"]), code("lr = 0.3", "fit(lr)", "plot()", ids=["p", "f", "x"])
    engine = diff_notebooks(notebook_from_code_snapshot(old), notebook_from_code_snapshot(new), DiffOptions())
    assert list(cell_changes(snapshot_cells(old), snapshot_cells(new))) == engine.changes
    assert [c["change"] for c in engine.changes] == ["changed", "added"]


def test_replacement_without_ids_is_removed_plus_added():
    changes = cell_changes(snapshot_cells({"cells": [{"source": "x = 1"}]}),
                           snapshot_cells({"cells": [{"source": "import matplotlib.pyplot as plt"}]}))
    assert [c["change"] for c in changes] == ["added", "removed"]  # nbdime lists an insertion first


def test_identical_code_has_no_entry_unless_all_values_and_missing_snapshots_are_skipped():
    a, b, c = make_run("a"), make_run("b"), make_run("c")
    same = snaps(a, b, c, code=[code("x = 1"), code("x = 1"), None])
    assert code_diffs(same) == ()
    assert [d.run for d in code_diffs(same, all_values=True)] == ["b"]
    assert code_diffs(snaps(a, b, code=[None, code("x = 1")])) == ()


def test_snapshot_cells_accepts_line_lists_and_missing_indices():
    cells = snapshot_cells({"cells": [{"source": ["a = 1\n", "b = 2"]}, "junk"]})
    assert cells == [{"source": "a = 1\nb = 2", "index": 0}]


# -- whole comparison ------------------------------------------------------------------------------------------
def test_to_dict_shape_is_json_and_leaves_out_data_inputs():
    a = make_run("a", params={"lr": 0.1}, metrics={"auc": 0.9}, flags={"out_of_order": True},
                 data_inputs=(csv_input("h:1", 1, 1, {"x": "int64"}),))
    b = make_run("b", params={"lr": 0.2}, metrics={"auc": float("inf")})
    out = build_comparison(snaps(a, b, code=[code("x = 1"), code("x = 2")])).to_dict()
    assert list(out) == ["baseline", "runs", "params", "code", "data", "env", "metrics", "flags", "slices"]
    assert out["baseline"] == "a"
    assert "data_inputs" not in out["runs"][0] and out["runs"][0]["params"] == {"lr": 0.1}
    assert out["flags"] == [{"run": "a", "flags": {"out_of_order": True}, "cells": {}}]
    assert out["code"][0]["run"] == "b" and out["code"][0]["cells"][0]["change"] == "changed"
    assert out["metrics"][0]["values"] == [0.9, None]
    json.loads(json.dumps(out, allow_nan=False))


def test_one_run_compares_with_itself_and_no_runs_is_invalid():
    cmp = build_comparison(snaps(make_run("a", params={"lr": 1})))
    assert cmp.params == () and cmp.baseline == "a"
    with pytest.raises(InvalidInput):
        build_comparison([])
