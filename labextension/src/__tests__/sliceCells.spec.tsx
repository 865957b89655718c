import * as React from 'react';
import { act } from 'react';

import { ISliceSource, SliceSourceContext } from '../components/SliceCells';
import { RunDetails } from '../components/RunDetails';
import {
  codeSources,
  deadEndCells,
  executionLabel,
  sliceNotebook,
  slicePath,
  sliceRows,
  sliceSummary
} from '../sliceCellsLogic';
import { mountPoint } from './dom';
import { run, sliceReport } from './payloads';

const HOSTILE = '<img src=x onerror="window.__pwned=1">';

describe('sliceCellsLogic', () => {
  it('asks for a metric of a run, both escaped', () => {
    expect(slicePath('ab/c', 'f1 score&x')).toBe('runs/ab%2Fc/slice?metric=f1%20score%26x');
  });

  it('lists the kept cells in order with their execution label, reasons and doubts', () => {
    const rows = sliceRows(sliceReport());
    expect(rows.map(r => [r.label, r.source])).toEqual([
      ['In [1]', 'factor = 3'],
      ['In [2]', '%track start'],
      ['In [6]', 'values = [1, 2, 3]'],
      ['In [7]', 'values.append(4)'],
      ['In [8]', "exec(''.join(['side', ' = 1']))"],
      ['In [9]', 'total = sum(values) * factor\n%track metric total=total']
    ]);
    expect(rows.map(r => r.unsure)).toEqual([[], [], [], [], ['`exec` of code built at run time'], []]);
    expect(rows.filter(r => r.target).map(r => r.label)).toEqual(['In [9]']);
    expect(rows.filter(r => r.parameters).map(r => r.label)).toEqual(['In [1]']);
    expect(rows[4].why).toBe('<run>, values');
    expect(executionLabel(null)).toBe('In [ ]');
  });

  it('says how many executed cells produced the value and how many are doubtful', () => {
    expect(sliceSummary(sliceReport())).toBe(
      '6 of 9 executed cells produced metric total; 1 kept because the analysis could not be sure'
    );
    expect(sliceSummary(sliceReport({ unsure: [], kind: 'variable', target: 'values', executed_cells: 1 }))).toBe(
      '6 of 1 executed cell produced variable values'
    );
  });

  it("opens the server's notebook, sources joined, and builds one from the emitted cells otherwise", () => {
    const report = sliceReport();
    const served = sliceNotebook(report);
    expect(codeSources(served)).toEqual(report.emitted.map(c => c.code));
    expect(served.metadata.kernelspec.name).toBe('python3');
    const lined = sliceReport({
      notebook: { ...report.notebook, cells: [{ cell_type: 'code', metadata: {}, source: ['a = 1\n', 'b = a'] }] }
    });
    expect(codeSources(sliceNotebook(lined))).toEqual(['a = 1\nb = a']);
    const built = sliceNotebook(sliceReport({ notebook: undefined as any }));
    expect(built.nbformat).toBe(4);
    expect(built.cells[0]).toMatchObject({ cell_type: 'markdown', source: report.title });
    expect(codeSources(built)).toEqual(report.emitted.map(c => c.code));
    expect(built.cells[1].metadata).toEqual({ tags: ['parameters'] });
  });
});

describe('Show producing cells in the run details', () => {
  const dom = mountPoint();

  function source(overrides: Partial<ISliceSource> = {}) {
    const calls: string[] = [];
    const opened: string[] = [];
    const value: ISliceSource = {
      fetch: async (id, metric) => {
        calls.push(`${id}:${metric}`);
        return sliceReport();
      },
      open: async report => {
        opened.push(report.target);
        return 'Untitled3.ipynb';
      },
      ...overrides
    };
    return { value, calls, opened };
  }

  function render(value: ISliceSource | null, metrics: Record<string, number> = { total: 30, auc: 0.9 }) {
    const detail = { run: run('r1', { metrics }), env: null, code: null } as any;
    act(() =>
      dom.root.render(
        <SliceSourceContext.Provider value={value}>
          <RunDetails detail={detail} onSave={async () => undefined} onClose={() => undefined} />
        </SliceSourceContext.Provider>
      )
    );
  }

  const button = (metric: string) =>
    dom.host.querySelector<HTMLButtonElement>(`.jp-Mlops-sliceMetric[data-metric="${metric}"] .jp-Mlops-sliceShow`)!;

  it('offers the action on every metric, and nowhere without a slice source', () => {
    render(source().value);
    expect(Array.from(dom.host.querySelectorAll('.jp-Mlops-sliceMetric')).map(e => e.getAttribute('data-metric'))).toEqual([
      'auc',
      'total'
    ]);
    expect(button('total').textContent).toBe('Show producing cells');
    render(null);
    expect(dom.host.querySelector('.jp-Mlops-sliceShow')).toBeNull();
  });

  it('fetches once, shows the cells as text with their doubts, and opens them as a notebook', async () => {
    const fetched: string[] = [];
    const { value, opened } = source({
      fetch: async (id, metric) => {
        fetched.push(`${id}:${metric}`);
        return sliceReport({ cells: [{ position: 8, execution_count: 9, cell_id: null, source: HOSTILE, why: [] }] });
      }
    });
    render(value);
    await act(async () => button('total').click());
    expect(fetched).toEqual(['r1:total']);
    expect(dom.host.querySelector('.jp-Mlops-sliceSource')!.textContent).toBe(HOSTILE);
    expect(dom.host.querySelector('img')).toBeNull();
    expect((window as any).__pwned).toBeUndefined();
    expect(dom.host.querySelector('.jp-Mlops-sliceCount')!.textContent).toBe('In [9]');
    await act(async () => button('total').click());
    expect(dom.host.querySelector('.jp-Mlops-sliceCells')).toBeNull();
    await act(async () => button('total').click());
    expect(fetched).toEqual(['r1:total']);
    await act(async () => dom.host.querySelector<HTMLButtonElement>('.jp-Mlops-sliceOpen')!.click());
    expect(opened).toEqual(['total']);
    expect(dom.host.querySelector('.jp-Mlops-sliceCells .jp-Mlops-saveStatus')!.textContent).toBe('Opened Untitled3.ipynb');
  });

  it('shows the unsure notes and the server error', async () => {
    render(source().value);
    await act(async () => button('total').click());
    expect(Array.from(dom.host.querySelectorAll('.jp-Mlops-sliceUnsure')).map(e => e.textContent)).toEqual([
      '⚠ kept, unsure: `exec` of code built at run time'
    ]);
    render(
      source({
        fetch: async () => {
          throw new Error("run r1 has no executed notebook cells to slice");
        }
      }).value
    );
    await act(async () => button('auc').click());
    expect(dom.host.querySelector('.jp-Mlops-sliceMetric[data-metric="auc"] .jp-Mlops-error')!.textContent).toBe(
      'run r1 has no executed notebook cells to slice'
    );
  });
});

describe('deadEndCells', () => {
  const cells = [
    { id: 'params', type: 'code' },
    { id: 'title', type: 'markdown' },
    { id: 'data', type: 'code' },
    { id: 'dead', type: 'code' },
    { id: 'score', type: 'code' },
    { id: 'never-ran', type: 'code' }
  ];
  const withIds = (ids: Array<string | null>) =>
    sliceReport({ cells: ids.map((id, i) => ({ position: i, execution_count: i + 1, cell_id: id, source: '', why: [] })) });

  it('marks the code cells that are in no slice of any metric', () => {
    expect(deadEndCells(cells, [withIds(['params', 'data']), withIds(['params', 'score'])])).toEqual([
      'dead',
      'never-ran'
    ]);
  });

  it('marks nothing without a slice, or when the kept cells carry no ids', () => {
    expect(deadEndCells(cells, [])).toEqual([]);
    expect(deadEndCells(cells, [null, withIds([null, null])])).toEqual([]);
  });
});
