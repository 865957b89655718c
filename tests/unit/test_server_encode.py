"""The REST layer's JSON encoding: compact, NaN-free, and the same document the standard library would write."""

from __future__ import annotations

import json
import math

from jupyter_mlops.server.handlers import encode


def test_non_finite_floats_become_null_everywhere():
    payload = {"metrics": {"auc": math.nan, "loss": math.inf, "acc": -math.inf, "ok": 0.5},
               "series": [{"value": [1.0, math.nan, 2.5]}], "pair": (math.nan, 1)}
    text = encode(payload).decode()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"metrics": {"auc": None, "loss": None, "acc": None, "ok": 0.5},
                                "series": [{"value": [1.0, None, 2.5]}], "pair": [None, 1]}


def test_it_writes_what_json_dumps_writes_for_finite_documents():
    payload = {"runs": [{"id": "a" * 32, "name": "ünïcode ✓", "params": {"lr": 0.1, "layers": [64, 32], "on": True,
                                                                        "none": None}, "step": 10**15}],
               "total": 1, 3: "int key"}
    assert json.loads(encode(payload)) == json.loads(json.dumps(payload))
    assert b" " not in encode({"a": [1, 2], "b": {"c": 1}})  # compact
