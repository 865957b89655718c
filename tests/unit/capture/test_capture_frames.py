"""capture.frames: content hashes and schemas of DataFrames, arrays, Arrow tables and tabular files."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jupyter_mlops.capture.frames import describe_object, describe_tabular_file


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": np.array([31, 42, 53], dtype="int64"),
            "score": [0.5, np.nan, 1.5],
            "city": ["Oslo", None, "Lima"],
            "kind": pd.Categorical(["a", "b", "a"]),
            "when": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]).tz_localize("UTC"),
            "count": pd.array([1, None, 3], dtype="Int64"),
            "blob": [{"k": 1}, [1, 2], "x"],
        }
    )


def digest(obj) -> str:
    result = describe_object(obj)
    assert result is not None
    return result[0]


def test_schema_of_a_dataframe() -> None:
    _, schema = describe_object(frame())
    assert schema["rows"] == 3 and schema["shape"] == [3, 7]
    assert schema["columns"][:2] == [{"name": "age", "dtype": "int64"}, {"name": "score", "dtype": "float64"}]
    assert {c["name"]: c["dtype"] for c in schema["columns"]}["count"] == "Int64"


def test_equal_content_equal_hash_whatever_the_memory_layout() -> None:
    values = np.arange(12, dtype="float64").reshape(4, 3)
    consolidated = pd.DataFrame(values, columns=list("abc"))  # one 2-D block, strided columns
    separate = pd.DataFrame({name: values[:, i].copy() for i, name in enumerate("abc")})
    assert digest(consolidated) == digest(separate)
    assert digest(frame()) == digest(frame())


@pytest.mark.parametrize(
    "change",
    [
        lambda df: df.assign(age=df["age"] + 1),
        lambda df: df.assign(city=["Oslo", None, "Rome"]),
        lambda df: df.assign(kind=pd.Categorical(["a", "b", "b"])),
        lambda df: df.assign(count=pd.array([1, 2, 3], dtype="Int64")),  # a null became a value
        lambda df: df.assign(blob=[{"k": 2}, [1, 2], "x"]),
        lambda df: df.rename(columns={"age": "years"}),
        lambda df: df.astype({"age": "int32"}),
        lambda df: df.iloc[:2],
        lambda df: df.set_axis([10, 11, 12]),
        lambda df: df[list(reversed(df.columns))],
    ],
)
def test_any_change_changes_the_hash(change) -> None:
    assert digest(change(frame())) != digest(frame())


def test_series_and_arrays() -> None:
    series_hash, schema = describe_object(pd.Series([1.0, 2.0], name="x"))
    assert schema == {"columns": [{"name": "x", "dtype": "float64"}], "rows": 2, "shape": [2]}
    array_hash, array_schema = describe_object(np.zeros((2, 3), dtype="float32"))
    assert array_schema == {"columns": [], "rows": 2, "shape": [2, 3], "dtype": "float32"}
    assert digest(np.zeros((3, 2), dtype="float32")) != array_hash  # same bytes, other shape
    assert digest(np.zeros((2, 3), dtype="float32").T.T) == array_hash
    assert digest(np.array(["a", None], dtype=object)) != digest(np.array(["a", "b"], dtype=object))


def test_arrow_tables_hash_by_content_not_chunking() -> None:
    pa = pytest.importorskip("pyarrow")
    whole = pa.table({"x": [1, 2, 3, 4], "s": ["a", "b", None, "d"]})
    chunked = pa.concat_tables([whole.slice(0, 2), whole.slice(2)])
    assert digest(whole) == digest(chunked)
    assert digest(whole) != digest(pa.table({"x": [1, 2, 3, 5], "s": ["a", "b", None, "d"]}))
    _, schema = describe_object(whole)
    assert schema["columns"] == [{"name": "x", "dtype": "int64"}, {"name": "s", "dtype": "string"}]


def test_other_objects_are_not_described() -> None:
    assert describe_object([1, 2, 3]) is None
    assert describe_object("data.csv") is None


def test_unhashable_object_logs_once_and_returns_none(caplog: pytest.LogCaptureFixture) -> None:
    class Weird:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    with caplog.at_level(logging.WARNING):
        assert describe_object(pd.DataFrame({"w": [Weird()]})) is None
    assert len(caplog.records) == 1


def test_csv_schema_from_sample_and_newline_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import jupyter_mlops.capture.frames as frames

    monkeypatch.setattr(frames, "SAMPLE_ROWS", 10)  # force the streamed row count on a small file
    path = tmp_path / "train.csv"
    path.write_text("age,name,score\n" + "".join(f"{i},n{i},{i / 2}\n" for i in range(25)))
    schema = describe_tabular_file(path)
    assert schema == {
        "columns": [{"name": "age", "dtype": "int64"}, {"name": "name", "dtype": "str"},
                    {"name": "score", "dtype": "float64"}],
        "rows": 25,
        "shape": [25, 3],
        "dtypes_from": "sample",
    }  # fmt: skip
    path.write_text("a\tb\n1\t2\n3\t4")  # no trailing newline; tab separated by suffix below
    tsv = path.rename(tmp_path / "t.tsv")
    assert describe_tabular_file(tsv)["rows"] == 2


def test_parquet_and_feather_schema_from_metadata(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    df = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    df.to_parquet(tmp_path / "d.parquet")
    df.to_feather(tmp_path / "d.feather")
    for name in ("d.parquet", "d.feather"):
        schema = describe_tabular_file(tmp_path / name)
        assert schema["rows"] == 3 and [c["name"] for c in schema["columns"]] == ["a", "b"]
        assert schema["columns"][0]["dtype"] == "int64"


def test_schema_cache_follows_file_identity(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("a\n1\n")
    first = describe_tabular_file(path)
    first["rows"] = 99  # callers get copies
    assert describe_tabular_file(path)["rows"] == 1
    path.write_text("a,b\n1,2\n3,4\n")
    assert describe_tabular_file(path)["shape"] == [2, 2]


def test_non_tabular_and_broken_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "x.txt").write_text("hello")
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    with caplog.at_level(logging.WARNING):
        assert describe_tabular_file(tmp_path / "x.txt") is None
        assert describe_tabular_file(tmp_path / "missing.csv") is None
        assert describe_tabular_file(tmp_path / "broken.parquet") is None
    assert len(caplog.records) == 2
