"""Context providers and what a kernel knows about its notebook."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.tracking import context


def test_runner_context_wins_over_session_and_namespace():
    env = {
        "JUPYTER_MLOPS_CONTEXT": json.dumps(
            {"notebook_path": "/a/run.ipynb", "tags": ["smoke"], "parameters": {"x": 1}}
        ),
        "JPY_SESSION_NAME": "/b/session.ipynb",
    }
    ctx = context.kernel_context({"__session__": "/c/ns.ipynb"}, env)
    assert (ctx.notebook_path, ctx.tags, ctx.parameters, ctx.source) == ("/a/run.ipynb", ("smoke",), {"x": 1}, "runner")


def test_the_run_a_reproduction_links_to_comes_from_the_runner_context(tmp_path, monkeypatch):
    from jupyter_mlops.config import load_settings
    from jupyter_mlops.store import open_store
    from jupyter_mlops.tracking import run as run_module

    handed = {"JUPYTER_MLOPS_CONTEXT": json.dumps({"tags": ["reproduction"], "reproduction_of": "abc123"})}
    assert context.kernel_context({}, handed).reproduction_of == "abc123"
    assert context.kernel_context({}, {"JUPYTER_MLOPS_CONTEXT": '{"reproduction_of": 7}'}).reproduction_of is None
    url = f"sqlite:///{tmp_path / 'm.db'}"
    store = open_store(url)
    request = context.CaptureRequest(tmp_path, environ=handed)
    assert context.resolve(request, background=False)["reproduction_of"] == "abc123"
    settings = load_settings(store_url=url, environ={})
    original = store.create_run(name="original")
    monkeypatch.setenv("JUPYTER_MLOPS_CONTEXT", json.dumps({"reproduction_of": original.id}))
    active = run_module.start(store, None, settings, capture_context=True)
    try:
        assert store.get_run(active.id).reproduction_of == original.id
    finally:
        active.end()


@pytest.mark.parametrize(
    ("ns", "env", "expected", "source"),
    [
        ({}, {"JPY_SESSION_NAME": "/b/s.ipynb"}, "/b/s.ipynb", "jupyter-server"),
        ({"__session__": "/c/n.ipynb"}, {}, "/c/n.ipynb", "ipykernel"),
        ({"__vsc_ipynb_file__": "/d/v.ipynb"}, {}, "/d/v.ipynb", "vscode"),
        ({"__session__": "console-1"}, {}, None, "none"),
    ],
)
def test_notebook_path_sources(ns, env, expected, source):
    ctx = context.kernel_context(ns, env)
    assert ctx.notebook_path == expected and ctx.source == source


def test_malformed_runner_context_is_ignored_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        ctx = context.kernel_context({}, {"JUPYTER_MLOPS_CONTEXT": "{not json"})
    assert ctx.notebook_path is None
    assert any("not valid JSON" in r.getMessage() for r in caplog.records) or "JUPYTER_MLOPS_CONTEXT" in context._warned


def test_unknown_provider_lists_the_known_ones():
    with pytest.raises(InvalidInput, match="known: .*git"):
        context.get_provider("nope")


def test_a_failing_provider_is_a_warning_not_an_error(caplog):
    def broken(request):
        raise OSError("disk on fire")

    context.register("broken-test", broken)
    try:
        with caplog.at_level(logging.WARNING):
            facts = context.resolve(context.CaptureRequest(Path(".")), background=False)
    finally:
        context.PROVIDERS.pop("broken-test")
    assert isinstance(facts, dict)
    assert any("disk on fire" in r.getMessage() for r in caplog.records)


def test_registered_provider_facts_are_merged():
    context.register("host-test", lambda request: {"tags": ["on-ci"], "params": {"host": "ci"}})
    try:
        facts = context.resolve(context.CaptureRequest(Path("."), environ={}), background=False)
    finally:
        context.PROVIDERS.pop("host-test")
    assert "on-ci" in facts["tags"] and facts["params"]["host"] == "ci"


def test_background_jobs_run_and_drain():
    done = []
    context.submit(lambda: done.append(1))
    assert context.drain()
    assert done == [1]


def test_papermill_command_line_names_the_input_notebook(tmp_path):
    (tmp_path / "nb").mkdir()
    notebook = tmp_path / "nb" / "train.ipynb"
    notebook.write_text("{}")
    run = str(tmp_path)
    argv = ["/venv/bin/python", "/venv/bin/papermill", "-p", "lr", "x.ipynb", "-f", "p.yaml", "--no-progress-bar",
            "--log-level=WARNING", "nb/train.ipynb", "out.ipynb", "-k", "python3"]
    assert context.papermill_input_notebook(argv, run) == str(notebook)
    module_form = ["python", "-m", "papermill", str(notebook), "out.ipynb"]
    assert context.papermill_input_notebook(module_form, "/elsewhere") == str(notebook)
    # with --cwd papermill has moved into that folder: the relative path is the launch folder's
    moved = ["papermill", "../nb/train.ipynb", "o.ipynb", "--cwd", str(tmp_path / "nb")]
    assert context.papermill_input_notebook(moved, str(tmp_path / "nb"), str(tmp_path / "nb")) == str(notebook)


@pytest.mark.parametrize(
    "argv",
    [
        ["python", "train.py", "nb/train.ipynb"],            # not papermill
        ["papermill", "s3://bucket/train.ipynb", "o.ipynb"],  # remote input
        ["papermill", "missing.ipynb", "o.ipynb"],            # no such file
        ["papermill", "--help"],
    ],
)
def test_other_command_lines_name_no_notebook(argv, tmp_path):
    assert context.papermill_input_notebook(argv, str(tmp_path)) is None


def test_outside_a_kernel_the_parent_process_is_not_consulted():
    assert context.kernel_context(None, {}).source == "none"
