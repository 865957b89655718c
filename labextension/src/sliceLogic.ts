/**
 * Pure helpers for the compare view's metrics-on-slices table (ADR-070): no React, no fetching, tested with jest.
 */
import { Mlops } from './tokens';

/** One metric's slices, in the server's order (sorted by slice label). */
export interface ISliceGroup {
  key: string;
  goal: 'max' | 'min';
  rows: Mlops.ISliceRow[];
}

/** The comparison's slice rows grouped by metric key, keys in first-seen order (the server sorts them). */
export function sliceGroups(rows: Mlops.ISliceRow[] | undefined): ISliceGroup[] {
  const groups = new Map<string, ISliceGroup>();
  for (const row of rows ?? []) {
    let group = groups.get(row.key);
    if (!group) {
      group = { key: row.key, goal: row.goal, rows: [] };
      groups.set(row.key, group);
    }
    group.rows.push(row);
  }
  return [...groups.values()];
}

/**
 * How run `index` stands on a slice against the baseline (index 0): `worse` or `better` in the metric's direction,
 * `missing` when the run did not log the slice that the baseline did (the gate refuses to judge it), else `same`.
 */
export function sliceStanding(row: Mlops.ISliceRow, index: number): 'worse' | 'better' | 'missing' | 'same' {
  if (index === 0) {
    return 'same';
  }
  const value = row.values[index];
  if (value === null || value === undefined) {
    return row.values[0] === null || row.values[0] === undefined ? 'same' : 'missing';
  }
  const delta = row.deltas[index];
  if (delta === null || delta === undefined || delta === 0 || Number.isNaN(delta)) {
    return 'same';
  }
  const better = row.goal === 'max' ? delta > 0 : delta < 0;
  return better ? 'better' : 'worse';
}

/** The labels of the slices on which some run is worse than the baseline or lacks the slice, for a summary line. */
export function slicesToWatch(rows: Mlops.ISliceRow[] | undefined): string[] {
  const out: string[] = [];
  for (const row of rows ?? []) {
    const standings = row.values.map((_, i) => sliceStanding(row, i));
    if (standings.some(s => s === 'worse' || s === 'missing')) {
      out.push(`${row.key} [${row.slice}]`);
    }
  }
  return out;
}
