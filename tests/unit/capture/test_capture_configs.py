"""capture.configs: YAML/TOML/JSON config files as flat params."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from jupyter_mlops.capture.configs import load_config_params, try_load_config_params
from jupyter_mlops.errors import InvalidInput, NotFound

EXPECTED = {"model.learning_rate": 0.05, "model.layers": [64, 32], "model.opts": {}, "seed": 7, "name": "base"}


@pytest.mark.parametrize(
    ("filename", "text"),
    [
        (
            "p.yaml",
            "model:\n  learning_rate: 0.05\n  layers: [64, 32]\n  opts: {}\nseed: 7\nname: base\n",
        ),
        (
            "p.toml",
            'seed = 7\nname = "base"\n[model]\nlearning_rate = 0.05\nlayers = [64, 32]\n[model.opts]\n',
        ),
        (
            "p.json",
            '{"model": {"learning_rate": 0.05, "layers": [64, 32], "opts": {}}, "seed": 7, "name": "base"}',
        ),
    ],
)
def test_formats_flatten_the_same(tmp_path: Path, filename: str, text: str) -> None:
    path = tmp_path / filename
    path.write_text(text)
    assert load_config_params(path) == EXPECTED


def test_dates_become_iso_strings_and_empty_file_is_empty(tmp_path: Path) -> None:
    (tmp_path / "d.yml").write_text("when: 2024-05-01\n")
    assert load_config_params(tmp_path / "d.yml") == {"when": "2024-05-01"}
    (tmp_path / "e.yaml").write_text("")
    assert load_config_params(tmp_path / "e.yaml") == {}


@pytest.mark.parametrize(
    ("filename", "text", "message"),
    [
        ("bad.yaml", "a: [1, 2\n", "cannot parse .*bad.yaml as YAML"),
        ("bad.toml", "a = \n", "cannot parse .*bad.toml as TOML"),
        ("bad.json", "{", "cannot parse .*bad.json as JSON"),
        ("list.yaml", "- 1\n- 2\n", "top level is a list, not a mapping"),
        ("p.ini", "[a]\nb=1\n", "not a config file"),
    ],
)
def test_bad_files_raise_one_line_invalid_input(tmp_path: Path, filename: str, text: str, message: str) -> None:
    path = tmp_path / filename
    path.write_text(text)
    with pytest.raises(InvalidInput, match=message) as info:
        load_config_params(path)
    assert "\n" not in info.value.message


def test_missing_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(NotFound):
        load_config_params(tmp_path / "nope.yaml")
    with caplog.at_level(logging.WARNING):
        assert try_load_config_params(tmp_path / "nope.yaml") is None
    assert "not recorded as params" in caplog.text
