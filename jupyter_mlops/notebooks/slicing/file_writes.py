"""Which file a call writes, as far as a static look can tell: ``open(p, "w")``, ``Path(p).write_text``, ``to_csv``.

A file is a pseudo name ``file:PATH`` to the slicer (normalised, so ``./a.csv`` and ``a.csv`` are one file);
``file:*`` stands for a path no static look can know. Reads are recognised by ``capture.cells`` (what data capture
hashes); this module adds the writers. Standard library only.
"""

from __future__ import annotations

import ast
import os

__all__ = ["ANY_FILE", "FILE", "file_name", "literal_text", "write_mode", "write_path"]

FILE = "file:"
#: a file written at a path no static look can know
ANY_FILE = "file:*"

_WRITERS = frozenset({
    "to_csv", "to_parquet", "to_json", "to_pickle", "to_excel", "to_feather", "to_hdf", "to_stata", "to_html",
    "to_latex", "to_markdown", "to_xml", "to_netcdf", "savefig", "save", "savetxt", "savez", "savez_compressed",
    "dump", "write_text", "write_bytes",
})
_PATH_WRITERS = frozenset({"write_text", "write_bytes"})
_PATH_CALLS = frozenset({"Path", "PurePath", "PosixPath", "WindowsPath"})


def file_name(path: str) -> str:
    """The pseudo name of a file path (normalised, so ``./a.csv`` and ``a.csv`` are one file)."""
    return FILE + os.path.normpath(path)



def literal_text(node: ast.expr | None) -> str | None:
    """The value of a string literal node, else None."""
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None



def write_mode(call: ast.Call, position: int) -> str | None:
    """``w`` (replaces), ``a`` (appends) or None (reads, or a mode computed at run time)."""
    mode_node = call.args[position] if len(call.args) > position else None
    for keyword in call.keywords:
        if keyword.arg == "mode":
            mode_node = keyword.value
    mode = literal_text(mode_node)
    if mode is None:
        return None
    if "w" in mode or "x" in mode:
        return "w"
    return "a" if "a" in mode else None


def write_path(call: ast.Call) -> tuple[ast.expr | None, bool] | None:
    """The path argument of a recognised file write and whether it replaces the file; None when no write."""
    func = call.func
    if isinstance(func, ast.Name) and func.id == "open" and call.args:
        mode = write_mode(call, 1)
        return (call.args[0], mode == "w") if mode else None
    if not isinstance(func, ast.Attribute):
        return None
    attr, receiver = func.attr, func.value
    if isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Name) and receiver.func.id in _PATH_CALLS:
        path = receiver.args[0] if receiver.args else None
        if attr in _PATH_WRITERS:
            return path, True
        if attr == "open":
            mode = write_mode(call, 0)
            return (path, mode == "w") if mode else None
        return None
    if attr not in _WRITERS:
        return None
    if attr in ("save", "dump"):  # np.save(path, a) but torch.save(obj, path), joblib.dump(obj, path)
        for arg in call.args[:2]:
            if literal_text(arg) is not None:
                return arg, True
        return (call.args[1] if attr == "dump" and len(call.args) > 1 else None), True
    if call.args:
        return call.args[0], True
    for keyword in call.keywords:
        if keyword.arg in ("path", "path_or_buf", "fname", "filename", "excel_writer", "file"):
            return keyword.value, True
    return None, True
