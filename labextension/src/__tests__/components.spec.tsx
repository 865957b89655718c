import * as React from 'react';
import { act } from 'react';

import { CompareView } from '../components/CompareView';
import { FilterBar } from '../components/FilterBar';
import { RunDetails } from '../components/RunDetails';
import { RunsTable } from '../components/RunsTable';
import { rememberWholeFloats } from '../logic';
import { Mlops } from '../tokens';
import { mountPoint } from './dom';
import { run } from './payloads';

const dom = mountPoint();

function cellChange(
  change: Mlops.ICellChange['change'],
  a_index: number | null,
  b_index: number | null,
  a_source: string | null,
  b_source: string | null,
  source_diff: string
): Mlops.ICellChange {
  return { change, a_index, b_index, cell_type: 'code', a_source, b_source, source_diff, outputs_changed: false,
           output_changes: [], attachment_changes: [], metadata_changes: [], other_changes: [] };
}

function comparison(): Mlops.IComparison {
  return {
    baseline: 'a',
    runs: [run('a'), run('b', { params: { lr: 0.3 } })],
    params: [
      { key: 'lr', values: [0.1, 0.3], differs: true },
      { key: 'seed', values: [0, 0], differs: false }
    ],
    code: [{ run: 'b', cells: [cellChange('changed', 0, 0, 'lr = 0.1', 'lr = 0.3', '@@ -1 +1 @@\n-lr = 0.1\n+lr = 0.3'),
                               cellChange('added', null, 2, null, 'plot(model)', '@@ -0,0 +1 @@\n+plot(model)')] }],
    data: [],
    env: { python: ['3.11', '3.11'], packages: [] },
    metrics: [{ key: 'auc', values: [0.8, 0.9], deltas: [0, 0.1], best: 1, goal: 'max' }],
    flags: [],
    charts: { loss: { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', data: { values: [] } } },
    params_charts: {}
  };
}

describe('CompareView local modules', () => {
  it('shows a module diff next to the cell diffs, even when no cell changed (ADR-102)', async () => {
    const data = comparison();
    data.code = [{ run: 'b', cells: [], modules: [{ change: 'changed', name: 'utils', path: 'utils.py', a_hash: 'h1',
                                                    b_hash: 'h2', source_diff: '--- a/utils.py\n+++ b/utils.py\n-x = 1\n+x = 2\n' }] }];
    const render = jest.fn(async () => () => undefined);
    await act(async () => dom.root.render(<CompareView comparison={data} renderChart={render} />));
    const module = dom.host.querySelector('[data-section=code] [data-module=utils]');
    expect(module?.querySelector('.jp-Mlops-muted')?.textContent).toBe('local module utils (utils.py) changed');
    expect(module?.querySelector('.jp-Mlops-diffLine.jp-mod-added')?.textContent).toBe('+x = 2');
    expect(dom.host.querySelector('[data-section=code] .jp-Mlops-empty')).toBeNull();
  });
});

describe('CompareView artifacts', () => {
  it('loads the artifact diffs when asked and shows each kind (ADR-104)', async () => {
    const report: Mlops.IArtifactDiffs = { a: 'a', b: 'b', artifacts: [
      { name: 'notes.txt', kind: 'text', status: 'changed', hashes: ['h1', 'h2'], sizes: [1, 2], error: null,
        diff: { kind: 'text', diff: '--- a/notes.txt\n+++ b/notes.txt\n-beta\n+BETA' } },
      { name: 'plot.png', kind: 'image', status: 'changed', hashes: ['h3', 'h4'], sizes: [1, 2], error: null,
        diff: { kind: 'image', changed_pixels: 2, total_pixels: 48, changed_share: 0.041667 },
        images: { side_by_side: 'iVBORw0KGgo=' } },
      { name: 'bad.json', kind: 'json', status: 'changed', hashes: ['h5', 'h6'], sizes: [1, 2], diff: null,
        error: "artifact 'bad.json' (run) is not valid JSON" },
      { name: 'same.txt', kind: 'text', status: 'identical', hashes: ['h7', 'h7'], sizes: [1, 1], diff: null,
        error: null }
    ] };
    const load = jest.fn(async () => report);
    const render = jest.fn(async () => () => undefined);
    await act(async () => dom.root.render(<CompareView comparison={comparison()} renderChart={render} loadArtifacts={load} />));
    expect(load).not.toHaveBeenCalled();
    const button = dom.host.querySelector('[data-section=artifacts] button') as HTMLButtonElement;
    await act(async () => button.click());
    expect(load).toHaveBeenCalledWith('a', 'b');
    const shown = Array.from(dom.host.querySelectorAll('[data-artifact]')).map(e => e.getAttribute('data-artifact'));
    expect(shown).toEqual(['notes.txt', 'plot.png', 'bad.json']);
    expect(dom.host.querySelector('[data-artifact="notes.txt"] .jp-Mlops-diffLine.jp-mod-added')?.textContent).toBe('+BETA');
    expect(dom.host.querySelector('[data-artifact="plot.png"] img')?.getAttribute('src')).toBe('data:image/png;base64,iVBORw0KGgo=');
    expect(dom.host.querySelector('[data-artifact="plot.png"]')?.textContent).toContain('2 of 48 pixels changed (4.17%)');
    expect(dom.host.querySelector('[data-artifact="bad.json"] .jp-Mlops-error')?.textContent).toContain('not valid JSON');
  });
});

describe('FilterBar', () => {
  it('shows the error with a caret under the column and applies on submit', () => {
    const onApply = jest.fn();
    const state = { draft: 'params.lr >>> 1', applied: '', error: 'invalid filter: unexpected', position: 11 };
    act(() => dom.root.render(<FilterBar state={state} onEdit={jest.fn()} onApply={onApply} onClear={jest.fn()} />));
    expect(dom.host.querySelector('[role=alert]')?.textContent).toContain('invalid filter: unexpected');
    expect(dom.host.querySelector('.jp-Mlops-filterCaret')?.textContent?.split('\n')[1]).toBe(' '.repeat(11) + '^');
    expect(dom.host.querySelector('input')?.getAttribute('aria-invalid')).toBe('true');
    act(() => dom.host.querySelector('form')!.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true })));
    expect(onApply).toHaveBeenCalledWith('params.lr >>> 1');
  });
});

describe('CompareView', () => {
  it('highlights differing params, best metrics and diff lines; draws charts through the renderer', async () => {
    const render = jest.fn(async (_spec: object, node: HTMLElement) => {
      node.appendChild(document.createElement('svg'));
      return () => undefined;
    });
    await act(async () => dom.root.render(<CompareView comparison={comparison()} renderChart={render} />));
    const differing = Array.from(dom.host.querySelectorAll('[data-section=params] tr.jp-mod-differs th'));
    expect(differing.map(th => th.textContent)).toEqual(['lr']);
    expect(dom.host.querySelector('[data-section=params] [data-param=seed]')).toBeNull();
    expect(dom.host.querySelector('td.jp-mod-best')?.textContent).toContain('0.9');
    expect(dom.host.querySelector('.jp-Mlops-diffLine.jp-mod-added')?.textContent).toBe('+lr = 0.3');
    expect(dom.host.querySelector('.jp-Mlops-diffLine.jp-mod-removed')?.textContent).toBe('-lr = 0.1');
    const headings = Array.from(dom.host.querySelectorAll('[data-section=code] .jp-Mlops-cellChange .jp-Mlops-muted'));
    expect(headings.map(h => h.textContent)).toEqual(['executed cell 0 changed', 'executed cell 2 added']);
    expect(dom.host.querySelector('.jp-Mlops-cellChange.jp-mod-added .jp-mod-added')?.textContent).toBe('+plot(model)');
    expect(render).toHaveBeenCalledTimes(1);
    expect(dom.host.querySelector('[data-chart=loss] svg')).not.toBeNull();

    // "only differences" off: the equal param appears too.
    const toggle = dom.host.querySelector('[data-section=params] input[type=checkbox]') as HTMLInputElement;
    await act(async () => toggle.click());
    expect(dom.host.querySelector('[data-param=seed]')).not.toBeNull();
  });
});

describe('run warnings', () => {
  const flagged = run('f', {
    name: 'flagged',
    flags: { out_of_order: true, edited_after_run: false, kernel_restarted: true, cells_rerun: false },
    logging_errors: 3
  });
  const clean = run('c', { name: 'clean', flags: { out_of_order: false } });

  it('puts a warning badge on the row of a flagged run, with the reasons in words', () => {
    const runs = [flagged, clean];
    act(() =>
      dom.root.render(
        <RunsTable
          total={2}
          rowAt={i => runs[i]}
          keyMetrics={[]}
          sort={{ key: 'start_time', desc: true }}
          selection={new Set()}
          activeId={null}
          onSort={jest.fn()}
          onToggleSelected={jest.fn()}
          onActivate={jest.fn()}
          onRange={jest.fn()}
        />
      )
    );
    const badge = dom.host.querySelector('[data-run-id=f] .jp-Mlops-warnBadge');
    expect(badge?.getAttribute('title')).toBe(
      'executed out of order; kernel restarted during the run; 3 points could not be stored'
    );
    expect(dom.host.querySelector('[data-run-id=f] [data-key=name]')?.textContent).toContain('flagged');
    expect(dom.host.querySelector('[data-run-id=c] .jp-Mlops-warnBadge')).toBeNull();
  });

  it('lists the warnings in run details, and none for an older server without logging_errors', () => {
    const detail = { run: flagged, env: null, code: null };
    act(() => dom.root.render(<RunDetails detail={detail} onSave={jest.fn()} onClose={jest.fn()} />));
    const lines = Array.from(dom.host.querySelectorAll('.jp-Mlops-details .jp-Mlops-warnings li'));
    expect(lines.map(li => li.textContent?.replace('⚠', '').trim())).toEqual([
      'executed out of order',
      'kernel restarted during the run',
      '3 points could not be stored'
    ]);
    const older = run('o', { flags: {} });
    delete older.logging_errors;
    act(() => dom.root.render(<RunDetails detail={{ run: older, env: null, code: null }} onSave={jest.fn()} onClose={jest.fn()} />));
    expect(dom.host.querySelector('.jp-Mlops-warnings')).toBeNull();
  });

  it('names the flagged runs at the top of the compare view', async () => {
    const cmp = { ...comparison(), runs: [clean, flagged] };
    await act(async () => dom.root.render(<CompareView comparison={cmp} renderChart={async () => () => undefined} />));
    const section = dom.host.querySelector('.jp-Mlops-compare > section');
    expect(section?.getAttribute('data-section')).toBe('flags');
    expect(section?.textContent).toContain('flagged: executed out of order; kernel restarted during the run');
    expect(section?.textContent).not.toContain('clean');
    await act(async () => dom.root.render(<CompareView comparison={comparison()} renderChart={async () => () => undefined} />));
    expect(dom.host.querySelector('[data-section=flags]')).toBeNull();
  });
});

describe('runs with the same explicit name', () => {
  const twins = [run('aaaa1111xx', { name: 'classifier' }), run('bbbb2222yy', { name: 'classifier' })];

  it('shows a short id beside a shared name in the table', () => {
    act(() =>
      dom.root.render(
        <RunsTable
          total={2}
          rowAt={i => twins[i]}
          keyMetrics={[]}
          sharedNames={new Set(['classifier'])}
          sort={{ key: 'start_time', desc: true }}
          selection={new Set()}
          activeId={null}
          onSort={jest.fn()}
          onToggleSelected={jest.fn()}
          onActivate={jest.fn()}
          onRange={jest.fn()}
        />
      )
    );
    const names = Array.from(dom.host.querySelectorAll('.jp-Mlops-row [data-key=name]')).map(n => n.textContent);
    expect(names).toEqual(['classifier aaaa1111', 'classifier bbbb2222']);
  });

  it('tells the runs apart in the compare headers', async () => {
    const cmp = { ...comparison(), runs: twins };
    await act(async () => dom.root.render(<CompareView comparison={cmp} renderChart={async () => () => undefined} />));
    const headers = Array.from(dom.host.querySelectorAll('[data-section=params] thead th')).map(th => th.textContent);
    expect(headers).toEqual(['param', 'classifier (aaaa1111) (baseline)', 'classifier (bbbb2222)']);
  });
});

describe('params shown as given', () => {
  it('shows C = 1.0 and alpha = 0.0001 in run details and the compare table', async () => {
    const params: Record<string, unknown> = { C: 1, alpha: 0.0001 };
    rememberWholeFloats.call(params, 'C', 1, { source: '1.0' });
    act(() =>
      dom.root.render(
        <RunDetails detail={{ run: run('p', { params }), env: null, code: null }} onSave={jest.fn()} onClose={jest.fn()} />
      )
    );
    const cells = Array.from(dom.host.querySelectorAll('.jp-Mlops-kv'))[0].querySelectorAll('td');
    expect(Array.from(cells).map(td => td.textContent)).toEqual(['1.0', '0.0001']); // keys sorted: C, alpha

    const values = [1, 10];
    rememberWholeFloats.call(values, '0', 1, { source: '1.0' });
    rememberWholeFloats.call(values, '1', 10, { source: '10.0' });
    const cmp = { ...comparison(), params: [{ key: 'C', values, differs: true }] };
    await act(async () => dom.root.render(<CompareView comparison={cmp} renderChart={async () => () => undefined} />));
    const row = Array.from(dom.host.querySelectorAll('[data-param=C] td')).map(td => td.textContent);
    expect(row).toEqual(['1.0', '10.0']);
  });
});

describe('the narrow sidebar list (issue 9, item 22)', () => {
  it('shows status, name, age and the key metric in ~250 px, and no experiment, tags or duration', () => {
    const rows = [run('a', { name: 'classifier', metrics: { cv_auc: 0.91, loss: 0.2 }, tags: ['x'] })];
    act(() =>
      dom.root.render(
        <div style={{ width: 250 }}>
          <RunsTable
            compact
            total={1}
            rowAt={i => rows[i]}
            keyMetrics={['cv_auc', 'loss']}
            sort={{ key: 'start_time', desc: true }}
            selection={new Set()}
            activeId={null}
            onSort={() => undefined}
            onToggleSelected={() => undefined}
            onActivate={() => undefined}
            onRange={() => undefined}
          />
        </div>
      )
    );
    const row = dom.host.querySelector('.jp-Mlops-row[data-run-id=a]')!;
    const keys = Array.from(row.querySelectorAll('.jp-Mlops-cell[data-key]')).map(c => c.getAttribute('data-key'));
    expect(keys).toEqual(['status', 'name', 'start_time', 'metrics.cv_auc']);
    expect(row.querySelector('[data-key="metrics.cv_auc"]')?.textContent).toBe('0.91');
    const fixed = Array.from(row.querySelectorAll<HTMLElement>('.jp-Mlops-cell'))
      .map(c => parseInt(c.style.width || c.style.minWidth || '0', 10))
      .reduce((a, b) => a + b, 0);
    expect(fixed).toBeLessThanOrEqual(250);
    expect(dom.host.querySelector('.jp-Mlops-table')?.classList.contains('jp-mod-compact')).toBe(true);
  });

  it('hides the columns the user unticked in the full table, never the name', () => {
    const rows = [run('a', { params: { lr: 0.1 } })];
    const render = (hidden: Set<string>) =>
      act(() =>
        dom.root.render(
          <RunsTable
            total={1}
            rowAt={i => rows[i]}
            keyMetrics={['auc']}
            params={['lr']}
            hidden={hidden}
            sort={{ key: 'start_time', desc: true }}
            selection={new Set()}
            activeId={null}
            onSort={() => undefined}
            onToggleSelected={() => undefined}
            onActivate={() => undefined}
            onRange={() => undefined}
          />
        )
      );
    const headers = () => Array.from(dom.host.querySelectorAll('.jp-Mlops-header')).map(h => h.getAttribute('data-key'));
    render(new Set());
    expect(headers()).toEqual(['status', 'name', 'experiment', 'start_time', 'duration', 'metrics.auc', 'params.lr', 'tags']);
    render(new Set(['experiment', 'tags', 'name']));
    expect(headers()).toEqual(['status', 'name', 'start_time', 'duration', 'metrics.auc', 'params.lr']);
  });
});

describe('compare view order (issue 9, item 25)', () => {
  it("follows the CLI's order and always has an Environment section", async () => {
    await act(async () => dom.root.render(<CompareView comparison={comparison()} renderChart={async () => () => undefined} />));
    const order = Array.from(dom.host.querySelectorAll('.jp-Mlops-compareSection')).map(s => s.getAttribute('data-section'));
    const tables = order.filter(s => s !== 'charts' && s !== 'params-chart' && s !== 'flags' && s !== 'data');
    expect(tables).toEqual(['params', 'code', 'environment', 'metrics']);
    expect(dom.host.querySelector('[data-section=environment]')?.textContent).toContain('Same Python');
  });
});
