import { requestAPI } from '../handler';
import { RunsModel } from '../model';
import { Mlops } from '../tokens';
import { page, run } from './payloads';

jest.mock('../handler', () => ({ requestAPI: jest.fn() }));
const request = requestAPI as jest.MockedFunction<typeof requestAPI>;

/** Answer `runs?...` from a table of 1,000 runs, honouring limit/offset like the server. */
function serveRuns(total = 1000): void {
  request.mockImplementation(async (endPoint = "") => {
    const query = new URLSearchParams(endPoint.split('?')[1]);
    return page(Number(query.get('offset')), Number(query.get('limit')), total) as any;
  });
}

describe('RunsModel paging', () => {
  beforeEach(() => request.mockReset());

  it('loads only the pages a row window needs', async () => {
    serveRuns();
    const model = new RunsModel({ pageSize: 100 });
    await model.refresh();
    expect(model.total).toBe(1000);
    expect(model.rowAt(150)).toBeUndefined();
    await model.ensureRange(150, 260);
    expect(model.rowAt(150)?.id).toBe('150');
    expect(model.rowAt(299)?.id).toBe('299');
    expect(model.rowAt(300)).toBeUndefined();
    const offsets = request.mock.calls.map(c => new URLSearchParams(c[0]!.split('?')[1]).get('offset'));
    expect(offsets).toEqual(['0', '100', '200']);
  });

  it('sends filter and sort, and resets pages when they change', async () => {
    serveRuns();
    const model = new RunsModel({ pageSize: 50 });
    await model.ensureRange(0, 10);
    await model.ensureRange(500, 510);
    expect(await model.setFilter('  metrics.auc > 0.8 ')).toBe(true);
    await model.setSort({ key: 'metrics.auc', desc: true });
    const last = new URLSearchParams(request.mock.calls[request.mock.calls.length - 1][0]!.split('?')[1]);
    expect(last.get('filter')).toBe('metrics.auc > 0.8');
    expect(last.get('sort')).toBe('-metrics.auc');
    expect(model.rowAt(500)).toBeUndefined();
  });

  it('keeps the old rows and reports the position when the server rejects a filter', async () => {
    serveRuns(3);
    const model = new RunsModel();
    await model.refresh();
    request.mockRejectedValueOnce(new Mlops.ResponseError('invalid filter: unexpected >', 400, 'INVALID_FILTER', 10));
    expect(await model.setFilter('params.lr >>> 1')).toBe(false);
    expect(model.error?.code).toBe('INVALID_FILTER');
    expect(model.error?.position).toBe(10);
    expect(model.filter).toBe('');
    expect(model.rowAt(2)?.id).toBe('2');
  });

  it('drops a page that arrives after the filter changed', async () => {
    let release: (value: any) => void = () => undefined;
    request.mockImplementationOnce(() => new Promise(resolve => (release = resolve)));
    const model = new RunsModel({ pageSize: 10 });
    const stale = model.refresh();
    request.mockResolvedValueOnce({ runs: [run('new')], total: 1, offset: 0, limit: 10 } as any);
    await model.setFilter('tag = "x"');
    release(page(0, 10, 10));
    await stale;
    expect(model.total).toBe(1);
    expect(model.rowAt(0)?.id).toBe('new');
  });
});

describe('RunsModel edits and selection', () => {
  beforeEach(() => request.mockReset());

  it('PATCHes a note and updates the cached row', async () => {
    serveRuns(2);
    const model = new RunsModel();
    await model.refresh();
    request.mockResolvedValueOnce({ run: run('1', { note: 'better' }) } as any);
    const updated = await model.patchRun('1', { note: 'better' });
    expect(updated.note).toBe('better');
    expect(request).toHaveBeenLastCalledWith('runs/1', { method: 'PATCH', body: '{"note":"better"}' });
    expect(model.findRun('1')?.note).toBe('better');
  });

  it('compares the selected runs oldest first', async () => {
    request.mockResolvedValueOnce({
      runs: [run('b', { start_time: 20 }), run('a', { start_time: 10 })],
      total: 2,
      offset: 0,
      limit: 100
    } as any);
    const model = new RunsModel();
    await model.refresh();
    model.toggleSelected('b');
    model.toggleSelected('a');
    expect(model.selectedForCompare()).toEqual(['a', 'b']);
    model.toggleSelected('a');
    expect(model.selectedForCompare()).toEqual(['b']);
  });

  it('asks for the running run of a notebook with a quoted path', async () => {
    request.mockResolvedValue({ runs: [], total: 0, offset: 0, limit: 1 } as any);
    const model = new RunsModel();
    expect(await model.currentRun('dir/my "nb".ipynb')).toBeNull();
    const query = new URLSearchParams(request.mock.calls[0][0]!.split('?')[1]);
    expect(query.get('filter')).toBe('status = running and notebook_path in ("dir/my \\"nb\\".ipynb")');
  });

  it("finds a notebook's run stored with the kernel's absolute path (issue 9, item 24)", async () => {
    // The kernel stored /srv/proj/sub/train.ipynb; JupyterLab knows sub/train.ipynb under the root /srv/proj.
    const stored = run('abs', { status: 'running', notebook_path: '/srv/proj/sub/train.ipynb' });
    request.mockImplementation(async (endPoint = '') => {
      const filter = new URLSearchParams(endPoint.split('?')[1]).get('filter') ?? '';
      const hit = filter.includes('"/srv/proj/sub/train.ipynb"');
      return { runs: hit ? [stored] : [], total: hit ? 1 : 0, offset: 0, limit: 1 } as any;
    });
    const model = new RunsModel({ serverRoot: '/srv/proj/' });
    expect((await model.currentRun('sub/train.ipynb'))?.id).toBe('abs');
  });

  it("shows the notebook's latest run when none is running", async () => {
    request.mockImplementation(async (endPoint = '') => {
      const filter = new URLSearchParams(endPoint.split('?')[1]).get('filter') ?? '';
      const runs = filter.startsWith('status = running') ? [] : [run('done')];
      return { runs, total: runs.length, offset: 0, limit: 1 } as any;
    });
    expect((await new RunsModel().currentRun('train.ipynb'))?.id).toBe('done');
  });
});

describe('RunsModel live refresh', () => {
  beforeEach(() => {
    request.mockReset();
    jest.useFakeTimers();
  });
  afterEach(() => jest.useRealTimers());

  /** Serve one run whose status the test controls. */
  function serveOne(status: () => Mlops.IRun['status']): void {
    request.mockImplementation(
      async () => ({ runs: [run('1', { status: status() })], total: 1, offset: 0, limit: 100 }) as any
    );
  }

  it('refetches while a run is running and stops once every loaded run has ended', async () => {
    let status: Mlops.IRun['status'] = 'running';
    serveOne(() => status);
    const model = new RunsModel({ pageSize: 100, refreshInterval: 2 });
    await model.refresh();
    model.start();
    const calls = () => request.mock.calls.length;
    const before = calls();

    await jest.advanceTimersByTimeAsync(2000);
    expect(calls()).toBe(before + 1); // a running run: the list is live
    status = 'finished';
    await jest.advanceTimersByTimeAsync(2000);
    expect(model.rowAt(0)?.status).toBe('finished'); // the refresh picked up the status change
    const settled = calls();
    await jest.advanceTimersByTimeAsync(10000);
    expect(calls()).toBe(settled); // nothing can change any more: no polling
    model.dispose();
  });

  it('shows a run made elsewhere while the list is on screen, with one-row checks in between (item 23)', async () => {
    let runs: Mlops.IRun[] = [];
    request.mockImplementation(async (endPoint = '') => {
      const limit = Number(new URLSearchParams(endPoint.split('?')[1]).get('limit'));
      return { runs: runs.slice(0, limit), total: runs.length, offset: 0, limit } as any;
    });
    const model = new RunsModel({ pageSize: 100, refreshInterval: 2 });
    const view = {};
    model.setVisible(view, true);
    await model.refresh();
    model.start();
    expect(model.total).toBe(0);
    const limits = () => request.mock.calls.map(c => new URLSearchParams(c[0]!.split('?')[1]).get('limit'));

    const before = limits().length;
    await jest.advanceTimersByTimeAsync(2000);
    expect(limits().slice(before)).toEqual(['1']); // nothing new: one row asked for, no page
    runs = [run('new', { status: 'finished' })]; // a notebook started and finished a run
    await jest.advanceTimersByTimeAsync(2000);
    expect(model.total).toBe(1);
    expect(model.rowAt(0)?.id).toBe('new');

    model.setVisible(view, false); // hidden: no requests at all
    const hidden = limits().length;
    runs = [run('other'), ...runs];
    await jest.advanceTimersByTimeAsync(10000);
    expect(limits().length).toBe(hidden);
    model.dispose();
  });
});
