"""Rendering of comparisons and run tables (terminal text, markdown, HTML, CSV)."""

from __future__ import annotations

import csv
import io

from jupyter_mlops import render
from jupyter_mlops.comparing import RunSnapshot, build_comparison
from jupyter_mlops.entities import DataInput, Run, RunStatus


def make_run(run_id: str, name: str, **fields) -> Run:
    return Run(id=run_id, name=name, experiment="churn", status=RunStatus.FINISHED, start_time=1_700_000_000.0,
               end_time=1_700_000_065.0, **fields)


def data(hash_: str, rows: int, columns: dict[str, str]) -> DataInput:
    schema = {"columns": [{"name": c, "dtype": d} for c, d in columns.items()], "rows": rows}
    return DataInput(name="data/train.csv", hash=hash_, size=rows * 10, schema=schema)


def comparison(all_values: bool = False):
    a = make_run("aaaa1111", "base", params={"lr": 0.1, "depth": 3, "note": "<b>x</b>"},
                 metrics={"auc": 0.90, "loss": 0.5}, data_inputs=(data("h:1", 10, {"age": "int64"}),))
    b = make_run("bbbb2222", "tuned", params={"lr": 0.2, "depth": 3, "note": "<b>x</b>"},
                 metrics={"auc": 0.93, "loss": 0.6}, flags={"out_of_order": True},
                 data_inputs=(data("h:2", 12, {"age": "float64", "income": "float64"}),))
    code_a = {"cells": [{"index": 0, "source": "fit(lr=0.1)"}]}
    code_b = {"cells": [{"index": 0, "source": "fit(lr=0.2)"}, {"index": 1, "source": "print('<script>')"}]}
    env_a = {"python": "3.11.7", "packages": {"numpy": "1.26.0"}}
    env_b = {"python": "3.11.7", "packages": {"numpy": "2.0.0", "rich": "13.7"}}
    snaps = [RunSnapshot(a, code_a, env_a), RunSnapshot(b, code_b, env_b)]
    return build_comparison(snaps, all_values=all_values)


def test_sections_come_in_reading_order_and_hide_unchanged_params():
    sections = render.comparison_sections(comparison())
    assert [s.key for s in sections] == ["runs", "params", "code", "data", "env", "metrics", "flags"]
    params = sections[1]
    assert [row[0].text for row in params.rows] == ["lr"]
    assert params.rows[0][2].style == "differs" and params.rows[0][1].style is None
    everything = render.comparison_sections(comparison(all_values=True), only_differences=False)[1]
    assert {row[0].text for row in everything.rows} == {"lr", "depth", "note"}


def test_metrics_mark_best_and_show_deltas():
    metrics = render.comparison_sections(comparison())[5]
    auc, loss = metrics.rows
    assert auc[2].style == "best" and auc[2].text == "0.93 (+0.03)"
    assert loss[1].style == "best" and loss[3].text == "↓ min"


def test_terminal_text_contains_every_section():
    text = render.render_comparison_text(comparison())
    for expected in ("Params", "lr", "0.2", "baseline executed cell 0 → 0 changed", "+fit(lr=0.2)", "-fit(lr=0.1)",
                     "data/train.csv", "+income", "age: int64→float64", "rows 10→12", "numpy", "bumped", "added",
                     "auc", "out of order", "tuned"):
        assert expected in text, expected


def test_markdown_has_tables_bold_best_and_diff_blocks():
    md = render.render_comparison_markdown(comparison())
    assert md.startswith("## Run comparison (baseline: base)")
    assert "| param | base (baseline) | tuned |" in md
    assert "**0.93 (+0.03)**" in md
    assert "```diff\n@@ -1 +1 @@\n-fit(lr=0.1)" in md
    assert "| numpy | 1.26.0 | **2.0.0** | **bumped** |" in md
    assert "+income, age: int64→float64" in md


def test_markdown_escapes_pipes():
    cmp = build_comparison([RunSnapshot(make_run("a1", "a", params={"p": "x|y"})),
                            RunSnapshot(make_run("b1", "b", params={"p": "z"}))])
    assert "x\\|y" in render.render_comparison_markdown(cmp)


def test_html_escapes_user_content_and_colours_diffs():
    page = render.render_comparison_html(comparison(all_values=True))
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert '<td class="differs">0.2</td>' in page
    assert '<td class="best">0.93 (+0.03)</td>' in page
    assert '<span class="add">+fit(lr=0.2)</span>' in page and '<span class="del">-fit(lr=0.1)</span>' in page
    assert page.startswith('<div class="mlops-compare">')


def test_empty_sections_say_so():
    cmp = build_comparison([RunSnapshot(make_run("a1", "a")), RunSnapshot(make_run("b1", "b"))])
    text = render.render_comparison_text(cmp)
    assert "Params: no differences" in text and "Metrics: no metrics" in text


def test_format_helpers():
    assert render.format_value(None) == "—" and render.format_value(True) == "true"
    assert render.format_value(0.123456789) == "0.123457" and render.format_value([1, 2]) == "[1,2]"
    assert render.format_value("x" * 200).endswith("…")
    assert render.format_duration(65) == "1m 05s" and render.format_duration(7300) == "2h 01m"
    assert render.format_size(1234) == "1.2 kB" and render.format_size(12) == "12 B"


def test_runs_csv_uses_mlflow_style_columns():
    runs = [make_run("a1", "a", params={"lr": 0.1, "layers": [1, 2]}, metrics={"auc": 0.9}, tags=("x", "y")),
            make_run("b1", "b", params={"depth": 3})]
    rows = list(csv.DictReader(io.StringIO(render.runs_csv(runs))))
    assert rows[0]["params.lr"] == "0.1" and rows[0]["params.layers"] == "[1, 2]" and rows[0]["tags"] == "x;y"
    assert rows[1]["metrics.auc"] == "" and rows[1]["params.depth"] == "3"


def test_runs_csv_writes_times_as_iso_8601_and_the_logging_errors_count():
    import datetime

    run = make_run("a1", "a")
    (row,) = csv.DictReader(io.StringIO(render.runs_csv([run])))
    parsed = datetime.datetime.fromisoformat(row["start_time"])
    assert parsed.tzinfo is not None and abs(parsed.timestamp() - run.start_time) < 0.001
    assert row["logging_errors"] == "0" and float(row["duration"]) == run.duration


def test_runs_table_and_run_view_render():
    from rich.console import Console

    run = make_run("a1", "a", params={"lr": 0.1}, metrics={"auc": 0.9},
                   data_inputs=(data("h:1", 10, {"x": "int64"}),))
    console = Console(file=io.StringIO(), width=140, color_system=None)
    console.print(render.runs_table([run]))
    for item in render.run_renderables(run, env={"python": "3.11.7", "packages": {"numpy": "2"}}):
        console.print(item)
    out = console.file.getvalue()
    assert "auc" in out and "0.9" in out and "data/train.csv" in out and "3.11.7" in out
    assert render.metric_columns([run]) == ["auc"]


def _table_text(table, width: int) -> str:
    from rich.console import Console

    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(table)
    return console.file.getvalue()


def test_runs_table_leaves_out_metrics_before_squeezing_names_on_a_narrow_terminal():
    metrics = {f"metric_{i}": 0.5 + i for i in range(6)}
    runs = [make_run(f"{i:08x}aaaa", f"experiment-run-{i}", metrics=metrics, tags=("baseline",)) for i in range(3)]

    narrow = _table_text(render.runs_table(runs, width=80), 80)
    assert "experiment-run-1" in narrow and "00000001" in narrow  # id and name never wrapped or cut
    assert "hidden to fit: tags, metric_0" not in narrow  # metrics go first, from the right
    assert "hidden to fit:" in narrow and "metric_5" in narrow.split("hidden to fit:")[1]
    assert all(len(line) <= 80 for line in narrow.splitlines())

    wide = _table_text(render.runs_table(runs), 400)
    assert "hidden to fit" not in wide and "metric_5" in wide and "baseline" in wide


def test_params_show_as_given_and_metrics_rounded():
    # `C = 1.0` is a float setting; shown as `1` it reads as an integer (issue 9).
    assert render.format_param(1.0) == "1.0" and render.format_param(10) == "10"
    assert render.format_param(0.05) == "0.05" and render.format_param(1e-5) == "1e-05"
    assert render.format_param("adam") == "adam" and render.format_param(None) == "—"
    a = make_run("a1", "a", params={"C": 1.0, "n": 3}, metrics={"auc": 0.912345678})
    b = make_run("b1", "b", params={"C": 10.0, "n": 3}, metrics={"auc": 0.9})
    text = render.render_comparison_text(build_comparison([RunSnapshot(a), RunSnapshot(b)]))
    assert "1.0" in text and "10.0" in text and "0.912346" in text
    assert "1.0" in render.render_comparison_html(build_comparison([RunSnapshot(a), RunSnapshot(b)]))


def test_flags_are_described_with_their_cells():
    from jupyter_mlops.render import describe_flags

    flags = {"cells_rerun": True, "out_of_order": True, "kernel_restarted": False, "future_flag": True}
    cells = {"out_of_order": [4, 2, 5], "cells_rerun": [3]}
    assert describe_flags(flags, cells) == ["executed out of order: cells 4, 2, 5", "cells run more than once: cell 3",
                                            "future flag"]
    assert describe_flags({"out_of_order": True}, {"out_of_order": list(range(1, 20))})[0].endswith("12, …")
    assert describe_flags({}, None) == []
