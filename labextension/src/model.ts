import { ISignal, Signal } from '@lumino/signaling';

import { requestAPI } from './handler';
import { headSignature, ISort, keepNearPages, notebookFilter, pagesFor, sharedNames, sortParam } from './logic';
import { jobPath, reproducePath, Reproduce } from './reproduceLogic';
import { Mlops } from './tokens';

/**
 * State of the Experiments sidebar: filter, sort, a sparse cache of server pages, selection and polling.
 *
 * The table asks for a window of rows (`ensureRange`); the model fetches the missing pages (server-side paging),
 * so 10,000 runs cost one page per screenful. While any loaded run is running, the loaded pages are refetched
 * every `refreshInterval` seconds. Every request goes through `requestAPI`; a response older than the latest
 * filter/sort change is dropped (generation counter).
 */
export class RunsModel {
  constructor(options: RunsModel.IOptions = {}) {
    this.pageSize = options.pageSize ?? 100;
    this.maxPages = options.maxPages ?? 20;
    this._refreshInterval = options.refreshInterval ?? 5;
    this._serverRoot = options.serverRoot ?? '';
  }

  readonly pageSize: number;

  /**
   * Pages kept in memory besides the first. Scrolling through 100,000 runs would otherwise keep every page seen,
   * and the live refresh re-requests every kept page; the pages farthest from the current window go first and
   * are fetched again if the user scrolls back (issue 13).
   */
  readonly maxPages: number;

  /** Emitted after any state change the views show. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emitted when a run should be brought into view (the "Open run in Experiments" command). */
  get focusRequested(): ISignal<this, string> {
    return this._focusRequested;
  }

  get filter(): string {
    return this._filter;
  }
  get sort(): ISort {
    return this._sort;
  }
  get total(): number {
    return this._total;
  }
  get loading(): boolean {
    return this._pending.size > 0;
  }
  /** The last failure (filter errors included), or null. */
  get error(): Mlops.ResponseError | null {
    return this._error;
  }
  get selection(): ReadonlySet<string> {
    return this._selection;
  }
  get activeId(): string | null {
    return this._activeId;
  }
  get keyMetrics(): string[] {
    return this._keyMetrics;
  }
  set keyMetrics(keys: string[]) {
    this._keyMetrics = keys;
    this._changed.emit();
  }
  get refreshInterval(): number {
    return this._refreshInterval;
  }
  set refreshInterval(seconds: number) {
    this._refreshInterval = seconds;
    this._restartPolling();
  }

  /** The run at a row index, or undefined while its page is loading. */
  rowAt(index: number): Mlops.IRun | undefined {
    return this._pages.get(Math.floor(index / this.pageSize))?.[index % this.pageSize];
  }

  /** Names carried by more than one loaded run: the table shows a short id beside them. */
  sharedNames(): Set<string> {
    return sharedNames(Array.from(this._pages.values()).flat());
  }

  /** A loaded run by id. */
  findRun(id: string): Mlops.IRun | undefined {
    for (const page of this._pages.values()) {
      const run = page.find(r => r.id === id);
      if (run) {
        return run;
      }
    }
    return undefined;
  }

  /**
   * Apply a filter; resolves true when the server accepted it, false (and `error` set) when it did not.
   * A rejected filter keeps the rows of the previous one.
   */
  async setFilter(text: string): Promise<boolean> {
    const trimmed = text.trim();
    try {
      const page = await this._fetchPage(0, trimmed, this._sort);
      this._filter = trimmed;
      this._reset(page);
      return true;
    } catch (error) {
      this._fail(error);
      return false;
    }
  }

  /** Sort by a column (see `nextSort`) and reload from the first page. */
  async setSort(sort: ISort): Promise<void> {
    try {
      const page = await this._fetchPage(0, this._filter, sort);
      this._sort = sort;
      this._reset(page);
    } catch (error) {
      this._fail(error);
    }
  }

  /** Make sure rows `[start, end)` are loaded (or loading). */
  async ensureRange(start: number, end: number): Promise<void> {
    const window = pagesFor(start, Math.min(end, this._total), this.pageSize);
    const wanted = window.filter(p => !this._pages.has(p) && !this._pending.has(p));
    await Promise.all(wanted.map(p => this._loadPage(p)));
    if (window.length) {
      this._pages = keepNearPages(this._pages, window[0], window[window.length - 1], this.maxPages);
    }
  }

  /** Reload every loaded page (keeps the scroll position; picks up new runs and status changes). */
  async refresh(): Promise<void> {
    const pages = this._pages.size ? Array.from(this._pages.keys()) : [0];
    await Promise.all(pages.map(p => this._loadPage(p)));
  }

  /** Select or unselect a run for comparison. */
  toggleSelected(id: string): void {
    if (this._selection.has(id)) {
      this._selection.delete(id);
    } else {
      this._selection.add(id);
    }
    this._changed.emit();
  }

  /** The selected runs, oldest first (the oldest is the comparison's baseline). */
  selectedForCompare(): string[] {
    const start = (id: string) => this.findRun(id)?.start_time ?? Number.MAX_VALUE;
    return Array.from(this._selection).sort((a, b) => start(a) - start(b));
  }

  clearSelection(): void {
    this._selection.clear();
    this._changed.emit();
  }

  /** Show a run's details. */
  setActive(id: string | null): void {
    this._activeId = id;
    this._changed.emit();
  }

  /** Focus a run: make it active and ask the sidebar to show it. */
  focusRun(id: string): void {
    this.setActive(id);
    this._focusRequested.emit(id);
  }

  /** Fetch a run with its environment and code. @throws {Mlops.ResponseError} */
  getDetail(id: string): Promise<Mlops.IRunDetail> {
    return requestAPI<Mlops.IRunDetail>(`runs/${encodeURIComponent(id)}`);
  }

  /** Save tags/note/name and update the cached row. @throws {Mlops.ResponseError} */
  async patchRun(id: string, patch: Mlops.IRunPatch): Promise<Mlops.IRun> {
    const reply = await requestAPI<{ run: Mlops.IRun }>(`runs/${encodeURIComponent(id)}`, {
      method: 'PATCH',
      body: JSON.stringify(patch)
    });
    for (const page of this._pages.values()) {
      const at = page.findIndex(r => r.id === id);
      if (at >= 0) {
        page[at] = reply.run;
      }
    }
    this._changed.emit();
    return reply.run;
  }

  /**
   * Start reproducing a run in the background (`POST runs/{id}/reproduce`): the queued job, to poll with `getJob`.
   * @throws {Mlops.ResponseError} 404 unknown run, 400 bad options, 409 while this run is being reproduced
   */
  async reproduce(id: string, options: Reproduce.IOptions): Promise<Reproduce.IJob> {
    const reply = await requestAPI<{ job: Reproduce.IJob }>(reproducePath(id), {
      method: 'POST',
      body: JSON.stringify(options)
    });
    return reply.job;
  }

  /** A reproduction job's state, progress and (once done) verdict. @throws {Mlops.ResponseError} 404 when dropped */
  async getJob(jobId: string): Promise<Reproduce.IJob> {
    return (await requestAPI<{ job: Reproduce.IJob }>(jobPath(jobId))).job;
  }

  /** Cancel a job (a running one stops before its next cell). @throws {Mlops.ResponseError} 409 once finished */
  async cancelJob(jobId: string): Promise<Reproduce.IJob> {
    return (await requestAPI<{ job: Reproduce.IJob }>(jobPath(jobId), { method: 'DELETE' })).job;
  }

  /** Compare runs (the first is the baseline). @throws {Mlops.ResponseError} */
  compare(ids: string[]): Promise<Mlops.IComparison> {
    return requestAPI<Mlops.IComparison>(`compare?ids=${ids.map(encodeURIComponent).join(',')}`);
  }

  /** A sweep's runs as chart rows, the best first by `metric` (`KEY:max|min`). @throws {Mlops.ResponseError} */
  sweep(id: string, metric?: string): Promise<Mlops.ISweepTable> {
    const query = metric ? `?metric=${encodeURIComponent(metric)}` : '';
    return requestAPI<Mlops.ISweepTable>(`sweeps/${encodeURIComponent(id)}${query}`);
  }

  /** The artifacts of run `b` diffed against run `a`'s, with image PNGs (ADR-104). @throws {Mlops.ResponseError} */
  artifactDiff(a: string, b: string): Promise<Mlops.IArtifactDiffs> {
    return requestAPI<Mlops.IArtifactDiffs>(
      `artifact-diff?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}&images=1`
    );
  }

  /**
   * The run of a notebook the status bar shows: its running run, else its latest one; null when it has none.
   * `notebookPath` is JupyterLab's path (relative to the server root); runs stored with the kernel's absolute
   * path are found too (see `notebookPathForms`). @throws {Mlops.ResponseError}
   */
  async currentRun(notebookPath: string): Promise<Mlops.IRun | null> {
    const filter = notebookFilter(notebookPath, this._serverRoot);
    const query = (f: string) => `runs?filter=${encodeURIComponent(f)}&sort=-start_time&limit=1`;
    const running = await requestAPI<Mlops.IRunsPage>(query(`status = running and ${filter}`));
    if (running.runs[0]) {
      return running.runs[0];
    }
    const latest = await requestAPI<Mlops.IRunsPage>(query(filter));
    return latest.runs[0] ?? null;
  }

  /**
   * Whether a view of the list is on screen (the sidebar or the runs table). While one is, the model checks the
   * newest run every `refreshInterval` seconds (one row, see `headSignature`) and reloads when it changed.
   */
  setVisible(view: object, visible: boolean): void {
    if (visible) {
      this._visible.add(view);
    } else {
      this._visible.delete(view);
    }
  }

  /** One cheap look at the newest run under the current filter; reloads the loaded pages when it changed. */
  async checkForNew(): Promise<boolean> {
    const query = new URLSearchParams({ sort: '-start_time', limit: '1' });
    if (this._filter) {
      query.set('filter', this._filter);
    }
    const generation = this._generation;
    let signature: string;
    try {
      signature = headSignature(await requestAPI<Mlops.IRunsPage>(`runs?${query.toString()}`));
    } catch {
      return false; // the next full refresh reports the error
    }
    if (generation !== this._generation) {
      return false;
    }
    const changed = this._head !== null && signature !== this._head;
    this._head = signature;
    if (changed) {
      await this.refresh();
    }
    return changed;
  }

  /** Start polling (the sidebar calls this once it is shown). */
  start(): void {
    this._started = true;
    this._restartPolling();
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    this._disposed = true;
    window.clearInterval(this._timer);
    Signal.clearData(this);
  }

  private async _fetchPage(page: number, filter: string, sort: ISort): Promise<Mlops.IRunsPage> {
    const query = new URLSearchParams({
      sort: sortParam(sort),
      limit: String(this.pageSize),
      offset: String(page * this.pageSize)
    });
    if (filter) {
      query.set('filter', filter);
    }
    return requestAPI<Mlops.IRunsPage>(`runs?${query.toString()}`);
  }

  private async _loadPage(page: number): Promise<void> {
    const generation = this._generation;
    this._pending.add(page);
    try {
      const reply = await this._fetchPage(page, this._filter, this._sort);
      if (generation === this._generation) {
        if (page === 0) {
          this._noteHead(reply);
        }
        this._pages.set(page, reply.runs);
        this._total = reply.total;
        this._error = null;
      }
    } catch (error) {
      if (generation === this._generation) {
        this._fail(error);
      }
    } finally {
      this._pending.delete(page);
      this._changed.emit();
    }
  }

  private _reset(first: Mlops.IRunsPage): void {
    this._generation += 1;
    this._noteHead(first);
    this._pages = new Map([[0, first.runs]]);
    this._pending.clear();
    this._total = first.total;
    this._error = null;
    this._changed.emit();
  }

  /** The first page in the default order is also the newest-run look `checkForNew` compares against. */
  private _noteHead(first: Mlops.IRunsPage): void {
    const newestFirst = this._sort.key === 'start_time' && this._sort.desc;
    this._head = newestFirst ? headSignature(first) : null;
  }

  private _fail(error: unknown): void {
    this._error =
      error instanceof Mlops.ResponseError ? error : new Mlops.ResponseError(String(error), 0, 'CLIENT_ERROR');
    this._changed.emit();
  }

  private _hasRunning(): boolean {
    for (const page of this._pages.values()) {
      if (page.some(r => r.status === 'running')) {
        return true;
      }
    }
    return false;
  }

  private _restartPolling(): void {
    window.clearInterval(this._timer);
    if (!this._started || this._disposed || this._refreshInterval <= 0) {
      return;
    }
    this._timer = window.setInterval(() => {
      // Running rows change every few seconds: reload them. Otherwise a list on screen only asks for its newest
      // run (one row), so a run started and finished elsewhere shows up without costing a page per tick.
      if (this._hasRunning() || this._pages.size === 0) {
        void this.refresh();
      } else if (this._visible.size > 0) {
        void this.checkForNew();
      }
    }, this._refreshInterval * 1000);
  }

  private _changed = new Signal<this, void>(this);
  private _focusRequested = new Signal<this, string>(this);
  private _filter = '';
  private _sort: ISort = { key: 'start_time', desc: true };
  private _pages = new Map<number, Mlops.IRun[]>();
  private _pending = new Set<number>();
  private _generation = 0;
  private _total = 0;
  private _error: Mlops.ResponseError | null = null;
  private _selection = new Set<string>();
  private _activeId: string | null = null;
  private _keyMetrics: string[] = [];
  private _refreshInterval: number;
  private _timer = 0;
  private _started = false;
  private _disposed = false;
  private _serverRoot: string;
  private _visible = new Set<object>();
  private _head: string | null = null;
}

export namespace RunsModel {
  export interface IOptions {
    /** Rows per server page. */
    pageSize?: number;
    /** Pages kept besides the first (default 20); farther ones are dropped and refetched when scrolled back to. */
    maxPages?: number;
    /** Seconds between refreshes while runs are running (0 disables). */
    refreshInterval?: number;
    /** The server's root folder (page config `serverRoot`), to find runs stored with absolute notebook paths. */
    serverRoot?: string;
  }
}
