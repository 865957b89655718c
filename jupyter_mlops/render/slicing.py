"""A slice report (``SliceResult.to_dict()``) as plain text: the kept cells, what is unsure, the verification."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["slice_text"]


def slice_text(report: Mapping[str, Any], *, code: bool = True) -> str:
    """The report as text; ``code`` appends the slice's clean code."""
    cells = report.get("cells") or []
    lines = [f"Slice for {report['kind']} {report['target']!r}: {len(cells)} of {report['executed_cells']} "
             "executed cells"]
    for cell in cells:
        count = cell.get("execution_count")
        why = ", ".join(cell.get("why") or [])
        lines.append(f"  In[{count if count is not None else ' '}]  {why}")
    for item in report.get("unsure") or []:
        lines.append(f"  unsure: In[{item.get('execution_count')}] {item['reason']} (kept)")
    for path in report.get("written") or []:
        lines.append(f"Wrote {path}")
    verification = report.get("verification")
    if verification:
        metric = verification.get("metric") or {}
        if verification["outcome"] == "reproduced":
            lines.append(f"Verified: {report['target']} = {metric.get('reproduced')} "
                         f"(recorded {metric.get('original')}, {metric.get('status')})")
        elif metric:
            lines.append(f"Differs: {report['target']} = {metric.get('reproduced')}, recorded "
                         f"{metric.get('original')} ({metric.get('status')})")
        else:
            lines.append(f"Could not verify: {verification.get('reason')}")
    text = "\n".join(lines) + "\n"
    if code:
        text += "\n" + str(report.get("code") or "")
    return text
