"""``%track list``/``%track tag`` with hostile input in a live IPython shell: one ``UsageError`` line each.

The shell fixtures (``shell``, ``ip``) come from the integration conftest; ``run`` and ``one_line_error`` from
``test_magics.py``.
"""

from __future__ import annotations

import pytest
from test_magics import one_line_error, run

import jupyter_mlops as mlops


@pytest.mark.parametrize(
    ("text", "says"),
    [("(" * 1300 + "name = a" + ")" * 1300, "deep"), ("not " * 1000 + "name = a", "deep"),
     (" or ".join(f"name = n{i}" for i in range(2000)), "comparisons")],
    ids=["parens", "nots", "or-terms"],
)
def test_track_list_with_a_filter_past_the_limits_is_one_line(ip, capsys, text, says):
    run(ip, "%track start first")
    capsys.readouterr()
    err = one_line_error(ip, capsys, f"%track list --filter '{text}'")
    assert says in err and "RecursionError" not in err


def test_track_tag_with_a_control_character_is_one_line_and_stores_nothing(ip, capsys):
    run(ip, "%track start first")
    capsys.readouterr()
    err = one_line_error(ip, capsys, "%track tag 'a\x1b[2J'")
    assert "control character" in err
    assert mlops.get_run(mlops.active_run().id).tags == ()


def test_track_show_draws_a_note_with_escape_sequences_inertly(ip, capsys):
    run(ip, "%track start first")
    mlops.note("ok\x1b]0;TITLE\x07\x1b[2J\nsecond line")
    capsys.readouterr()
    run(ip, "%track show")
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "note: ok]0;TITLE[2J" in out and "second line" in out


def test_a_cell_holding_a_lone_surrogate_keeps_the_runs_code_and_flags(ip):
    # A frontend can send one ("\udce9" in the message's JSON); the cell fails to compile, but the run's end used
    # to fail on encoding the code snapshot and lose its code, notebook snapshot and flags together.
    run(ip, "%track start surrogate")
    run(ip, "name = 'caf\udce9'")
    run(ip, "after = 2")
    run(ip, "%track stop")
    view = mlops.get_run("surrogate")
    assert [c["source"] for c in view.code["cells"]][1:] == ["name = 'caf\\xe9'", "after = 2"]
    assert view.flags["kernel_restarted"] is False
