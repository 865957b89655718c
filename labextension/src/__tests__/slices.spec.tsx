/** The compare view's metrics-on-slices table (ADR-070): grouping, standings, and what it renders. */
import * as React from 'react';
import { act } from 'react';

import { SliceMetricsTable } from '../components/CompareView';
import { sliceGroups, sliceStanding, slicesToWatch } from '../sliceLogic';
import { Mlops } from '../tokens';
import { mountPoint } from './dom';
import { run } from './payloads';

const dom = mountPoint();

function slice(key: string, label: string, values: (number | null)[], goal: 'max' | 'min' = 'max'): Mlops.ISliceRow {
  const base = values[0];
  const deltas = values.map(v => (v === null || base === null ? null : v - base));
  const dims = Object.fromEntries(label.split(',').map(pair => pair.split('=')));
  return { key, slice: label, dims, values, deltas, best: 0, goal };
}

// Shaped as `runs compare --format json`'s "slices" (docs/compare-json.md): better overall, worse on EU, no APAC.
const ROWS = [
  slice('auc', 'region=APAC', [0.85, null]),
  slice('auc', 'region=EU', [0.88, 0.84]),
  slice('auc', 'region=US', [0.91, 0.95]),
  slice('latency_ms', 'region=EU', [40, 38], 'min')
];

function comparison(slices?: Mlops.ISliceRow[]): Mlops.IComparison {
  return {
    baseline: 'a', runs: [run('a'), run('b')], params: [], code: [], data: [],
    env: { python: ['3.11', '3.11'], packages: [] },
    metrics: [{ key: 'auc', values: [0.9, 0.93], deltas: [0, 0.03], best: 1, goal: 'max' }],
    flags: [], charts: {}, params_charts: {}, slices
  };
}

describe('slice logic', () => {
  it('groups rows by metric in order', () => {
    const groups = sliceGroups(ROWS);
    expect(groups.map(g => [g.key, g.rows.length])).toEqual([['auc', 3], ['latency_ms', 1]]);
    expect(sliceGroups(undefined)).toEqual([]);
  });

  it('tells worse, better, missing and same in the metric direction', () => {
    expect(sliceStanding(ROWS[0], 1)).toBe('missing');
    expect(sliceStanding(ROWS[1], 1)).toBe('worse');
    expect(sliceStanding(ROWS[2], 1)).toBe('better');
    expect(sliceStanding(ROWS[3], 1)).toBe('better'); // lower latency is better
    expect(sliceStanding(ROWS[1], 0)).toBe('same');
    expect(sliceStanding(slice('auc', 'region=X', [null, 0.5]), 1)).toBe('same'); // new slice: nothing to compare
  });

  it('lists the slices to watch', () => {
    expect(slicesToWatch(ROWS)).toEqual(['auc [region=APAC]', 'auc [region=EU]']);
  });
});

describe('SliceMetricsTable', () => {
  it('renders a row per slice and marks the worse and the missing one', () => {
    act(() => dom.root.render(<SliceMetricsTable comparison={comparison(ROWS)} />));
    const section = dom.host.querySelector('[data-section="slices"]')!;
    expect(section.querySelectorAll('tbody tr')).toHaveLength(4);
    const eu = section.querySelector('tr[data-metric="auc"][data-slice="region=EU"]')!;
    expect(eu.querySelectorAll('td')[2].getAttribute('data-standing')).toBe('worse');
    expect(eu.textContent).toContain('0.84');
    const apac = section.querySelector('tr[data-slice="region=APAC"]')!;
    expect(apac.textContent).toContain('not measured');
    expect(section.querySelector('.jp-Mlops-sliceWatch')!.textContent).toContain('auc [region=EU]');
  });

  it('renders nothing without slices (an older server)', () => {
    act(() => dom.root.render(<SliceMetricsTable comparison={comparison()} />));
    expect(dom.host.querySelector('[data-section="slices"]')).toBeNull();
  });
});
