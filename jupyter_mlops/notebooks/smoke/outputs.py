"""Capping the outputs a smoke run keeps, at the point where nbclient receives them.

nbclient appends every iopub output message to the cell, so a notebook printing a gigabyte held a gigabyte (three,
with the copies made while writing) in the runner and left a gigabyte executed notebook. :class:`CappedClient`
checks each output message against what the cell and the notebook already keep (``max_cell_output``,
``max_notebook_output``, see :mod:`.limits`) before nbclient stores it: a stream message is cut to the room
left, any other output that does not fit is dropped, and the bytes dropped are counted per cell. What a
``clear_output`` removes is room again, so a training loop that redraws its plot each epoch is not cut. Error
outputs are always kept (the report and the silent-pass guard need them), cut to :data:`ERROR_KEEP` bytes or
the cell cap, whichever is smaller (but never below :data:`ERROR_FLOOR`): the head of the message and the last
lines of the traceback. A single message is still received whole before it is cut: the cap bounds what
accumulates, not one message's size.

After a cell, :meth:`CappedClient.note_truncation` leaves a ``stderr`` line in the cell saying what was dropped,
so whoever opens the kept notebook sees it. This module imports nbclient; import it only when executing.
"""

from __future__ import annotations

import json
from typing import Any

from nbclient import NotebookClient

from jupyter_mlops.notebooks.smoke.limits import format_size

#: Most of one error output kept (its traceback's last lines), whatever the caps.
ERROR_KEEP = 64 * 1024
#: Least of one error output kept, however small the cell cap: enough to say what failed and where.
ERROR_FLOOR = 4 * 1024
NOTE_PREFIX = "[nb-smoke] output truncated"


def nbytes(text: str) -> int:
    """UTF-8 size of ``text`` (``len`` for ASCII, which is the common and fast case)."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def content_size(msg_type: str, content: dict[str, Any]) -> int:
    """The bytes an output message adds to the notebook (text, mime data, traceback)."""
    if msg_type == "stream":
        return nbytes(str(content.get("text", "")))
    if msg_type == "error":
        lines = [content.get("ename", ""), content.get("evalue", ""), *(content.get("traceback") or [])]
        return sum(nbytes(str(line)) for line in lines)
    data = content.get("data") or {}
    size = 0
    for value in data.values():
        size += nbytes(value) if isinstance(value, str) else nbytes(json.dumps(value, default=str))
    return size


def cut_text(text: str, limit: int) -> str:
    """The longest prefix of ``text`` whose UTF-8 size is at most ``limit``."""
    if text.isascii():
        return text[:limit]
    return text.encode("utf-8", "surrogatepass")[:limit].decode("utf-8", "ignore")


def _shrunk_error(content: dict[str, Any], limit: int) -> dict[str, Any]:
    """An error output's content cut to about ``limit`` bytes: its evalue's head and its traceback's last lines."""
    evalue = cut_text(str(content.get("evalue", "")), limit // 4)
    kept: list[str] = []
    room = limit - nbytes(evalue)
    for line in reversed([str(t) for t in content.get("traceback") or []]):
        line = cut_text(line, room) if nbytes(line) > room else line
        room -= nbytes(line)
        kept.append(line)
        if room <= 0:
            break
    return {**content, "evalue": evalue, "traceback": kept[::-1]}


class CappedClient(NotebookClient):  # type: ignore[misc]
    """An nbclient ``NotebookClient`` that keeps a bounded amount of output.

    At most ``max_cell_output`` bytes of outputs per cell and ``max_notebook_output`` per notebook.

    Attributes:
        kept: bytes of outputs kept, per cell index.
        dropped: bytes of outputs dropped, per cell index (only cells that lost some).
    """

    def __init__(self, nb: Any, km: Any = None, *, max_cell_output: int, max_notebook_output: int,
                 **kw: Any) -> None:
        super().__init__(nb, km=km, **kw)
        self.max_cell_output = max_cell_output
        self.max_notebook_output = max_notebook_output
        self.kept: dict[int, int] = {}
        self.dropped: dict[int, int] = {}

    def _room(self, cell_index: int) -> int:
        cell_left = self.max_cell_output - self.kept.get(cell_index, 0)
        return max(0, min(cell_left, self.max_notebook_output - sum(self.kept.values())))

    def _forget(self, cell_index: int) -> None:
        self.kept[cell_index] = 0

    def _drop(self, cell_index: int, size: int) -> None:
        if size > 0:
            self.dropped[cell_index] = self.dropped.get(cell_index, 0) + size

    def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
        """Drop an ``update_display_data`` that does not fit; everything else goes through :meth:`output`."""
        if msg["msg_type"] == "update_display_data":
            size = content_size("update_display_data", msg["content"])
            if size > self._room(cell_index):
                self._drop(cell_index, size)
                return None
            self.kept[cell_index] = self.kept.get(cell_index, 0) + size  # replaced data: counted, to stay bounded
        return super().process_message(msg, cell, cell_index)

    def output(self, outs: list[Any], msg: dict[str, Any], display_id: str | None, cell_index: int) -> Any:
        """Keep the output, a cut copy of it, or nothing, depending on the room left."""
        hooked = bool(self.output_hook_stack[msg["parent_header"].get("msg_id")])
        if getattr(self, "clear_before_next_output", False) and not hooked:  # nbclient's pending clear, done first
            outs[:] = []
            self.clear_display_id_mapping(cell_index)
            self.clear_before_next_output = False
            self._forget(cell_index)
        msg_type, content = msg["msg_type"], msg["content"]
        size = content_size(msg_type, content)
        room = self._room(cell_index)
        if msg_type == "error":
            limit = min(ERROR_KEEP, max(self.max_cell_output, ERROR_FLOOR))
            if size > limit:
                content = _shrunk_error(content, limit)
                self._drop(cell_index, size - content_size("error", content))
                size = content_size("error", content)
        elif size > room:
            if msg_type != "stream" or room == 0:
                self._drop(cell_index, size)
                return None
            content = {**content, "text": cut_text(str(content.get("text", "")), room)}
            self._drop(cell_index, size - room)
            size = content_size("stream", content)
        self.kept[cell_index] = self.kept.get(cell_index, 0) + size
        if content is not msg["content"]:
            msg = {**msg, "content": content}
        return super().output(outs, msg, display_id, cell_index)

    def clear_output(self, outs: list[Any], msg: dict[str, Any], cell_index: int) -> None:
        """A cleared cell's outputs no longer count."""
        hooked = bool(self.output_hook_stack[msg["parent_header"].get("msg_id")])
        super().clear_output(outs, msg, cell_index)
        if not hooked and not msg["content"].get("wait"):
            self._forget(cell_index)

    def note_truncation(self, cell: Any, cell_index: int) -> None:
        """Leave a line in the cell saying how much of its output was dropped (nothing when none was)."""
        dropped = self.dropped.get(cell_index)
        if not dropped:
            return
        from nbformat.v4 import new_output

        text = (f"{NOTE_PREFIX}: {format_size(dropped)} of this cell's output not kept (max-cell-output "
                f"{format_size(self.max_cell_output)}, max-notebook-output {format_size(self.max_notebook_output)})\n")
        cell.setdefault("outputs", []).append(new_output("stream", name="stderr", text=text))
