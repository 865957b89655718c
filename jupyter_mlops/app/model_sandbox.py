"""The servability sandbox: a fresh interpreter that loads one model and queries it, answering one JSON line.

Run as ``python -m jupyter_mlops.app.model_sandbox`` by :func:`jupyter_mlops.app.model_check.check_servable`,
which writes one JSON request on stdin::

    {"blob": PATH, "hash": "xxh3_128:...", "format": "joblib|pickle|file", "sample": CSV, "n": 1000,
     "entry_point": "predict", "features": [...] | null, "latency_calls": 100, "latency_bound_s": 0.05 | null}

and reads the last line of stdout::

    {"stage": "done|hash|sample|input|error|load|predict|output", "error": "...", "hash": ..., "modules": [...],
     "load_s": ..., "batch_s": ..., "rows": ..., "output": {"type", "length", "dtype"}, "latencies": [...],
     "stopped_early": false, "module_files": {MODULE: FILE | null}}

Assumptions:
    * The parent never unpickles: only this child does, so a model that crashes, hangs or pollutes the
      interpreter takes down nothing but the child. It inherits the parent's environment (``sys.executable``,
      ``PYTHONPATH``, working directory), which is the environment being checked.
    * The bytes are hashed and unpickled from the same buffer, so what was verified is what is loaded.
    * The pickle's modules are read from its opcodes before loading (``pickletools``), so a missing class is
      named even when loading fails; joblib's raw array payloads end the scan early, which loses nothing (the
      classes come first).
    * Latency is per row: ``latency_calls`` calls of the entry point on one row each (a serving request is one
      row), after one untimed batch call on the whole sample (which also warms caches). With a bound, the calls
      stop as soon as enough of them exceed it that the p95 must.
    * Only the standard library, ``xxhash``, ``pandas`` (for the CSV sample) and the model's own imports are
      loaded; nothing else of jupyter_mlops.
"""

from __future__ import annotations

import io
import json
import math
import pickle
import pickletools
import sys
import time
from typing import Any

_STRINGS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "SHORT_BINSTRING", "BINSTRING", "STRING"}
_NO_PUSH = {"MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT", "FRAME", "PROTO", "STOP"}


def pickle_modules(data: bytes) -> list[str]:
    """The top-level modules a pickle's classes and functions come from, read from its opcodes (no loading)."""
    found: set[str] = set()
    memo: dict[Any, Any] = {}
    recent: list[Any] = [None, None]
    try:
        for op, arg, _ in pickletools.genops(io.BytesIO(data)):
            name = op.name
            if name in _STRINGS:
                value: Any = arg
            elif name == "MEMOIZE":
                memo[len(memo)] = recent[-1]
                continue
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[arg] = recent[-1]
                continue
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                value = memo.get(arg)
            elif name == "GLOBAL":
                found.add(str(arg).split(" ")[0].split(".")[0])
                value = None
            elif name == "STACK_GLOBAL":
                if isinstance(recent[-2], str):
                    found.add(recent[-2].split(".")[0])
                value = None
            elif name in _NO_PUSH:
                continue
            else:
                value = None
            recent = [recent[-1], value]
    except Exception:  # noqa: S110 - joblib's raw array bytes follow the pickle: the classes were read already
        pass
    return sorted(found)


def _load_error(error: BaseException) -> str:
    if isinstance(error, ModuleNotFoundError):
        return (f"the pickle needs module {error.name!r}, which this environment cannot import "
                f"({error}); install it or put it on the path")
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    if isinstance(error, AttributeError) and text.startswith("Can't get attribute"):
        return f"the pickle needs a class its module no longer defines ({text})"
    return f"loading failed: {type(error).__name__}: {text}"


def _describe(output: Any) -> dict[str, Any]:
    shape = getattr(output, "shape", None)
    if shape is not None and len(shape) > 0:
        length: int | None = int(shape[0])
    else:
        try:
            length = len(output)
        except TypeError:
            length = None
    kind = type(output)
    dtype = getattr(output, "dtype", None)
    return {"type": f"{kind.__module__}.{kind.__qualname__}", "length": length,
            "dtype": None if dtype is None else str(dtype)}


def _read_sample(path: str, n: int, features: list[str] | None) -> Any:
    import pandas as pd

    frame = pd.read_csv(path, nrows=n)
    if features:
        missing = [f for f in features if f not in frame.columns]
        if missing:
            raise LookupError(f"the sample {path} lacks the model's input columns: {', '.join(missing[:10])}")
        frame = frame[features]
    return frame


def _per_row(call: Any, frame: Any, calls: int, bound_s: float | None, batch: dict[str, Any]) -> dict[str, Any]:
    latencies: list[float] = []
    over = 0
    allowed_over = calls - max(1, math.ceil(0.95 * calls))  # more than this many over the bound: p95 is over it
    for i in range(calls):
        row = frame.iloc[[i]]
        start = time.perf_counter()
        out = call(row)
        latencies.append(time.perf_counter() - start)
        one = _describe(out)
        if one["type"] != batch["type"] or one["dtype"] != batch["dtype"] or one["length"] != 1:
            return {"stage": "output", "latencies": latencies,
                    "error": f"one row gave {one['length']} x {one['type']} ({one['dtype']}), the batch "
                             f"{batch['type']} ({batch['dtype']}): the output type is not consistent"}
        if bound_s is not None and latencies[-1] > bound_s:
            over += 1
            if over > allowed_over:
                return {"stage": "done", "latencies": latencies, "stopped_early": True}
    return {"stage": "done", "latencies": latencies, "stopped_early": False}


def _load(data: bytes, fmt: str) -> Any:
    if fmt == "pickle":
        return pickle.loads(data)  # noqa: S301 - the sandbox exists to run this
    import joblib  # joblib also reads plain pickles (a logged "file" model saved with either)

    return joblib.load(io.BytesIO(data))


def serve_check(request: dict[str, Any]) -> dict[str, Any]:
    """Do what the module docstring says for one request; never raises for the model's or sample's faults."""
    import xxhash

    with open(request["blob"], "rb") as fh:
        data = fh.read()
    actual = f"xxh3_128:{xxhash.xxh3_128_hexdigest(data)}"
    if actual != request["hash"]:
        return {"stage": "hash", "error": f"stored content hashes to {actual}, not the recorded "
                                          f"{request['hash']}; refusing to load it"}
    answer: dict[str, Any] = {"hash": actual, "modules": pickle_modules(data), "entry_point": request["entry_point"]}
    try:
        frame = _read_sample(request["sample"], int(request["n"]), request.get("features"))
    except LookupError as error:
        return {**answer, "stage": "input", "error": str(error)}
    except Exception as error:
        return {**answer, "stage": "sample", "error": f"cannot read the sample {request['sample']}: "
                                                      f"{type(error).__name__}: {error}"}
    answer["rows"] = len(frame)
    if not len(frame):
        return {**answer, "stage": "sample", "error": f"the sample {request['sample']} has no rows"}
    start = time.perf_counter()
    try:
        model = _load(data, request["format"])
    except BaseException as error:  # SystemExit from a model's module counts as a failed load too
        return {**answer, "stage": "load", "error": _load_error(error)}
    answer["load_s"] = time.perf_counter() - start
    answer["module_files"] = {m: getattr(sys.modules.get(m), "__file__", None) for m in answer["modules"]}
    call = getattr(model, request["entry_point"], None)
    if not callable(call):
        return {**answer, "stage": "predict",
                "error": f"{type(model).__name__} has no callable {request['entry_point']!r}"}
    start = time.perf_counter()
    try:
        output = call(frame)
    except Exception as error:
        return {**answer, "stage": "predict", "error": f"{request['entry_point']} raised {type(error).__name__}: "
                                                        f"{str(error).splitlines()[0] if str(error) else ''}"}
    answer["batch_s"] = time.perf_counter() - start
    batch = answer["output"] = _describe(output)
    if batch["length"] != len(frame):
        return {**answer, "stage": "output", "error": f"{batch['length']} predictions for {len(frame)} sample "
                                                      f"rows ({batch['type']}); expected one per row"}
    try:
        timed = _per_row(call, frame, min(int(request["latency_calls"]), len(frame)),
                         request.get("latency_bound_s"), batch)
    except Exception as error:
        return {**answer, "stage": "predict", "error": f"{request['entry_point']} on one row raised "
                                                        f"{type(error).__name__}: {error}"}
    return {**answer, **timed}


def main() -> None:
    """Read the request from stdin, write the answer as the last line of the real stdout."""
    request = json.loads(sys.stdin.read())
    real_stdout = sys.stdout
    sys.stdout = sys.stderr  # what the model prints must not be taken for the answer
    try:
        answer = serve_check(request)
    except Exception as error:
        answer = {"stage": "error", "error": f"the sandbox failed: {type(error).__name__}: {error}"}
    real_stdout.write("\n" + json.dumps(answer, default=str) + "\n")
    real_stdout.flush()


if __name__ == "__main__":
    main()
