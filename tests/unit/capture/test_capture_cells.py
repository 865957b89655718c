"""capture.cells: files read, literal assignments, names, argparse — from a cell's AST."""

from __future__ import annotations

import ast

import pytest

from jupyter_mlops.capture.cells import analyze, analyze_source


def run(source: str):
    return analyze(ast.parse(source), source)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('df = pd.read_csv("data/train.csv")', ["data/train.csv"]),
        ('df = pandas.read_parquet(path="d.parquet")', ["d.parquet"]),
        ('t = pl.read_csv("p.csv"); l = pl.scan_parquet("s.parquet")', ["p.csv", "s.parquet"]),
        ('x = np.load("x.npy"); y = np.loadtxt("y.txt"); z = np.genfromtxt("z.csv")', ["x.npy", "y.txt", "z.csv"]),
        ('m = torch.load("model.pt")', ["model.pt"]),
        ('with open("notes.txt") as f:\n    text = f.read()', ["notes.txt"]),
        ('f = open("a.bin", "rb")', ["a.bin"]),
        ('f = open("a.txt", mode="r+")', ["a.txt"]),
        ('t = Path("readme.md").read_text()', ["readme.md"]),
        ('b = pathlib.Path("blob").read_bytes()', ["blob"]),
        ('with Path("p.txt").open() as f: pass', ["p.txt"]),
        ('cfg = json.load(open("cfg.json"))', ["cfg.json"]),
        ('cfg = yaml.safe_load(open("params.yaml"))', ["params.yaml"]),
        ('def f():\n    return pd.read_csv("inner.csv")', ["inner.csv"]),
    ],
)
def test_files_read(source: str, expected: list[str]) -> None:
    assert run(source).files_read == expected


@pytest.mark.parametrize(
    "source",
    [
        'open("out.txt", "w")',
        'open("log.txt", "a")',
        'open("new.txt", mode="x")',
        'open("both.txt", "w+")',
        'Path("o.txt").open("w")',
        'open(name)',
        'pd.read_csv(f"data/{split}.csv")',
        'df.to_csv("out.csv")',
        'np.save("x.npy", x)',
        'print("read_csv")',
    ],
)
def test_not_file_reads(source: str) -> None:
    assert run(source).files_read == []


def test_files_in_source_order_without_duplicates_and_configs() -> None:
    source = 'a = pd.read_csv("b.csv")\nc = yaml.safe_load(open("conf.YML"))\nd = pd.read_csv("b.csv")\n'
    result = run(source)
    assert result.files_read == ["b.csv", "conf.YML"]
    assert result.config_files == ["conf.YML"]


def test_literal_assignments() -> None:
    source = (
        "lr = 0.05\nepochs = 10\nname = 'base'\nlayers = [64, 32]\nshape = (3, -4)\nopts = {'a': 1, 2: None}\n"
        "neg = -1.5\nflag = True\nnothing = None\nbatch: int = 32\na, b = 1, 'x'\nmodel = make()\nlr2 = lr * 2\n"
    )
    result = run(source)
    assert result.literal_assignments == {
        "lr": 0.05,
        "epochs": 10,
        "name": "base",
        "layers": [64, 32],
        "shape": [3, -4],
        "opts": {"a": 1, "2": None},
        "neg": -1.5,
        "flag": True,
        "nothing": None,
        "batch": 32,
        "a": 1,
        "b": "x",
    }
    assert result.numeric_assignments == {"lr": 0.05, "epochs": 10.0, "neg": -1.5, "batch": 32.0, "a": 1.0}
    assert result.assigned_names[-2:] == ["model", "lr2"]


def test_reassignment_to_non_literal_and_augassign_drop_the_literal() -> None:
    result = run("x = 1\ny = 2\nx = f()\ny += 1\nz = {1, 2}\nw = b'raw'\nv = -'s' if False else 0\n")
    assert result.literal_assignments == {}


def test_nested_assignments_are_not_params() -> None:
    assert run("for i in range(3):\n    lr = 0.1\nif True:\n    k = 2\n").literal_assignments == {}


def test_names_read_and_defined() -> None:
    source = (
        "import numpy as np\nfrom os import path as p\nimport os.path\n"
        "def f(a):\n    local = a + g\n    return local\n"
        "class C:\n    attr = 1\n"
        "total = f(x)\nfor i in items:\n    acc = i\n"
        "sq = [j * j for j in data if (seen := j)]\n"
        "try:\n    pass\nexcept ValueError as err:\n    pass\n"
        "with ctx() as handle:\n    pass\n"
    )
    result = run(source)
    assert set(result.names_defined) == {
        "np", "p", "os", "f", "C", "total", "i", "acc", "sq", "seen", "err", "handle",
    }  # fmt: skip
    assert {"g", "x", "items", "data", "ctx", "ValueError"} <= set(result.names_read)
    assert "local" not in result.names_defined and "attr" not in result.names_defined
    # f's parameter and local and the comprehension's variable never come from the notebook (ADR-046)
    assert not {"a", "local", "j"} & set(result.names_read)


@pytest.mark.parametrize(
    ("source", "reads", "not_reads"),
    [
        ("def score(model, X):\n    pred = model.predict(X)\n    return metric(pred, y)", {"metric", "y"},
         {"model", "X", "pred"}),
        ("best = max(scores, key=lambda k: scores[k] * weight)", {"max", "scores", "weight"}, {"k"}),
        ("class Scaler(Base):\n    def fit(self, data):\n        return helper(data)", {"Base", "helper"},
         {"self", "data"}),
        ("for v in values:\n    total += v", {"values", "total"}, set()),  # += needs the earlier total
        ("del cache", {"cache"}, set()),  # deleting needs the name bound
        ("def bump():\n    global count\n    count += 1", {"count"}, set()),
    ],
)
def test_names_read_follow_python_scoping(source: str, reads: set[str], not_reads: set[str]) -> None:
    result = run(source)
    assert reads <= set(result.names_read)
    assert not not_reads & set(result.names_read)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import argparse", True),
        ("from argparse import ArgumentParser", True),
        ("args = parser.parse_args()", True),
        ("p = ArgumentParser()", True),
        ("x = 1", False),
        ("import argparsex", False),
    ],
)
def test_uses_argparse(source: str, expected: bool) -> None:
    assert run(source).uses_argparse is expected


def test_cache_returns_independent_copies() -> None:
    source = "lr = 0.1\nx = pd.read_csv('a.csv')\n"
    first = run(source)
    first.files_read.append("mutated")
    first.literal_assignments["lr"] = 9
    second = run(source)
    assert second.files_read == ["a.csv"] and second.literal_assignments == {"lr": 0.1}


def test_analysis_without_source_still_walks() -> None:
    assert analyze(ast.parse("x = np.load('a.npy')")).files_read == ["a.npy"]


def test_to_dict_is_json_ready() -> None:
    data = run("lr = 0.1\nimport argparse\n").to_dict()
    assert data["literal_assignments"] == {"lr": 0.1} and data["uses_argparse"] is True
    assert data["names_defined"] == ["argparse", "lr"]


def test_analyze_source_with_invalid_syntax_returns_none() -> None:
    assert analyze_source("%timeit x = (") is None
    assert analyze_source("a = 1").literal_assignments == {"a": 1}
