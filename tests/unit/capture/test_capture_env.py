"""capture.env: the snapshot, the GPU probe (on real nvidia-smi output), and snapshot_diff."""

from __future__ import annotations

import os
import platform
import stat
import sys
from pathlib import Path

import pytest

from jupyter_mlops.capture import env

GPU_DATA = Path(__file__).parents[2] / "data" / "gpu"
H200 = {
    "index": 0,
    "name": "NVIDIA H200",
    "uuid": "GPU-1db2eab2-6ca2-edfb-d704-d7f36047f248",
    "memory_total": 150754820096,  # 143771 MiB; NVML reported exactly this many bytes on that machine
    "memory_used": 0,
    "driver_version": "580.159.04",
    "compute_cap": "9.0",
    "utilization": 0,
    "temperature": 34,
    "power_draw": 92.6,
}


def test_parse_real_nvidia_smi_query_output() -> None:
    text = (GPU_DATA / "nvidia-smi-query.csv").read_text()
    assert env.parse_nvidia_smi_csv(text) == [H200]


def test_parse_handles_missing_values_multiple_gpus_and_noise() -> None:
    text = (
        "index, name, memory.total [MiB], power.draw [W], utilization.gpu [%], extra.field\n"
        "0, Tesla T4, 15360 MiB, [N/A], 5 %, foo\n"
        "1, Tesla T4, 15360 MiB, 27.50 W, [Not Supported], bar\n"
        "a line that is not a row\n"
    )
    assert env.parse_nvidia_smi_csv(text) == [
        {"index": 0, "name": "Tesla T4", "memory_total": 15360 << 20, "power_draw": None, "utilization": 5,
         "extra_field": "foo"},
        {"index": 1, "name": "Tesla T4", "memory_total": 15360 << 20, "power_draw": 27.5, "utilization": None,
         "extra_field": "bar"},
    ]  # fmt: skip
    assert env.parse_nvidia_smi_csv("") == []


def fake_smi(folder: Path, body: str) -> None:
    script = folder / "nvidia-smi"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def no_nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    # Hide pynvml (installed here, but no driver library) so the nvidia-smi path is the one taken.
    monkeypatch.setitem(sys.modules, "pynvml", None)


def test_gpu_info_runs_nvidia_smi_from_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_nvml: None) -> None:
    fake_smi(tmp_path, f'cat "{GPU_DATA / "nvidia-smi-query.csv"}"')
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert env.gpu_info() == [H200]


def test_gpu_info_without_any_gpu_tool_is_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_nvml: None) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert env.gpu_info() == []


def test_failing_nvidia_smi_is_no_gpu_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_nvml: None, caplog: pytest.LogCaptureFixture
) -> None:
    fake_smi(tmp_path, 'echo "NVIDIA-SMI has failed because it could not communicate with the driver" >&2; exit 9')
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert env.gpu_info() == []
    assert "nvidia-smi failed (exit 9)" in caplog.text


def test_nvml_without_driver_falls_back_quietly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pynvml")  # optional dependency: this checks our fallback when it is installed
    monkeypatch.setenv("PATH", str(tmp_path))
    assert env.gpu_info() == []  # no libnvidia-ml here and no nvidia-smi: "no GPU"


def test_snapshot_describes_this_process_and_is_cached() -> None:
    snap = env.snapshot()
    assert snap["python"]["version"] == platform.python_version()
    assert snap["python"]["executable"] == sys.executable
    assert snap["packages"]["pytest"] == pytest.__version__
    assert snap["packages"]["xxhash"]
    assert snap["cpu"]["count"] == os.cpu_count()
    assert snap["ram"]["total"] > 0
    assert isinstance(snap["gpus"], list)
    snap["packages"]["pytest"] = "mutated"
    assert env.snapshot()["packages"]["pytest"] == pytest.__version__  # callers get copies


def test_prefetch_fills_the_cache() -> None:
    env.prefetch().join(timeout=30)
    assert env._cached is not None


def test_snapshot_diff() -> None:
    a = {"python": {"version": "3.11.7"}, "packages": {"numpy": "1.26.0", "pandas": "2.2.0", "six": "1.16"}}
    b = {"python": {"version": "3.12.1"}, "packages": {"numpy": "2.0.0", "pandas": "2.2.0", "polars": "1.0"}}
    assert env.snapshot_diff(a, b) == {
        "python": ["3.11.7", "3.12.1"],
        "packages": [
            {"name": "numpy", "values": ["1.26.0", "2.0.0"], "change": "bumped"},
            {"name": "polars", "values": [None, "1.0"], "change": "added"},
            {"name": "six", "values": ["1.16", None], "change": "removed"},
        ],
    }
    assert env.snapshot_diff(a, a) == {"python": None, "packages": []}
    assert env.snapshot_diff(None, a)["python"] == [None, "3.11.7"]
