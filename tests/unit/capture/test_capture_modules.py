"""Which loaded modules are the project's own, and when one was loaded again (ADR-102).

Real module objects in a module table of the test's own (not the interpreter's ``sys.modules``), real files.
"""

from __future__ import annotations

import importlib.util
import sys
import sysconfig
import types
from pathlib import Path

import pytest

from jupyter_mlops.capture.modules import ModuleWatch, SourceReader, module_path


def load(name: str, file: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n", encoding="utf-8")
    (tmp_path / "utils.py").write_text("X = 1\n", encoding="utf-8")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "pkg" / "sub.py").write_text("Y = 2\n", encoding="utf-8")
    return tmp_path


def test_project_modules_are_local_and_installed_ones_are_not(project: Path) -> None:
    venv = project / ".venv" / "lib" / "python3.11" / "site-packages"
    venv.mkdir(parents=True)
    (venv / "vendored.py").write_text("", encoding="utf-8")
    table = {
        "utils": load("utils", project / "utils.py"),
        "pkg": load("pkg", project / "pkg" / "__init__.py"),
        "pkg.sub": load("pkg.sub", project / "pkg" / "sub.py"),
        "vendored": load("vendored", venv / "vendored.py"),  # a site-packages folder inside the project
        "json": sys.modules["json"],  # the standard library
        "jupyter_mlops.x": load("jupyter_mlops.x", project / "utils.py"),  # the tracker is never the project's code
        "__main__": load("__main__", project / "utils.py"),
    }
    found = ModuleWatch(table, path=[], cwd=str(project)).scan()
    assert [(m.name, m.path) for m in found] == [("pkg", "pkg/__init__.py"), ("pkg.sub", "pkg/sub.py"),
                                                 ("utils", "utils.py")]


def test_a_sys_path_entry_outside_the_project_is_a_root_unless_installed(
    tmp_path_factory: pytest.TempPathFactory, project: Path
) -> None:
    src = tmp_path_factory.mktemp("elsewhere")
    (src / "helper.py").write_text("", encoding="utf-8")
    table = {"helper": load("helper", src / "helper.py")}
    assert ModuleWatch(dict(table), path=[], cwd=str(project)).scan() == []  # not on the path: not the project's
    other = ModuleWatch(dict(table), path=[str(src), sysconfig.get_path("purelib")], cwd=str(project))
    assert [m.name for m in other.scan()] == ["helper"]
    assert sysconfig.get_path("purelib") not in other.roots()


def test_a_folder_only_cwd_knows_is_no_root_of_another_cwd(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "m.py").write_text("", encoding="utf-8")
    table = {"m": load("m", tmp_path / "a" / "m.py")}
    assert ModuleWatch(table, path=[], cwd=str(tmp_path / "b")).scan() == []


def test_reload_and_reimport_are_new_versions_and_nothing_else_is(project: Path) -> None:
    table: dict[str, types.ModuleType] = {"utils": load("utils", project / "utils.py")}
    watch = ModuleWatch(table, path=[], cwd=str(project))
    assert [m.name for m in watch.scan()] == ["utils"]
    assert watch.scan() == []  # nothing happened
    table["utils"].__spec__ = importlib.util.spec_from_file_location("utils", project / "utils.py")  # as reload does
    assert [m.name for m in watch.scan()] == ["utils"]
    table["utils"] = load("utils", project / "utils.py")  # deleted from sys.modules and imported again
    assert [m.name for m in watch.scan()] == ["utils"]
    table["pkg"] = load("pkg", project / "pkg" / "__init__.py")  # a later import
    assert [m.name for m in watch.scan()] == ["pkg"]


def test_the_interpreter_reload_is_seen(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(project))
    monkeypatch.chdir(project)
    import utils  # type: ignore[import-not-found]

    try:
        watch = ModuleWatch()
        assert "utils" in [m.name for m in watch.scan()]
        importlib.reload(utils)
        assert [m.name for m in watch.scan()] == ["utils"]
    finally:
        sys.modules.pop("utils", None)


def test_module_paths_and_source_reads(project: Path) -> None:
    assert module_path("pkg.sub", str(project / "pkg" / "sub.py")) == "pkg/sub.py"
    reader = SourceReader(max_bytes=10)
    assert reader.read(str(project / "utils.py")) == b"X = 1\n"
    (project / "big.py").write_text("x" * 11, encoding="utf-8")
    assert reader.read(str(project / "big.py")) is None  # too large: recorded without its source
    assert reader.read(str(project / "gone.py")) is None
