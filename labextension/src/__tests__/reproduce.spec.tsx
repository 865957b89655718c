import * as React from 'react';
import { act } from 'react';

import { ReproducePanel } from '../components/ReproducePanel';
import { requestAPI } from '../handler';
import { RunsModel } from '../model';
import {
  isActive,
  jobPath,
  jobProblem,
  metricRows,
  progressFraction,
  progressText,
  reproducePath,
  Reproduce,
  verdictHeadline,
  verdictNotes,
  verdictValue
} from '../reproduceLogic';
import { IReproduceSource, useReproduction } from '../widgets/reproduction';
import { mountPoint } from './dom';

jest.mock('../handler', () => ({ requestAPI: jest.fn() }));
const request = requestAPI as jest.MockedFunction<typeof requestAPI>;

const HOSTILE = '<img src=x onerror="window.__pwned=1">';
const RUN = 'f'.repeat(32);
const NEW_RUN = 'e'.repeat(32);

function result(extra: Partial<Reproduce.IResult> = {}): Reproduce.IResult {
  return {
    run: RUN, mode: 'top-to-bottom', outcome: 'reproduced', exit_code: 0, reason: '', reproduction: NEW_RUN,
    overrides: {}, parameters: { seed: 7 }, caveats: [],
    verification: { data: [], env: { recorded: true, python: null, packages: [], differs: false }, git: {} },
    metrics: [
      { key: 'auc', original: 0.912345678901234, reproduced: 0.912345678901234, difference: 0, status: 'exact', tolerance: '1e-06' },
      { key: 'loss', original: 0.25, reproduced: 0.2500001, difference: 1e-7, status: 'within', tolerance: '1e-06' }
    ],
    ...extra
  };
}

function job(extra: Partial<Reproduce.IJob> = {}): Reproduce.IJob {
  return { id: 'a'.repeat(32), run: RUN, state: 'running', progress: null, result: null, error: null,
           created: 1_700_000_000, finished: null, cancel_requested: false, ...extra };
}

describe('reproduceLogic', () => {
  it('builds the REST paths with the ids encoded', () => {
    expect(reproducePath('abc')).toBe('runs/abc/reproduce');
    expect(reproducePath('../x')).toBe('runs/..%2Fx/reproduce');
    expect(jobPath('a/b')).toBe('jobs/a%2Fb');
  });

  it('tells active jobs from finished ones', () => {
    expect(['queued', 'running', 'done', 'failed', 'cancelled'].map(state => isActive({ state } as Reproduce.IJob)))
      .toEqual([true, true, false, false, false]);
    expect(isActive(null)).toBe(false);
  });

  it('words each phase, the cell of how many, and a pending cancel', () => {
    expect(progressText(job({ state: 'queued' }))).toBe('Queued…');
    expect(progressText(job())).toBe('Verifying data, environment and git…');
    expect(progressText(job({ progress: { phase: 'executing', cell: 0, cells: 7 } }))).toBe('Starting a fresh kernel…');
    expect(progressText(job({ progress: { phase: 'executing', cell: 3, cells: 7 } }))).toBe('Executing cell 3 of 7…');
    expect(progressText(job({ progress: { phase: 'executing', cell: 3, cells: 7 }, cancel_requested: true })))
      .toBe('Executing cell 3 of 7… (stopping after this cell…)');
    expect(progressText(job({ progress: { phase: 'judging', cell: null, cells: null } }))).toBe('Comparing metrics…');
  });

  it('fills the progress bar from verifying through each cell to judging', () => {
    const at = (cell: number) => progressFraction({ phase: 'executing', cell, cells: 4 });
    expect(progressFraction(null)).toBeCloseTo(0.05);
    expect([at(0), at(2), at(4)].map(x => Number(x.toFixed(3)))).toEqual([0.05, 0.5, 0.95]);
    expect(progressFraction({ phase: 'done', cell: null, cells: null })).toBe(1);
    expect(progressFraction({ phase: 'executing', cell: 9, cells: 4 })).toBe(at(4)); // never past the last cell
  });

  it('heads the verdict with the outcome, the mode and a tone', () => {
    expect(verdictHeadline(result())).toEqual({ text: 'Reproduced (top to bottom)', tone: 'good' });
    expect(verdictHeadline(result({ outcome: 'diverged', mode: 'as-executed' })))
      .toEqual({ text: 'Diverged (replaying the recorded cell sequence)', tone: 'bad' });
    expect(verdictHeadline(result({ outcome: 'compared' })).tone).toBe('neutral');
    expect(verdictHeadline(result({ outcome: 'refused' })).text).toBe('Refused: could not run');
  });

  it('shows metric values with 12 significant digits, so a tiny drift is visible', () => {
    expect(verdictValue(0.912345678901234)).toBe('0.912345678901');
    expect(verdictValue(0.2500001)).toBe('0.2500001');
    expect(verdictValue(3)).toBe('3');
    expect(verdictValue(null)).toBe('—');
    expect(verdictValue(1.5e-7)).toBe('1.5e-7');
    expect(metricRows(result()).map(r => [r.key, r.original, r.reproduced, r.status])).toEqual([
      ['auc', '0.912345678901', '0.912345678901', 'exact'],
      ['loss', '0.25', '0.2500001', 'within 1e-06']
    ]);
  });

  it('lists the reason and the caveats, and what a job without a verdict says', () => {
    expect(verdictNotes(result({ reason: 'data changed', caveats: ['parameters overridden: lr'] })))
      .toEqual(['data changed', 'parameters overridden: lr']);
    expect(jobProblem(job({ state: 'failed', error: { code: 'INVALID_INPUT', message: '--param x: no' } })))
      .toBe('--param x: no');
    expect(jobProblem(job({ state: 'cancelled' }))).toBe('Cancelled before the notebook ran.');
    expect(jobProblem(job({ state: 'done', result: result() }))).toBeNull();
  });
});

describe('RunsModel reproduce requests', () => {
  beforeEach(() => request.mockReset());

  it('POSTs the options, polls and cancels the job through the one request function', async () => {
    request.mockResolvedValue({ job: job() } as any);
    const model = new RunsModel();
    expect((await model.reproduce(RUN, { as_executed: true, allow_changed_data: false })).id).toBe('a'.repeat(32));
    await model.getJob('a'.repeat(32));
    await model.cancelJob('a'.repeat(32));
    expect(request.mock.calls).toEqual([
      [`runs/${RUN}/reproduce`, { method: 'POST', body: JSON.stringify({ as_executed: true, allow_changed_data: false }) }],
      [`jobs/${'a'.repeat(32)}`],
      [`jobs/${'a'.repeat(32)}`, { method: 'DELETE' }]
    ]);
  });
});

describe('ReproducePanel', () => {
  const dom = mountPoint();
  const noop = () => undefined;

  function render(props: Partial<React.ComponentProps<typeof ReproducePanel>>): void {
    act(() =>
      dom.root.render(
        <ReproducePanel job={null} error={null} onStart={noop} onCancel={noop} onOpenRun={noop} {...props} />
      )
    );
  }

  it('starts with the chosen options', () => {
    const starts: Reproduce.IOptions[] = [];
    render({ onStart: options => starts.push(options) });
    const boxes = dom.host.querySelectorAll<HTMLInputElement>('input[type=checkbox]');
    act(() => boxes[1].click());
    act(() => dom.host.querySelector<HTMLButtonElement>('.jp-Mlops-reproduceButton')!.click());
    expect(starts).toEqual([{ as_executed: false, allow_changed_data: true }]);
  });

  it('disables Reproduce and shows the progress while the job runs', () => {
    const cancels: number[] = [];
    render({ job: job({ progress: { phase: 'executing', cell: 2, cells: 5 } }), onCancel: () => cancels.push(1) });
    expect(dom.host.querySelector<HTMLButtonElement>('.jp-Mlops-reproduceButton')!.disabled).toBe(true);
    expect(dom.host.querySelector('[role=status]')!.textContent).toBe('Executing cell 2 of 5…');
    expect(dom.host.querySelector('progress')!.getAttribute('value')).toBe(String(0.05 + 0.9 * 0.4));
    act(() => dom.host.querySelector<HTMLButtonElement>('.jp-Mlops-cancelReproduce')!.click());
    expect(cancels).toEqual([1]);
    expect(dom.host.querySelector('.jp-Mlops-verdict')).toBeNull();
  });

  it('shows the verdict, its metric rows and opens the new run; hostile text stays text', () => {
    const opened: string[] = [];
    render({
      job: job({ state: 'done', result: result({ caveats: [HOSTILE], metrics: [...result().metrics, {
        key: HOSTILE, original: 1, reproduced: null, difference: null, status: 'missing', tolerance: null }] }) }),
      onOpenRun: id => opened.push(id)
    });
    expect(dom.host.querySelector<HTMLButtonElement>('.jp-Mlops-reproduceButton')!.disabled).toBe(false);
    expect(dom.host.querySelector('.jp-Mlops-verdictHeadline')!.textContent).toBe('Reproduced (top to bottom)');
    const rows = Array.from(dom.host.querySelectorAll('.jp-Mlops-verdictMetrics tbody tr')).map(tr =>
      Array.from(tr.children).map(cell => cell.textContent)
    );
    expect(rows).toEqual([
      ['auc', '0.912345678901', '0.912345678901', 'exact'],
      ['loss', '0.25', '0.2500001', 'within 1e-06'],
      [HOSTILE, '1', '—', 'missing']
    ]);
    expect(dom.host.querySelector('.jp-Mlops-verdictNotes')!.textContent).toBe(HOSTILE);
    expect(dom.host.querySelector('img')).toBeNull();
    act(() => dom.host.querySelector<HTMLButtonElement>('.jp-Mlops-openReproduction')!.click());
    expect(opened).toEqual([NEW_RUN]);
  });

  it('says why a job has no verdict, and shows a request error', () => {
    render({ job: job({ state: 'failed', error: { code: 'INVALID_INPUT', message: '--param x: not a parameter' } }),
             error: 'run ffffffff is already being reproduced' });
    const errors = Array.from(dom.host.querySelectorAll('.jp-Mlops-error')).map(e => e.textContent);
    expect(errors).toEqual(['run ffffffff is already being reproduced', '--param x: not a parameter']);
  });
});

describe('useReproduction', () => {
  const dom = mountPoint();
  let latest: ReturnType<typeof useReproduction>;
  const finished: Reproduce.IJob[] = [];

  function Harness(props: { source: IReproduceSource; runId: string | null }): null {
    latest = useReproduction(props.source, props.runId, j => finished.push(j), 1000);
    return null;
  }

  beforeEach(() => {
    jest.useFakeTimers();
    finished.length = 0;
  });
  afterEach(() => jest.useRealTimers());

  async function flush(): Promise<void> {
    await act(async () => {
      await Promise.resolve();
      await Promise.resolve();
    });
  }

  it('polls a started job until it is done, then stops and reports it once', async () => {
    const replies = [job({ progress: { phase: 'executing', cell: 1, cells: 2 } }), job({ state: 'done', result: result() })];
    const source: IReproduceSource = {
      start: jest.fn(async () => job({ state: 'queued' })),
      get: jest.fn(async () => replies.shift()!),
      cancel: jest.fn()
    };
    act(() => dom.root.render(<Harness source={source} runId={RUN} />));
    act(() => latest.start({ as_executed: false, allow_changed_data: false }));
    await flush();
    expect(latest.job?.state).toBe('queued');
    await act(async () => jest.advanceTimersByTime(1000));
    await flush();
    expect(latest.job?.progress?.cell).toBe(1);
    await act(async () => jest.advanceTimersByTime(1000));
    await flush();
    expect(latest.job?.state).toBe('done');
    await act(async () => jest.advanceTimersByTime(5000));
    expect(source.get).toHaveBeenCalledTimes(2);
    expect(finished.map(j => j.state)).toEqual(['done']);
  });

  it('keeps each run its own job and error', async () => {
    const source: IReproduceSource = {
      start: jest.fn(async () => {
        throw new Error('run is already being reproduced');
      }),
      get: jest.fn(),
      cancel: jest.fn()
    };
    act(() => dom.root.render(<Harness source={source} runId={RUN} />));
    act(() => latest.start({ as_executed: false, allow_changed_data: false }));
    await flush();
    expect(latest.error).toBe('run is already being reproduced');
    act(() => dom.root.render(<Harness source={source} runId={NEW_RUN} />));
    expect(latest.error).toBeNull();
    expect(latest.job).toBeNull();
  });

  it('stops polling a job the server no longer knows, saying why', async () => {
    const source: IReproduceSource = {
      start: jest.fn(async () => job()),
      get: jest.fn(async () => {
        throw new Error("no job 'aaaa'");
      }),
      cancel: jest.fn()
    };
    act(() => dom.root.render(<Harness source={source} runId={RUN} />));
    act(() => latest.start({ as_executed: false, allow_changed_data: false }));
    await flush();
    await act(async () => jest.advanceTimersByTime(1000));
    await flush();
    expect(latest.job?.state).toBe('failed');
    expect(latest.job?.error?.message).toBe("no job 'aaaa'");
    await act(async () => jest.advanceTimersByTime(5000));
    expect(source.get).toHaveBeenCalledTimes(1);
  });
});
