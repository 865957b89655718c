"""%track with values the store cannot hold: one line for that command, nothing already logged is harmed."""

from __future__ import annotations

import pytest

import jupyter_mlops as mlops


@pytest.mark.parametrize(
    ("source", "needle"),
    [
        ("%track metric m=1 --step 99999999999999999999", "is out of range (a 64-bit integer"),
        ("huge = 10**400\n%track metric m=huge", "too large"),
        ("%%track metrics\nbig = 10**400\n", "too large"),
        ("%%track params\ncircular = [1]\ncircular.append(circular)\n", "contains itself"),
    ],
)
def test_an_unstorable_value_is_one_line_and_harms_nothing(ip, capsys, source, needle):
    ip.run_cell("%track start values", store_history=True)
    for step in range(100):
        ip.run_cell(f"%track metric loss={step}", store_history=True)
    capsys.readouterr()
    result = ip.run_cell(source, store_history=True)
    err = capsys.readouterr().err.strip()
    assert result.error_in_exec is not None
    assert "Traceback" not in err and len(err.splitlines()) == 1 and needle in err, err
    active = mlops.active_run()
    ip.run_cell("%track stop", store_history=True)
    view = mlops.get_run(active.id)
    assert len(view.metric_history("loss")) == 100
    assert (view.status, view.logging_errors) == ("finished", 0)


def test_show_says_when_a_run_lost_values(ip, capsys):
    ip.run_cell("%track start lossy", store_history=True)
    active = mlops.active_run()
    ip.run_cell("%track stop", store_history=True)
    active.store.patch_run(active.id, logging_errors=4)
    capsys.readouterr()
    ip.run_cell(f"%track show {active.id}", store_history=True)
    assert "logging errors: 4 metric points or params could not be stored" in capsys.readouterr().out
