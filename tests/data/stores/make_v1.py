"""Regenerate ``v1.db``: a store at schema version 1 (migration 0001 only: no param_history table).

Run once from the repository root with ``.venv/bin/python tests/data/stores/make_v1.py``; the file is committed and
must not change afterwards, because it stands for stores that users already have on disk.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from sqlalchemy import create_engine

from jupyter_mlops.store import migrations

HERE = Path(__file__).parent


def main() -> None:
    target = HERE / "v1.db"
    target.unlink(missing_ok=True)
    engine = create_engine(f"sqlite:///{target}")
    with engine.begin() as conn:
        migrations.MIGRATIONS[0].apply(conn)
    engine.dispose()
    db = sqlite3.connect(target)
    db.execute("INSERT INTO migrations (name, applied_at) VALUES ('0001_initial', 1700000000.0)")
    db.execute("INSERT INTO schema_info (id, schema_version) VALUES (1, 1)")
    db.execute("INSERT INTO experiments (id, name, created) VALUES (1, 'churn', 1700000000.0)")
    for n, (run_id, status) in enumerate([("a" * 32, "finished"), ("b" * 32, "failed")]):
        db.execute(
            "INSERT INTO runs (id, name, experiment_id, status, start_time, end_time, heartbeat, note, flags) "
            "VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?)",
            (run_id, f"old-{n}", status, 1700000000.0 + n, 1700000100.0 + n, 1700000100.0 + n, "from v1",
             json.dumps({"out_of_order": bool(n)})),
        )
        for key, value in {"lr": 0.1 * (n + 1), "model.num_leaves": 31 + n, "optimizer": "adam"}.items():
            text = json.dumps(value)
            number = float(value) if isinstance(value, (int, float)) else None
            shown = value if isinstance(value, str) else text
            db.execute("INSERT INTO params (run_id, key, value, num_value, text_value, source) VALUES (?,?,?,?,?,?)",
                       (run_id, key, text, number, shown, "papermill"))
        for step in range(3):
            db.execute("INSERT INTO metrics (run_id, key, step, value, timestamp) VALUES (?, 'auc', ?, ?, ?)",
                       (run_id, step, 0.7 + 0.05 * step + n * 0.01, 1700000010.0 + step))
        db.execute("INSERT INTO latest_metrics (run_id, key, value, step, timestamp) VALUES (?, 'auc', ?, 2, ?)",
                   (run_id, 0.8 + n * 0.01, 1700000012.0))
        db.execute("INSERT INTO tags (run_id, tag) VALUES (?, 'legacy')", (run_id,))
    db.commit()
    db.execute("VACUUM")
    db.close()


if __name__ == "__main__":
    main()
