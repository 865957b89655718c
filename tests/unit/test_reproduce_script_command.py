"""app.reproduce.script without a subprocess: reading a recorded command, --param rewrites, refusals."""

from __future__ import annotations

import pytest

from jupyter_mlops.app.reproduce.script import ScriptCommand, override_argv, recorded_command, refusal
from jupyter_mlops.errors import InvalidInput

SOURCE = 'p.add_argument("--learning-rate")\np.add_argument("--epochs")\np.add_argument("--verbose")\n'


def command(argv: list[str], redacted: list[int] | None = None, cwd: str = "/") -> ScriptCommand:
    return ScriptCommand("/x/train.py", SOURCE, argv, cwd, "/usr/bin/python3", redacted or [])


def test_recorded_command_reads_the_snapshot_and_says_what_is_missing():
    cell = {"index": 0, "source": SOURCE, "path": "/x/train.py"}
    found = recorded_command({"cells": [cell], "script": "/x/train.py",
                              "command": {"argv": ["train.py", "--epochs", "3"], "cwd": "/x", "python": "py",
                                          "redacted": [2]}})
    assert isinstance(found, ScriptCommand)
    assert (found.argv, found.cwd, found.redacted, found.source) == (["train.py", "--epochs", "3"], "/x", [2], SOURCE)
    assert recorded_command({"cells": [cell]}) is None  # a notebook run
    assert recorded_command(None) is None
    old = recorded_command({"cells": [cell], "script": "/x/train.py"})
    assert isinstance(old, str) and "not recorded" in old and "/x/train.py" in old


def test_param_overrides_rewrite_or_add_argparse_options():
    recorded = {"learning_rate": 0.1, "epochs": 3, "verbose": True, "seed": 1}
    cmd = command(["train.py", "--learning-rate", "0.1", "--epochs=3", "--verbose"])
    assert override_argv(cmd, recorded, {"learning_rate": 0.05, "epochs": 5}) == [
        "train.py", "--learning-rate", "0.05", "--epochs=5", "--verbose"]
    assert override_argv(command(["train.py"]), recorded, {"epochs": 5}) == ["train.py", "--epochs", "5"]
    for overrides, message in [({"nosuch": 1}, "not a parameter of this script run"),
                               ({"seed": 2}, "declares no option --seed"),
                               ({"verbose": "x"}, "takes no value"),
                               ({"epochs": [1, 2]}, "only a number or a text"),
                               ({"epochs": True}, "only a number or a text")]:
        with pytest.raises(InvalidInput, match=message):
            override_argv(cmd, recorded, overrides)


def test_a_masked_argument_or_a_missing_folder_refuses(tmp_path):
    masked = command(["train.py", "--password", "***"], redacted=[2], cwd=str(tmp_path))
    reason = refusal(masked, masked.argv)
    assert reason is not None and "argument 2 (--password)" in reason and "held a secret" in reason
    assert refusal(masked, ["train.py", "--password", "given-again"]) is None  # replaced by a --param
    gone = command(["train.py"], cwd=str(tmp_path / "gone"))
    assert "no longer exists" in (refusal(gone, gone.argv) or "")
