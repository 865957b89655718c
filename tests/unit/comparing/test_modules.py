"""The compare's local-module diffs: pure records from two code snapshots and the sources by hash (ADR-102)."""

from __future__ import annotations

from jupyter_mlops.comparing import RunSnapshot, build_comparison
from jupyter_mlops.comparing.modules import module_changes, module_sources_wanted
from jupyter_mlops.entities import Run, RunStatus


def snap(*modules: tuple[str, str | None]) -> dict:
    return {"cells": [{"index": 0, "source": "import utils"}],
            "modules": [{"name": n, "path": n.replace(".", "/") + ".py", "hash": h} for n, h in modules]}


def test_changed_added_and_removed_modules_with_their_diffs() -> None:
    base = snap(("utils", "h1"), ("old", "h3"), ("same", "h5"))
    other = snap(("utils", "h2"), ("new", "h4"), ("same", "h5"))
    sources = {"h1": b"x = 1\n", "h2": b"x = 2\n", "h3": b"gone = 1\n", "h4": "fresh = 1\n"}
    assert module_sources_wanted([base, other]) == {"h1", "h2", "h3", "h4"}
    records = {r["name"]: r for r in module_changes(base, other, sources)}
    assert {n: r["change"] for n, r in records.items()} == {"utils": "changed", "new": "added", "old": "removed"}
    assert records["utils"]["source_diff"] == "--- a/utils.py\n+++ b/utils.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
    assert records["new"]["source_diff"].endswith("+fresh = 1\n")
    assert records["old"]["source_diff"].endswith("-gone = 1\n")


def test_a_source_that_is_not_available_or_not_text_is_said_not_guessed() -> None:
    (record,) = module_changes(snap(("utils", "h1")), snap(("utils", "h2")), {"h1": b"\xff\xfe", "h2": b"x\n"})
    assert record["source_diff"] == "" and "baseline" in record["note"]
    (record,) = module_changes(snap(("utils", None)), snap(("utils", "h2")), {"h2": b"x\n"})
    assert "not available" in record["note"]


def test_malformed_module_lists_are_ignored() -> None:
    assert module_changes({"modules": "nope"}, {"modules": [1, {"name": 3}]}, {}) == ()


def test_the_code_section_lists_a_run_whose_only_change_is_a_module() -> None:
    runs = [Run(id=i, name=i, experiment="e", status=RunStatus.FINISHED, start_time=0.0) for i in ("a", "b")]
    comparison = build_comparison([RunSnapshot(runs[0], snap(("utils", "h1"))),
                                   RunSnapshot(runs[1], snap(("utils", "h2")))],
                                  module_sources={"h1": b"x = 1\n", "h2": b"x = 2\n"})
    (entry,) = comparison.to_dict()["code"]
    assert entry["cells"] == [] and [m["change"] for m in entry["modules"]] == ["changed"]
    same = build_comparison([RunSnapshot(runs[0], snap(("utils", "h1"))), RunSnapshot(runs[1], snap(("utils", "h1")))])
    assert same.to_dict()["code"] == []
