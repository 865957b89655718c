"""Metric rollups (ADR-116), on SQLite and PostgreSQL: kept by the write path, equal to a bulk build, invalidated by a
back-fill, deleted with their run, written in the points' transaction."""

from __future__ import annotations

import math

import pytest
from older_store import forget_migration
from sqlalchemy import event, select, text

from jupyter_mlops.entities import Metric
from jupyter_mlops.errors import StoreUnavailable
from jupyter_mlops.store import schema as s
from jupyter_mlops.store.rollup import BLOCK


def _rollups(store, run_id, key="loss"):
    r, st = s.metric_rollups.c, s.metric_rollup_state.c
    with store.engine.connect() as conn:
        blocks = [tuple(row) for row in conn.execute(
            select(*[c for c in s.metric_rollups.c if c.name not in ("run_id", "key")])
            .where(r.run_id == run_id, r.key == key).order_by(r.block))]
        state = conn.execute(select(st.covered_step, st.blocks, st.pending, st.valid)
                             .where(st.run_id == run_id, st.key == key)).first()
    return blocks, None if state is None else (state[0], state[1], state[2], bool(state[3]))


def _expected_blocks(steps, values):
    """Blocks computed the obvious way from raw points in step order (no equal steps across a cut)."""
    out = []
    for number, start in enumerate(range(0, len(steps) - BLOCK + 1, BLOCK)):
        xs, ys = steps[start:start + BLOCK], values[start:start + BLOCK]
        finite = [(y, x) for x, y in zip(xs, ys, strict=True) if y is not None and math.isfinite(y)]
        low = min(finite, key=lambda p: p[0]) if finite else (None, None)  # min keeps the first of equal values
        high = max(finite, key=lambda p: p[0]) if finite else (None, None)
        out.append((number, BLOCK, xs[0], xs[-1], ys[0], ys[-1], low[0], low[1], high[0], high[1]))
    return out


def _value(step):
    if step % 97 == 5:
        return None  # NaN, stored as NULL
    if step == 1500:
        return math.inf  # not finite: no extreme
    return math.sin(step / 50.0) + (4.0 if step % 1013 == 0 else 0.0)


def _log(store, run_id, steps, *, key="loss"):
    store.log_metric_rows(run_id, [(key, math.nan if _value(x) is None else _value(x), x, 1000.0 + x) for x in steps])


def test_many_small_batches_give_the_rollups_a_bulk_build_gives(store):
    run = store.create_run(name="live")
    sizes = [1, 1, 37, 500, 1, 1023, 1024, 1, 2100, 5, 300]  # 4,994 points, some batches cross block edges
    step = 0
    for size in sizes:
        _log(store, run.id, range(step, step + size))
        step += size
    blocks, state = _rollups(store, run.id)
    steps = list(range(step))
    values = [_value(x) for x in steps]
    assert blocks == _expected_blocks(steps, values)
    assert state == ((len(blocks) * BLOCK) - 1, 4, step - 4 * BLOCK, True)
    assert store.build_rollups([run.id])[1] == 4
    assert _rollups(store, run.id) == (blocks, state)


def test_one_batch_across_several_block_edges_and_nan_blocks(store):
    run = store.create_run(name="big")
    store.log_metric_rows(run.id, [("loss", math.nan, x, 1.0) for x in range(BLOCK)])  # a block of NaN only
    _log(store, run.id, range(BLOCK, 4 * BLOCK + 10))  # one batch: three more blocks and 10 pending
    blocks, state = _rollups(store, run.id)
    assert blocks[0] == (0, BLOCK, 0, BLOCK - 1, None, None, None, None, None, None)
    assert [b[0] for b in blocks] == [0, 1, 2, 3] and state == (4 * BLOCK - 1, 4, 10, True)
    columns = store.metric_chart_columns([run.id], ["loss"], 2 * BLOCK)[(run.id, "loss")]
    steps, values, total = columns
    assert total == 4 * BLOCK + 10 and len(steps) < total
    raw = dict(zip(*store.metric_series([run.id], ["loss"])[(run.id, "loss")], strict=True))
    assert all(raw[x] == v or (raw[x] is None and v is None) for x, v in zip(steps, values, strict=True))
    assert steps == sorted(steps) and steps[0] == 0 and steps[-1] == 4 * BLOCK + 9


def test_equal_steps_are_never_split_between_blocks(store):
    run = store.create_run(name="repeats")
    rows = [("loss", float(i), i, 1.0) for i in range(BLOCK - 2)]
    rows += [("loss", 5.0 + i, BLOCK - 2, 2.0 + i) for i in range(6)]  # six points at one step across the cut
    rows += [("loss", 1.0, BLOCK + 10 + i, 9.0) for i in range(BLOCK)]
    store.log_metric_rows(run.id, rows)
    blocks, state = _rollups(store, run.id)
    assert [b[1:4] for b in blocks] == [(BLOCK + 4, 0, BLOCK - 2)]
    assert state == (BLOCK - 2, 1, BLOCK, True)  # the next block starts at step BLOCK + 10, still open
    assert store.build_rollups([run.id])[1] == len(blocks) and _rollups(store, run.id) == (blocks, state)


def test_a_back_fill_invalidates_and_reads_fall_back_to_every_point(store):
    run = store.create_run(name="backfill")
    _log(store, run.id, range(3 * BLOCK + 7))
    _log(store, run.id, [5])  # a second point at a covered step
    blocks, state = _rollups(store, run.id)
    assert state[3] is False and len(blocks) == 3
    _log(store, run.id, range(3 * BLOCK + 7, 5 * BLOCK))  # later points no longer touch the invalid rollup
    assert _rollups(store, run.id) == (blocks, state)
    steps, values = store.metric_series([run.id], ["loss"])[(run.id, "loss")]
    assert store.metric_chart_columns([run.id], ["loss"], 1) == {(run.id, "loss"): (steps, values, len(steps))}
    assert store.build_rollups([run.id])[1] == 5  # rebuilt from the points: valid again, the back-fill included
    assert _rollups(store, run.id)[1] == (5 * BLOCK - 2, 5, 1, True)  # step 5 twice: one step less covered


def test_a_batch_out_of_order_is_folded_in_step_order_and_a_later_lower_step_invalidates(store):
    run = store.create_run(name="order")
    steps = list(range(2 * BLOCK + 30))
    store.log_metric_rows(run.id, [("loss", float(x % 11), x, 1.0) for x in reversed(steps)])  # one batch, reversed
    blocks, state = _rollups(store, run.id)
    assert state == (2 * BLOCK - 1, 2, 30, True)
    assert store.build_rollups([run.id])[1] == 2 and _rollups(store, run.id) == (blocks, state)
    store.log_metric_rows(run.id, [("loss", 1.0, 2 * BLOCK + 29, 2.0)])  # the last step again: still in order
    assert _rollups(store, run.id)[1] == (2 * BLOCK - 1, 2, 31, True)
    store.log_metric_rows(run.id, [("loss", 1.0, 2 * BLOCK + 28, 3.0)])  # below the last step: a back-fill
    assert _rollups(store, run.id)[1][3] is False


def test_delete_run_deletes_its_rollups_only(store):
    gone, kept = store.create_run(name="gone"), store.create_run(name="kept")
    for run in (gone, kept):
        _log(store, run.id, range(2 * BLOCK + 1))
    store.delete_run(gone.id)
    assert _rollups(store, gone.id) == ([], None)
    assert len(_rollups(store, kept.id)[0]) == 2
    with store.engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM metric_rollup_state")) == 1


def test_a_write_that_fails_before_commit_leaves_points_and_rollups_as_they_were(store):
    run = store.create_run(name="killed")
    _log(store, run.id, range(BLOCK - 10))
    before = _rollups(store, run.id)

    def fail(conn):
        raise ConnectionError("the process died before the commit")

    event.listen(store.engine, "commit", fail)
    try:
        with pytest.raises((ConnectionError, StoreUnavailable)):
            _log(store, run.id, range(BLOCK - 10, 3 * BLOCK))  # would close two blocks
    finally:
        event.remove(store.engine, "commit", fail)
    assert _rollups(store, run.id) == before
    assert len(store.metric_history(run.id, "loss")) == BLOCK - 10
    _log(store, run.id, range(BLOCK - 10, 3 * BLOCK))
    blocks, state = _rollups(store, run.id)
    assert state == (2 * BLOCK - 1, 2, BLOCK, True)  # the third block stays open until a later step comes
    assert store.build_rollups([run.id])[1] == 2 and _rollups(store, run.id) == (blocks, state)


def test_import_builds_rollups_and_replacing_a_run_rebuilds_them(store):
    run = store.create_run(name="source")
    points = [("loss", float(x % 7), x, 1.0 + x) for x in range(2 * BLOCK + 3)]
    store.import_run(run, points)
    blocks, state = _rollups(store, run.id)
    assert len(blocks) == 2 and state == (2 * BLOCK - 1, 2, 3, True)
    store.import_run(run, points[:10] + [("acc", 1.0, 0, 1.0)])
    assert _rollups(store, run.id) == ([], (None, 0, 10, True))
    assert _rollups(store, run.id, "acc") == ([], (None, 0, 1, True))


def test_log_batch_with_metric_objects_keeps_rollups_too(store):
    run = store.create_run(name="entities")
    store.log_batch(run.id, metrics=[Metric("loss", float(x), x, 1.0) for x in range(BLOCK + 1)])
    assert _rollups(store, run.id)[1] == (BLOCK - 1, 1, 1, True)


def test_migration_0017_marks_existing_histories_invalid_until_built(store_url):
    from jupyter_mlops.store import open_store

    store = open_store(store_url)
    run = store.create_run(name="old")
    _log(store, run.id, range(3 * BLOCK))
    # The store as 0015 left it: no rollup tables, 0017 not recorded, the version one step back.
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE metric_rollups"))
        conn.execute(text("DROP TABLE metric_rollup_state"))
        forget_migration(conn, "0017_metric_rollups")
    store.close()
    with open_store(store_url) as store:
        assert store.pending_migrations() == []
        assert _rollups(store, run.id) == ([], (None, 0, 0, False))
        _log(store, run.id, range(3 * BLOCK, 4 * BLOCK))  # new points never start a rollup of the newest only
        assert _rollups(store, run.id) == ([], (None, 0, 0, False))
        steps, values = store.metric_series([run.id], ["loss"])[(run.id, "loss")]
        assert store.metric_chart_columns([run.id], ["loss"], 1)[(run.id, "loss")] == (steps, values, 4 * BLOCK)
        assert store.build_rollups([run.id])[1] == 3
        assert _rollups(store, run.id)[1] == (3 * BLOCK - 1, 3, BLOCK, True)


def test_a_huge_threshold_reads_raw_points(store):
    run = store.create_run(name="threshold")
    _log(store, run.id, range(2 * BLOCK + 1))
    steps, values = store.metric_series([run.id], ["loss"])[(run.id, "loss")]
    assert store.metric_chart_columns([run.id], ["loss"], 2**62)[(run.id, "loss")] == (steps, values, len(steps))


def test_batches_of_several_keys_keep_each_keys_rollup(store):
    run = store.create_run(name="keys")
    for start in range(0, 3 * BLOCK, 500):
        rows = []
        for x in range(start, start + 500):
            rows += [("loss", 1.0 / (x + 1), x, 1.0 + x), ("acc", float(x % 5), x, 1.0 + x)]
        store.log_metric_rows(run.id, rows)
    loss, acc = _rollups(store, run.id), _rollups(store, run.id, "acc")
    assert loss[1] == acc[1] == (3 * BLOCK - 1, 3, 3500 - 3 * BLOCK, True)  # 7 batches of 500 points per key
    assert store.build_rollups([run.id])[1] == 6
    assert (_rollups(store, run.id), _rollups(store, run.id, "acc")) == (loss, acc)
