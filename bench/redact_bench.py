"""Redaction: what it catches on the generated corpus, and what it costs per text.

Usage:
    .venv/bin/python bench/redact_bench.py            # writes bench/results/redact.json
    PYTHONPATH=/path/to/older/checkout .venv/bin/python bench/redact_bench.py --rates-only   # an older detector

Measures (medians): the first redaction of a process (builds the rule table, imports detect-secrets), one
20-line code cell not seen before (the cost the code snapshot pays once per new cell, on the writer thread), the
same cell again (memoised), 20 params through ``redact_mapping`` (what a parameters cell pays on the cell's path),
and a 200-cell notebook with text outputs and an image through ``redact_notebook`` (once, at ``%track stop``).
Rates: the share of the corpus (tests/secret_corpus.py, 20 seeds) that ``redact_text`` masks, by format and by
name, and the share of look-alikes it keeps.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

import secret_corpus as corpus  # noqa: E402
from timing import median_time  # noqa: E402

from jupyter_mlops.capture import redact  # noqa: E402

CELL = "\n".join(f"value_{i} = compute(data, step={i}, name='feature_{i}')  # line {i}" for i in range(20))


def rates(seeds: int = 20) -> dict[str, float]:
    """Masked share of format secrets, of named secrets, and kept share of look-alikes."""
    found = total = named_found = named_total = kept = looks_total = 0
    for seed in range(seeds):
        for kind, text in corpus.secrets(seed).items():
            total += 1
            found += not corpus.leaked(corpus.secret_core(kind, text), redact.redact_text(text))
        for name, value in corpus.named_secrets(seed).items():
            named_total += 1
            named_found += redact.redact_mapping({name: value}).get(name) != value
        for value in corpus.look_alikes(seed).values():
            looks_total += 1
            kept += redact.redact_text(value) == value
    return {"formats_masked_pct": 100 * found / total, "names_masked_pct": 100 * named_found / named_total,
            "look_alikes_kept_pct": 100 * kept / looks_total, "formats": total // seeds,
            "names": named_total // seeds, "look_alikes": looks_total // seeds}


def _fresh_cell() -> str:
    return CELL + f"\n# {uuid.uuid4()}"  # defeats the memo: a cell the snapshot has not seen


def _notebook(cells: int = 200) -> bytes:
    image = {"output_type": "display_data", "metadata": {}, "data": {"image/png": "iVBORw0KGgo" * 2000}}
    text = {"output_type": "stream", "name": "stdout", "text": [f"epoch {i} loss 0.{i:03d}\n" for i in range(30)]}
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
          "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": i, "source": CELL,
                     "outputs": [text, image] if i % 10 == 0 else [text]} for i in range(cells)]}
    return json.dumps(nb, indent=1).encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--rates-only", action="store_true")
    args = parser.parse_args()
    start = time.perf_counter()
    redact.redact_text("warm-up: AKIA")
    first_ms = 1000 * (time.perf_counter() - start)
    result: dict[str, float] = {"rates": rates()}  # type: ignore[dict-item]
    if not args.rates_only:
        params = {f"param_{i}": f"value-{i}" for i in range(20)}
        notebook = _notebook()
        result.update({
            "first_call_ms": first_ms,
            "new_20_line_cell_us": 1e6 * median_time(lambda: redact.redact_text(_fresh_cell()), args.rounds),
            "seen_20_line_cell_us": 1e6 * median_time(lambda: redact.redact_text(CELL), args.rounds),
            "params_20_us": 1e6 * median_time(lambda: redact.redact_mapping(params), args.rounds),
            "notebook_200_cells_ms": 1000 * median_time(lambda: redact.redact_notebook(notebook), 5),
            "notebook_bytes": len(notebook),
        })
    print(json.dumps(result, indent=1))
    if not args.rates_only:
        out = Path(__file__).parent / "results" / "redact.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
