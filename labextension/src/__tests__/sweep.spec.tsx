/** The sweep charts (ADR-111): axes scaling, line paths, best-run highlighting, and the local-only badge. */
import * as React from 'react';
import { act } from 'react';

import { LocalOnlyBadge } from '../components/LocalOnlyBadge';
import { SweepSection } from '../components/SweepCharts';
import {
  axisOf,
  axisTicks,
  defaultGoal,
  linePath,
  parallelCoordinates,
  position,
  scatter,
  sweepOf
} from '../sweepLogic';
import { Mlops } from '../tokens';
import { mountPoint } from './dom';
import { run } from './payloads';

const dom = mountPoint();

function row(id: string, point: number, params: Record<string, unknown>, value: number | null): Mlops.ISweepRow {
  return { run_id: id, name: `p${point}`, point, status: 'finished', params, metrics: value === null ? {} : { auc: value }, value };
}

// Shaped as `GET sweeps/{id}?metric=auc:max`: best first, a run without auc last.
const TABLE: Mlops.ISweepTable = {
  sweep: 'S1',
  filter: 'sweep = "S1"',
  params: ['lr', 'model'],
  metrics: ['auc'],
  metric: { key: 'auc', goal: 'max' },
  best: 'b',
  rows: [
    row('b', 1, { lr: 0.1, model: 'rf' }, 0.9),
    row('c', 2, { lr: 1, model: 'gbm' }, 0.8),
    row('a', 0, { lr: 0.01, model: 'gbm' }, 0.7),
    row('d', 3, { lr: 1, model: 'rf' }, null)
  ]
};
const BOX = { width: 300, height: 120, pad: 10 };

describe('sweep logic', () => {
  it('finds the one sweep the runs share, or none', () => {
    expect(sweepOf([run('a', { tags: ['sweep', 'sweep:S1', 'sweep-point:0'] }), run('b', { tags: ['sweep:S1'] })])).toBe('S1');
    expect(sweepOf([run('a', { tags: ['sweep:S1'] }), run('b', { tags: ['sweep:S2'] })])).toBeNull();
    expect(sweepOf([run('a', { tags: ['sweep:S1'] }), run('b', { tags: [] })])).toBeNull();
    expect(sweepOf([])).toBeNull();
  });

  it('scales numbers linearly and everything else as evenly spaced categories', () => {
    const linear = axisOf([0.01, '1', 0.5, null]);
    expect(linear).toEqual({ kind: 'linear', min: 0.01, max: 1 });
    expect(position(linear, 1, 99)).toBe(99);
    expect(position(linear, 0.01, 99)).toBe(0);
    expect(position(linear, undefined, 99)).toBeNull();
    const band = axisOf(['rf', 'gbm', 'rf', 'lin']);
    expect(band).toEqual({ kind: 'band', categories: ['gbm', 'lin', 'rf'] });
    expect(position(band, 'lin', 100)).toBe(50);
    expect(position(band, 'svm', 100)).toBeNull();
    expect(position(axisOf([3, 3]), 3, 80)).toBe(40); // one value: the middle
    expect(axisTicks(linear)).toEqual([['0.01', 0], ['1', 1]]);
    expect(axisTicks(band).map(t => t[1])).toEqual([0, 0.5, 1]);
  });

  it('writes line paths and starts from the goal people expect', () => {
    expect(linePath([[0, 10], [5.04, 2.96]])).toBe('M0 10 L5 3');
    expect(defaultGoal('val_loss')).toBe('min');
    expect(defaultGoal('auc')).toBe('max');
  });

  it('draws one line per run with the metric, high values at the top, the best run last', () => {
    const { axes, lines, skipped } = parallelCoordinates(TABLE, BOX);
    expect(axes.map(a => [a.name, a.x])).toEqual([['lr', 10], ['model', 150], ['auc', 290]]);
    expect(lines.map(l => [l.runId, l.best])).toEqual([['c', false], ['a', false], ['b', true]]);
    expect(skipped).toBe(1);
    // a: lowest lr (bottom: y=110), gbm is the first category (bottom), lowest auc (bottom).
    expect(lines[1].d).toBe('M10 110 L150 110 L290 110');
    // b: the highest auc at the top (y=10).
    expect(lines[2].d.endsWith('L290 10')).toBe(true);
  });

  it('places scatter points for the chosen param and flags the best', () => {
    const { x, points } = scatter(TABLE, 'model', BOX);
    expect(x).toEqual({ kind: 'band', categories: ['gbm', 'rf'] });
    expect(points.map(p => [p.runId, p.cx, p.cy, p.best])).toEqual([
      ['c', 10, 60, false],
      ['a', 10, 110, false],
      ['b', 290, 10, true]
    ]);
  });
});

describe('sweep views', () => {
  it('renders the sweep section from the loader: lines, points and the best run', async () => {
    const calls: (string | undefined)[] = [];
    const load = async (id: string, metric?: string) => {
      calls.push(`${id} ${metric}`);
      return metric ? TABLE : { ...TABLE, metric: null, best: null };
    };
    const runs = [run('a', { tags: ['sweep:S1'] }), run('b', { tags: ['sweep:S1'] })];
    await act(async () => dom.root.render(<SweepSection runs={runs} load={load} />));
    await act(async () => undefined);
    expect(calls).toEqual(['S1 undefined', 'S1 auc:max']);
    expect(dom.host.querySelectorAll('[data-chart="parallel-coordinates"] path.jp-Mlops-pcLine')).toHaveLength(3);
    expect(dom.host.querySelectorAll('[data-chart="sweep-scatter"] circle')).toHaveLength(3);
    expect(dom.host.querySelector('.jp-mod-best')!.getAttribute('data-run-id')).toBe('b');
    expect(dom.host.textContent).toContain('best by auc (max): p1');
  });

  it('shows nothing for runs of no single sweep', async () => {
    await act(async () => dom.root.render(<SweepSection runs={[run('a')]} load={async () => TABLE} />));
    expect(dom.host.innerHTML).toBe('');
  });

  it('marks only local-only runs', async () => {
    await act(async () =>
      dom.root.render(
        <>
          <LocalOnlyBadge run={{ local_only: true }} />
          <LocalOnlyBadge run={{ local_only: false }} />
          <LocalOnlyBadge run={{}} />
        </>
      )
    );
    const badges = dom.host.querySelectorAll('.jp-Mlops-localBadge');
    expect(badges).toHaveLength(1);
    expect(badges[0].getAttribute('title')).toContain('not yet pushed');
  });
});
