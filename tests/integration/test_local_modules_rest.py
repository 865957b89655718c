"""The compare's module diffs through a real Jupyter server: the REST reply carries what the CLI prints (ADR-102).

Given two runs recorded in real kernels, the second after ``projutils.py`` was edited, when ``GET compare`` is asked
for both, then its code section lists the module's change with the same record as ``runs compare --format json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from test_local_modules import CELLS, V1, V2, cli, record, write_module

pytest_plugins = ["pytest_jupyter.jupyter_server"]
pytestmark = [pytest.mark.requires_kernel, pytest.mark.slow]


@pytest.fixture
def project(jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    for key in [k for k in os.environ if k.startswith(("JUPYTER_MLOPS", "JPY_"))]:
        monkeypatch.delenv(key)
    root = Path(jp_root_dir)
    (root / "pyproject.toml").write_text("[project]\nname = 'demo'\n", encoding="utf-8")
    url = f"sqlite:///{root / '.mlops' / 'mlops.db'}"
    write_module(root, V1)
    first = record(root, url, CELLS)
    write_module(root, V2)
    second = record(root, url, CELLS)
    return {"root": root, "url": url, "runs": [first, second]}


async def test_rest_compare_shows_the_module_diff_as_the_cli_does(api, project):
    first, second = project["runs"]
    rest = await api("compare", ids=f"{first},{second}")
    (entry,) = rest["code"]
    (change,) = entry["modules"]
    assert (change["change"], change["name"]) == ("changed", "projutils")
    assert "+    return x * 3" in change["source_diff"]
    printed = cli(project["root"], project["url"], "runs", "compare", first, second, "--format", "json")
    assert json.loads(printed.stdout)["code"] == rest["code"]
