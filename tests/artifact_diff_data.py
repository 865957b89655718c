"""Tiny artifacts for the artifact-diff tests, made by code (ADR-104): a baseline and a changed version of each kind.

``ARTIFACTS`` maps an artifact name to ``(baseline bytes, run bytes)``; the images and the Parquet table are built
with Pillow and pandas, so nothing binary is shipped.
"""

from __future__ import annotations

import io
import json
from typing import Any


def png(pixels: dict[tuple[int, int], tuple[int, int, int]], size: tuple[int, int] = (8, 6)) -> bytes:
    from PIL import Image

    image = Image.new("RGB", size, (255, 255, 255))
    for (x, y), colour in pixels.items():
        image.putpixel((x, y), colour)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _frames() -> tuple[Any, Any]:
    import pandas as pd

    before = pd.DataFrame({"id": [1, 2, 3, 4], "score": [0.5, 0.25, 0.75, 1.0], "label": ["a", "b", "a", "b"]})
    after = pd.DataFrame({"id": [1, 2, 3, 4, 5], "score": [0.5, None, 0.75, 1.0, 2.0],
                          "label": ["a", "b", "c", "b", "a"], "weight": [1, 1, 2, 2, 3]})
    return before, after


def parquet(frame: Any) -> bytes:
    out = io.BytesIO()
    frame.to_parquet(out, index=False)
    return out.getvalue()


def artifacts() -> dict[str, tuple[bytes, bytes]]:
    """One changed artifact of each kind, by name."""
    before, after = _frames()
    return {
        "notes.txt": (b"alpha\nbeta\ngamma\n", b"alpha\nBETA\ngamma\ndelta\n"),
        "plot.png": (png({(1, 1): (0, 0, 0)}), png({(1, 1): (0, 0, 0), (4, 2): (255, 0, 0), (5, 3): (0, 0, 255)})),
        "table.csv": (before.to_csv(index=False).encode(), after.to_csv(index=False).encode()),
        "table.parquet": (parquet(before), parquet(after)),
        "metrics.json": (json.dumps({"auc": 0.9, "model": {"depth": 4, "layers": [8, 4]}, "tags": ["x"]}).encode(),
                         json.dumps({"auc": 0.92, "model": {"depth": 4, "layers": [8]}, "seed": 7,
                                     "tags": ["x"]}).encode()),
    }


def hostile() -> dict[str, tuple[bytes, bytes]]:
    """Artifacts that must give one clear line: an image too large to decode, binary posing as text, bad JSON."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("1", (10_000, 5_000)).save(out, format="PNG")  # 50 Mpx in a few KB: refused before decoding
    return {
        "huge.png": (png({}), out.getvalue()),
        "data.txt": (b"plain\n", b"\x00\x01\x02\xff binary"),
        "bad.json": (b'{"a": 1}', b'{"a": 1,'),
        "broken.csv": (b"a,b\n1,2\n", b"\xff\xfegarbage"),
        "fake.png": (png({}), b"not an image at all"),
    }
