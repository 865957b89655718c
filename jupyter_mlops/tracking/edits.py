"""Edits of a stored run's tags, note and name, shared by every face that offers them (CLI, REST).

Assumptions:
    * Every text goes through the same redaction as a tracked run's (``capture.redact``) before it is written, so
      a secret typed into ``jupyter-mlops runs note`` or the sidebar's note field is stored as ``***`` (unless the
      project opted out with ``redact = false``).
    * Tags to remove are redacted the same way, so removing the tag one typed removes what was stored for it.
    * This is the first use case above the store that the faces share (the planned ``app/`` layer's seed).
"""

from __future__ import annotations

from collections.abc import Iterable

from jupyter_mlops.capture import redact as redaction
from jupyter_mlops.entities import Run
from jupyter_mlops.store.base import Store

__all__ = ["edit_run"]


def edit_run(
    store: Store,
    run_id: str,
    *,
    add_tags: Iterable[str] = (),
    remove_tags: Iterable[str] = (),
    tags: Iterable[str] | None = None,
    note: str | None = None,
    append_note: bool = False,
    name: str | None = None,
    redact: bool = True,
) -> Run:
    """Apply tag, note and name edits to a run (secrets masked first) and return the run afterwards.

    Args:
        store: the run store.
        run_id: a full run id (faces resolve references first).
        add_tags: tags to add.
        remove_tags: tags to remove.
        tags: the new full set of tags (replaces ``add_tags``/``remove_tags``).
        note: the new note, or the text to append with ``append_note``.
        append_note: append ``note`` on a new line instead of replacing the note.
        name: the new run name.
        redact: mask secrets before writing (the ``redact`` setting).

    Example:
        >>> import tempfile
        >>> from jupyter_mlops.store import open_store
        >>> store = open_store(f"sqlite:///{tempfile.mkdtemp()}/mlops.db")
        >>> run = store.create_run(name="r", experiment="e")
        >>> edit_run(store, run.id, note="db at postgresql://me:hunter2@db/x", add_tags=["ok"]).note
        'db at postgresql://me:***@db/x'
    """
    if tags is not None:
        current = set(store.get_run(run_id).tags)
        wanted = set(_clean_tags(tags, redact))
        add, remove = sorted(wanted - current), sorted(current - wanted)
    else:
        add, remove = _clean_tags(add_tags, redact), _clean_tags(remove_tags, redact)
    if add or remove:
        store.set_tags(run_id, add=add, remove=remove)
    fields: dict[str, str] = {}
    if note is not None:
        text = redaction.redact_text(note) if redact else note
        if append_note:
            old = store.get_run(run_id).note
            text = f"{old}\n{text}" if old else text
        fields["note"] = text
    if name is not None:
        fields["name"] = redaction.redact_text(name) if redact else name
    if fields:
        return store.update_run(run_id, **fields)
    return store.get_run(run_id)


def _clean_tags(values: Iterable[str], redact: bool) -> list[str]:
    items = list(values)
    return redaction.redact_tags(items) if redact else items
