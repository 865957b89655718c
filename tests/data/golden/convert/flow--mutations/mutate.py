"""Section "Mutate" of flow--mutations.ipynb (cells 6-7)."""

from __future__ import annotations


def mutate(n_items, scale, labels, verbose, items, counts, total, message, box, grid, frame):
    """Mutate."""
    # ## Mutate
    # cell 6
    for i in range(n_items):
        items.append(i * scale)
    counts.update({'a': 1})
    counts['b'] = 2
    total += sum(items)
    message += '-grown'
    labels.append('c')
    box.size = 10
    grid[1][0] = 7
    items.sort(reverse=True)
    # cell 7
    frame.drop(columns=['z'], inplace=True)
    frame.fillna(0.0, inplace=True)
    frame.sort_values('x', inplace=True)
    frame['w'] = frame['x'] * scale
    frame.reset_index(drop=True, inplace=True)
    if verbose:
        print('mutated')
    return labels, items, counts, total, message, box, grid, frame
