"""Import hygiene: the core stays free of IPython/Jupyter/pandas, and the layer contracts hold."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ["IPython", "tornado", "jupyter_server", "pandas", "nbformat", "papermill"]


def _modules_after(statement: str) -> set[str]:
    code = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return set(json.loads(out.stdout))


def test_core_layers_import_no_faces_or_heavy_libraries():
    loaded = _modules_after(
        "import jupyter_mlops.store.sql, jupyter_mlops.store.blobs, jupyter_mlops.store.filters\n"
        "import jupyter_mlops.capture.hashing, jupyter_mlops.capture.cells, jupyter_mlops.capture.env\n"
        "import jupyter_mlops.capture.redact, jupyter_mlops.capture.git, jupyter_mlops.capture.code\n"
        "import jupyter_mlops.capture.parameters, jupyter_mlops.capture.names\n"
        "import jupyter_mlops.tracking.fluent, jupyter_mlops.tracking.run, jupyter_mlops.tracking.writer"
    )
    assert not {name for name in loaded if name.split(".")[0] in HEAVY}


def test_package_import_and_cli_help_stay_light():
    loaded = _modules_after("import jupyter_mlops, jupyter_mlops.cli, jupyter_mlops.pytest_plugin")
    assert not {name for name in loaded if name.split(".")[0] in [*HEAVY, "sqlalchemy"]}


def test_import_linter_contracts_hold():
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports, "import-linter is a test dependency (pip install -e '.[test]')"
    result = subprocess.run([lint_imports], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:]


def _import_graph():
    import grimp

    return grimp.build_graph("jupyter_mlops", cache_dir=None)


def test_lint_runner_and_rules_meet_only_in_the_registry():
    graph = _import_graph()
    runner, rules = "jupyter_mlops.notebooks.lint.runner", "jupyter_mlops.notebooks.lint.rules"
    assert not graph.chain_exists(runner, rules) and not graph.chain_exists(rules, runner)
    registry = "jupyter_mlops.notebooks.lint.registry"
    assert graph.direct_import_exists(importer=runner, imported=registry)
    assert graph.direct_import_exists(importer=rules, imported=registry)
