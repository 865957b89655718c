"""``%track show``'s run view (render/run_view.py): escaped HTML and inert terminal text for hostile stored runs."""

from __future__ import annotations

import pytest

from jupyter_mlops.entities import DataInput, Run, RunStatus
from jupyter_mlops.render import run_view
from jupyter_mlops.tracking.view import RunView

SCRIPT = "<script>alert('x')</script>"
ESCAPES = "evil\x1b]0;TITLE\x07\x1b[2J\x9b31m\u202e"
CONTROL = [chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0))] + ["\u202e", "\u2066"]


def hostile_view() -> RunView:
    run = Run(
        id="aaaa1111bbbb", name=f"{SCRIPT}{ESCAPES}", experiment="<b>exp</b>", status=RunStatus.FINISHED,
        start_time=1_700_000_000.0, tags=(f"<img src=x onerror=alert(1)>{ESCAPES}", "ok"),
        note=f"first line\nsecond {ESCAPES} line & <i>more</i>",
        params={f"<k>{ESCAPES}": f"<v>{SCRIPT}", "lr": 0.1}, metrics={"<auc>": 0.9},
        data_inputs=(DataInput(name=f"data/<x>{ESCAPES}.csv", hash="xxh3_128:" + "0" * 32, kind="file", size=10),),
        flags={"out_of_order": True}, flag_cells={"out_of_order": [2, 1]}, logging_errors=3,
    )
    return RunView(run, None, None)


def test_html_escapes_every_user_text_and_drops_control_characters():
    page = run_view.run_html(hostile_view())
    assert "<script>" not in page and "<img" not in page and "<b>exp" not in page and "<i>more" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page and "&lt;k&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "data/&lt;x&gt;" in page
    assert "second evil]0;TITLE[2J31m line &amp; &lt;i&gt;more&lt;/i&gt;" in page
    assert not any(c in page for c in CONTROL)
    assert "<strong>logging errors: 3</strong>" in page and "executed out of order" in page
    assert page.startswith("<div class='jupyter-mlops-run'>") and page.endswith("</div>")


def test_terminal_text_is_literal_and_inert_and_keeps_note_lines():
    text = run_view.run_text(hostile_view())
    assert not any(c in text for c in CONTROL if c != "\n")
    assert SCRIPT in text and "<k>evil]0;TITLE[2J31m = <v><script>" in text
    lines = text.splitlines()
    assert "note: first line" in lines and "second evil]0;TITLE[2J31m line & <i>more</i>" in lines
    assert "logging errors: 3 metric points or params could not be stored" in lines
    assert any(line.startswith("notebook flags: executed out of order") for line in lines)


@pytest.mark.parametrize("char", CONTROL)
def test_no_control_character_reaches_either_form(char):
    run = Run(id="c" * 12, name=f"a{char}b", experiment="e", status=RunStatus.RUNNING, start_time=0.0,
              note=f"n{char}", params={f"p{char}": f"v{char}"})
    page, text = run_view.run_views(RunView(run, None, None))
    assert char not in page and char not in text.replace("\n", "")
    assert "ab" in page and "ab (cccccccc)" in text


def test_rich_text_shows_html_in_a_notebook_and_text_in_a_terminal():
    shown = run_view.RichText("<p>x</p>", "x")
    assert shown._repr_html_() == "<p>x</p>" and repr(shown) == "x"


def test_the_magics_keep_their_names_for_the_moved_renderers():
    from jupyter_mlops.ipython import magics

    assert magics._Rich is run_view.RichText and magics._run_views is run_view.run_views
