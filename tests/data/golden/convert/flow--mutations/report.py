"""Section "Report" of flow--mutations.ipynb (cell 9)."""

from __future__ import annotations

import json


def report(labels, items, counts, total, message, box, grid, frame):
    """Report."""
    # ## Report
    # cell 9
    summary = {
        'items': items, 'counts': counts, 'total': total, 'message': message, 'labels': labels,
        'box': box.size, 'grid': grid, 'frame': frame.to_dict(orient='list'),
    }
    print(json.dumps(summary, sort_keys=True))
