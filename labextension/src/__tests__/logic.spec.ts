import {
  compareTitle,
  environmentRows,
  defaultMetricKeys,
  formatAge,
  formatBytes,
  headSignature,
  isTrackingCell,
  notebookPathForms,
  runningFilter,
  cellChangeDiff,
  cellChangeHeading,
  diffLineKind,
  EMPTY_FILTER,
  filterReducer,
  fitToHost,
  formatDuration,
  formatParam,
  formatValue,
  isBest,
  nextSort,
  pagesFor,
  paramRows,
  parseTags,
  rememberWholeFloats,
  runLabels,
  runWarnings,
  sharedNames,
  visibleRange,
  writtenAsFloat
} from '../logic';
import { run } from './payloads';
import { Mlops } from '../tokens';

describe('filter box state', () => {
  it('keeps the error while editing and clears it when a filter is applied', () => {
    let state = filterReducer(EMPTY_FILTER, { type: 'edit', text: 'params.lr >>' });
    state = filterReducer(state, { type: 'failed', text: 'params.lr >>', message: 'invalid filter', position: 10 });
    expect(state.error).toBe('invalid filter');
    state = filterReducer(state, { type: 'edit', text: 'params.lr > 1' });
    expect(state.error).toBe('invalid filter');
    expect(state.applied).toBe('');
    state = filterReducer(state, { type: 'applied', text: 'params.lr > 1' });
    expect(state).toEqual({ draft: 'params.lr > 1', applied: 'params.lr > 1', error: null, position: null });
    expect(filterReducer(state, { type: 'clear' })).toEqual(EMPTY_FILTER);
  });
});

describe('diff highlighting', () => {
  const cell = (change: Mlops.ICellChange['change'], a: number | null, b: number | null, diff = ''): Mlops.ICellChange => ({
    change, a_index: a, b_index: b, cell_type: 'code', a_source: a === null ? null : 'x = 1',
    b_source: b === null ? null : 'x = 2', source_diff: diff, outputs_changed: false, output_changes: [],
    attachment_changes: [], metadata_changes: [], other_changes: []
  });

  it('names each changed executed cell as the CLI does', () => {
    expect(cellChangeHeading(cell('changed', 1, 2))).toBe('executed cell 2 changed (was 1)');
    expect(cellChangeHeading(cell('changed', 3, 3))).toBe('executed cell 3 changed');
    expect(cellChangeHeading(cell('added', null, 4))).toBe('executed cell 4 added');
    expect(cellChangeHeading(cell('removed', 0, null))).toBe('executed cell 0 removed');
  });

  it('shows the engine\'s source diff, or every line of an added or removed cell', () => {
    expect(cellChangeDiff(cell('changed', 0, 0, '@@ -1 +1 @@\n-x = 1\n+x = 2'))).toBe('@@ -1 +1 @@\n-x = 1\n+x = 2');
    expect(cellChangeDiff(cell('added', null, 0))).toBe('+x = 2');
    expect(cellChangeDiff(cell('removed', 0, null))).toBe('-x = 1');
  });

  it('classifies unified diff lines', () => {
    expect(['--- a', '+++ b', '@@ -1 +1 @@', '-lr = 0.1', '+lr = 0.3', ' x = 1'].map(diffLineKind)).toEqual([
      'header',
      'header',
      'hunk',
      'removed',
      'added',
      'context'
    ]);
  });

  it('marks the best metric only when there is something to compare', () => {
    const row = { key: 'auc', values: [0.8, 0.9], deltas: [0, 0.1], best: 1, goal: 'max' as const };
    expect([isBest(row, 0), isBest(row, 1)]).toEqual([false, true]);
    expect(isBest({ ...row, values: [0.8, null] , best: 0 }, 0)).toBe(false);
  });

  it('filters params to differences', () => {
    const rows = [
      { key: 'lr', values: [0.1, 0.3], differs: true },
      { key: 'seed', values: [0, 0], differs: false }
    ];
    expect(paramRows(rows, true).map(r => r.key)).toEqual(['lr']);
    expect(paramRows(rows, false)).toHaveLength(2);
  });
});

describe('table helpers', () => {
  it('sorts text ascending and numbers descending first, then flips', () => {
    expect(nextSort({ key: 'start_time', desc: true }, 'name')).toEqual({ key: 'name', desc: false });
    expect(nextSort({ key: 'name', desc: false }, 'metrics.auc')).toEqual({ key: 'metrics.auc', desc: true });
    expect(nextSort({ key: 'metrics.auc', desc: true }, 'metrics.auc')).toEqual({ key: 'metrics.auc', desc: false });
  });

  it('computes the virtual window and its pages', () => {
    expect(visibleRange(0, 260, 26, 10000, 5)).toEqual([0, 16]);
    expect(visibleRange(26 * 5000, 260, 26, 10000, 5)).toEqual([4995, 5016]);
    expect(visibleRange(26 * 9999, 260, 26, 10000, 5)[1]).toBe(10000);
    expect(pagesFor(95, 205, 100)).toEqual([0, 1, 2]);
    expect(pagesFor(0, 0, 100)).toEqual([]);
  });

  it('formats values and durations', () => {
    expect(formatValue(0.123456)).toBe('0.1235');
    expect(formatValue(3)).toBe('3');
    expect(formatValue(null)).toBe('—');
    expect(formatValue({ a: 1 })).toBe('{"a":1}');
    expect(formatDuration(4.21)).toBe('4.2s');
    expect(formatDuration(185)).toBe('3m 05s');
    expect(formatDuration(3720)).toBe('1h 02m');
    expect(formatDuration(null)).toBe('');
  });

  it('parses tags and picks default metric columns', () => {
    expect(parseTags(' a, b  a,,c ')).toEqual(['a', 'b', 'c']);
    const runs = [run('1', { metrics: { auc: 1, loss: 2 } }), run('2', { metrics: { auc: 1 } })];
    expect(defaultMetricKeys(runs, 1)).toEqual(['auc']);
  });
});

describe('chart sizing', () => {
  it('fits a fixed-width server spec to its host in the compare view, legend and axes included', () => {
    const spec = { width: 400, height: 240, mark: 'line' };
    expect(fitToHost(spec, 538)).toEqual({
      width: 500,
      height: 240,
      mark: 'line',
      autosize: { type: 'fit-x', contains: 'padding' }
    });
    expect(spec.width).toBe(400);
    expect((fitToHost(spec, 20) as any).width).toBe(120);
  });
});

describe('run warnings', () => {
  it('words raised flags and dropped points; absent logging_errors counts as none', () => {
    expect(runWarnings({ flags: { out_of_order: true, cells_rerun: false } })).toEqual(['executed out of order']);
    expect(runWarnings({ flags: {}, logging_errors: 1 })).toEqual(['1 point could not be stored']);
    expect(runWarnings({ flags: { some_new_flag: true }, logging_errors: 0 })).toEqual(['some new flag']);
    expect(runWarnings({ flags: {} })).toEqual([]);
    const cells = { out_of_order: [4, 2, 5], cells_rerun: [3], edited_after_run: [] };
    expect(runWarnings({ flags: { out_of_order: true, cells_rerun: true, edited_after_run: true }, flag_cells: cells }))
      .toEqual(['executed out of order: cells 4, 2, 5', 'cells edited after they ran', 'cells run more than once: cell 3']);
    expect(runWarnings({ flags: { kernel_restarted: true, out_of_order: true } })).toEqual([
      'executed out of order',
      'kernel restarted during the run'
    ]);
  });
});

describe('runs with the same name', () => {
  it('finds shared names and labels those runs with a short id, as the server charts do', () => {
    const runs = [
      { id: 'aaaa1111xx', name: 'classifier' },
      { id: 'bbbb2222yy', name: 'classifier' },
      { id: 'cccc3333zz', name: 'mellow-yak-865' }
    ];
    expect(Array.from(sharedNames(runs))).toEqual(['classifier']);
    expect(Array.from(runLabels(runs).values())).toEqual([
      'classifier (aaaa1111)',
      'classifier (bbbb2222)',
      'mellow-yak-865'
    ]);
  });
});

describe('params as given', () => {
  it('keeps the .0 of a whole float the server wrote, and never rounds a param', () => {
    // What JSON.parse does with source-text access (Chromium 114+): the reviver sees each number's text.
    const params: Record<string, unknown> = { C: 1, n: 3, alpha: 0.0001 };
    rememberWholeFloats.call(params, 'C', 1, { source: '1.0' });
    rememberWholeFloats.call(params, 'n', 3, { source: '3' });
    rememberWholeFloats.call(params, 'alpha', 0.0001, { source: '0.0001' });
    expect(writtenAsFloat(params, 'C')).toBe(true);
    expect(writtenAsFloat(params, 'n')).toBe(false);
    expect(formatParam(params.C, writtenAsFloat(params, 'C'))).toBe('1.0');
    expect(formatParam(params.n, writtenAsFloat(params, 'n'))).toBe('3');
    expect(formatParam(params.alpha)).toBe('0.0001');
    expect(formatParam(0.123456789)).toBe('0.123456789');
    expect(formatParam('adam')).toBe('adam');
  });

  it('remembers nothing where the runtime gives the reviver no source text', () => {
    const parsed = JSON.parse('{"params": {"C": 1.0}}', rememberWholeFloats as any);
    expect(parsed.params.C).toBe(1);
  });
});

describe('issue 9 sidebar helpers', () => {
  it('writes sizes in the SI units of the CLI (13.3 kB, not 12.9 KB)', () => {
    expect(formatBytes(13_300)).toBe('13.3 kB');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(2_500_000)).toBe('2.5 MB');
  });

  it('finds a notebook under the relative and the absolute path', () => {
    expect(notebookPathForms('sub/train.ipynb', '/srv/proj/')).toEqual(['sub/train.ipynb', '/srv/proj/sub/train.ipynb']);
    expect(notebookPathForms('train.ipynb', '')).toEqual(['train.ipynb']);
    expect(notebookPathForms('train.ipynb', 'C:\\work')).toEqual(['train.ipynb', 'C:/work/train.ipynb']);
    expect(runningFilter('a.ipynb', '/r')).toBe('status = running and notebook_path in ("a.ipynb", "/r/a.ipynb")');
  });

  it('says how long ago a run started in a few characters', () => {
    expect(formatAge(1000, 1030)).toBe('30s');
    expect(formatAge(1000, 1000 + 5 * 60)).toBe('5m');
    expect(formatAge(1000, 1000 + 3 * 3600)).toBe('3h');
    expect(formatAge(1000, 1000 + 2 * 86400)).toBe('2d');
  });

  it('sees a new or finished run in the newest-run signature', () => {
    const a = headSignature({ total: 1, runs: [run('a', { status: 'running', end_time: null })] });
    expect(headSignature({ total: 1, runs: [run('a', { status: 'finished' })] })).not.toBe(a);
    expect(headSignature({ total: 2, runs: [run('b')] })).not.toBe(a);
    expect(headSignature({ total: 0, runs: [] })).toBe('0|');
  });

  it('recognises cells that track', () => {
    expect(isTrackingCell('%load_ext jupyter_mlops\n%track start')).toBe(true);
    expect(isTrackingCell('%%track metrics\nacc = 1')).toBe(true);
    expect(isTrackingCell('mlops.log_metric("a", 1)')).toBe(true);
    expect(isTrackingCell('x = 1  # no tracking')).toBe(false);
  });

  it('titles a compare tab by its runs', () => {
    expect(compareTitle([run('a1', { name: 'base' }), run('b1', { name: 'wide' })])).toBe('base vs wide');
    expect(compareTitle([run('aaaaaaaa1', { name: 'c' }), run('bbbbbbbb2', { name: 'c' })])).toBe(
      'c (aaaaaaaa) vs c (bbbbbbbb)'
    );
    const many = ['a', 'b', 'c', 'd', 'e'].map(n => run(n, { name: n }));
    expect(compareTitle(many)).toBe('a vs b +3 more');
  });
});

describe('compare and details readability (issue 9, item 25 and the small points)', () => {
  it('does not crown the baseline when metrics tie', () => {
    const tie = { key: 'auc', values: [0.9, 0.9], deltas: [0, 0], best: 0, goal: 'max' as const };
    expect([isBest(tie, 0), isBest(tie, 1)]).toEqual([false, false]);
    const twoBest = { key: 'auc', values: [0.9, 0.8, 0.9], deltas: [0, -0.1, 0], best: 0, goal: 'max' as const };
    expect([0, 1, 2].map(i => isBest(twoBest, i))).toEqual([true, false, true]);
  });

  it('writes the environment in words, not JSON', () => {
    const rows = environmentRows({
      python: { version: '3.11.4', implementation: 'CPython', executable: '/venv/bin/python' },
      platform: { system: 'Linux', release: '6.1.0', machine: 'x86_64', platform: 'Linux-6.1.0' },
      cpu: { model: 'Xeon', count: 8 },
      ram: { total: 16_800_000_000 },
      gpus: [],
      packages: { numpy: '2.0.0', pandas: '2.2.0' }
    });
    expect(rows).toEqual([
      ['Python', '3.11.4 (CPython)'],
      ['Interpreter', '/venv/bin/python'],
      ['Platform', 'Linux 6.1.0 x86_64'],
      ['CPU', '8 × Xeon'],
      ['RAM', '16.8 GB'],
      ['Packages', '2']
    ]);
    expect(rows.some(([, v]) => v.includes('{'))).toBe(false);
  });
});
