"""Artifact diffs by kind against golden outputs, and hostile inputs as one clear line (ADR-104).

Regenerate the goldens after an intended change with::

    JUPYTER_MLOPS_REGEN_GOLDEN=1 .venv/bin/python -m pytest tests/unit/comparing/test_artifacts.py
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from artifact_diff_data import artifacts, hostile

from jupyter_mlops.comparing.artifacts import MAX_BYTES, ArtifactDiffError, diff_bytes, kind_of

GOLDEN = Path(__file__).resolve().parents[2] / "data" / "golden" / "artifact_diff"


def golden(name: str, value: dict) -> None:
    path = GOLDEN / (name.replace(".", "_") + ".json")
    text = json.dumps(value, indent=2, sort_keys=True) + "\n"
    if os.environ.get("JUPYTER_MLOPS_REGEN_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from {path} (JUPYTER_MLOPS_REGEN_GOLDEN=1)"


@pytest.mark.parametrize("name", sorted(artifacts()))
def test_each_kind_matches_its_golden_output(name: str) -> None:
    a, b = artifacts()[name]
    summary, images = diff_bytes(kind_of(name), a, b, name)
    golden(name, summary)
    assert not summary["identical"]
    assert diff_bytes(kind_of(name), a, a, name)[0]["identical"]  # a file against itself: nothing changed


def test_the_overlay_marks_exactly_the_changed_pixels_and_sits_beside_both_images() -> None:
    from PIL import Image

    a, b = artifacts()["plot.png"]
    summary, images = diff_bytes("image", a, b, "plot.png")
    overlay = Image.open(io.BytesIO(images["overlay"])).convert("RGBA")
    red = {(x, y) for x in range(overlay.width) for y in range(overlay.height)
           if overlay.getpixel((x, y)) == (220, 20, 60, 255)}
    assert red == {(4, 2), (5, 3)}
    assert summary["changed_pixels"] == 2 and summary["changed_share"] == round(2 / 48, 6)
    side = Image.open(io.BytesIO(images["side_by_side"]))
    assert side.size == (8 * 3 + 16, 6)  # baseline | run | overlay, 8-pixel gaps


def test_images_of_different_sizes_compare_over_the_larger_canvas() -> None:
    from artifact_diff_data import png

    summary, _ = diff_bytes("image", png({}, (4, 4)), png({}, (4, 6)), "grow.png")
    assert summary["size"] == [[4, 4], [4, 6]] and summary["changed_pixels"] == 8 and summary["bbox"] == [0, 4, 4, 6]


@pytest.mark.parametrize(("name", "expected"), [
    ("huge.png", "over the 40,000,000 pixel limit"),
    ("data.txt", "is binary, not text"),
    ("bad.json", "is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 9"),
    ("broken.csv", "is not UTF-8 text"),
    ("fake.png", "is not a readable PNG or JPEG image"),
])
def test_hostile_inputs_give_one_line(name: str, expected: str) -> None:
    a, b = hostile()[name]
    with pytest.raises(ArtifactDiffError) as info:
        diff_bytes(kind_of(name), a, b, name)
    message = info.value.message
    assert expected in message and "\n" not in message and name in message and "(run)" in message


def test_an_artifact_over_its_size_limit_is_not_read_as_its_kind() -> None:
    big = b"x\n" * (MAX_BYTES["text"] // 2 + 1)
    with pytest.raises(ArtifactDiffError, match="over the 8,388,608 byte limit of a text diff"):
        diff_bytes("text", b"x\n", big, "log.txt")


def test_deep_json_is_diffed_without_recursion_and_kinds_are_sniffed() -> None:
    deep = b"[" * 5000 + b"]" * 5000
    with pytest.raises(ArtifactDiffError, match="nests JSON too deeply"):
        diff_bytes("json", deep, deep, "deep.json")
    nested = diff_bytes("json", b"[" * 400 + b"1" + b"]" * 400, b"[" * 400 + b"2" + b"]" * 400, "nested.json")[0]
    assert [c["path"] for c in nested["changed"]] == ["$" + "[0]" * 400]  # walked with a stack, not recursion
    assert kind_of("README", b"\x00\x01") == "binary" and kind_of("README", b"# hello\n") == "text"
    assert kind_of("out/model.bin", b"\x00\x01") == "binary" and kind_of("a/B.PNG") == "image"
