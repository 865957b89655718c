/**
 * Pure helpers behind the components: formatting, sorting, virtual-window arithmetic, diff highlighting.
 * No React and no JupyterLab imports, so they are unit-tested directly.
 */

import { Mlops } from './tokens';

/** A sort order on one column: a run field (`name`, `start_time`...) or `metrics.<key>` / `params.<key>`. */
export interface ISort {
  key: string;
  desc: boolean;
}

/** Columns the server can sort by (tags cannot). */
export const SORTABLE = new Set(['name', 'experiment', 'status', 'start_time', 'duration']);

/** Clicking a column header: a new column sorts descending for numbers/times, ascending for text; the same flips. */
export function nextSort(current: ISort, key: string): ISort {
  if (current.key === key) {
    return { key, desc: !current.desc };
  }
  const textual = key === 'name' || key === 'experiment' || key === 'status';
  return { key, desc: !textual };
}

/** The `sort` query argument: `-start_time`, `metrics.auc`... */
export function sortParam(sort: ISort): string {
  return `${sort.desc ? '-' : ''}${sort.key}`;
}

/** `"1h 02m"`, `"3m 05s"`, `"4.2s"`, or an empty string for unknown durations. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) {
    return '';
  }
  if (seconds < 60) {
    return `${seconds.toFixed(1)}s`;
  }
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}h ${pad(m)}m` : `${m}m ${pad(s % 60)}s`;
}

/** Epoch seconds as local `YYYY-MM-DD HH:MM`. */
export function formatTime(epoch: number | null | undefined): string {
  if (!epoch) {
    return '';
  }
  const d = new Date(epoch * 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A param or metric value for a table cell: numbers to 4 significant digits, objects as JSON. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) {
    return '—';
  }
  if (typeof value === 'number') {
    if (Number.isInteger(value)) {
      return String(value);
    }
    return Math.abs(value) >= 1e-3 && Math.abs(value) < 1e6 ? String(Number(value.toPrecision(4))) : value.toExponential(3);
  }
  if (typeof value === 'string') {
    return value;
  }
  return JSON.stringify(value);
}

/**
 * Bytes in SI units (`13.3 kB`, powers of 1000), exactly as the CLI and HTML report write them
 * (`jupyter_mlops.render.formatting.format_size`), so a size reads the same everywhere.
 */
export function formatBytes(size: number | null | undefined): string {
  if (size === null || size === undefined) {
    return '';
  }
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = size;
  for (const unit of units) {
    if (value < 1000 || unit === 'TB') {
      return unit === 'B' ? `${Math.trunc(value)} B` : `${value.toFixed(1)} ${unit}`;
    }
    value /= 1000;
  }
  return `${size} B`;
}

/** The rows a virtualised list must render: `[start, end)` with `overscan` extra rows on each side. */
export function visibleRange(
  scrollTop: number,
  viewportHeight: number,
  rowHeight: number,
  total: number,
  overscan = 10
): [number, number] {
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const count = Math.ceil(Math.max(0, viewportHeight) / rowHeight) + 1;
  return [Math.max(0, first - overscan), Math.min(total, first + count + overscan)];
}

/**
 * Loaded pages trimmed to at most `max` besides page 0 (the newest runs, which the new-run check compares),
 * dropping those farthest from the window `[first, last]` first; the map itself is returned when nothing goes.
 */
export function keepNearPages<T>(pages: Map<number, T>, first: number, last: number, max: number): Map<number, T> {
  const others = Array.from(pages.keys()).filter(p => p !== 0);
  if (others.length <= max) {
    return pages;
  }
  const distance = (p: number): number => (p < first ? first - p : p > last ? p - last : 0);
  const kept = new Set(others.sort((a, b) => distance(a) - distance(b) || a - b).slice(0, max));
  return new Map(Array.from(pages).filter(([p]) => p === 0 || kept.has(p)));
}

/** Page indexes covering rows `[start, end)`. */
export function pagesFor(start: number, end: number, pageSize: number): number[] {
  const pages: number[] = [];
  for (let p = Math.floor(start / pageSize); p * pageSize < end; p++) {
    pages.push(p);
  }
  return pages;
}

/** Params table rows: all of them, or only those whose values differ between the runs. */
export function paramRows(rows: Mlops.IParamRow[], onlyDifferences: boolean): Mlops.IParamRow[] {
  return onlyDifferences ? rows.filter(row => row.differs) : rows;
}

/** Heading of one changed executed cell: `executed cell 2 changed (was 1)`, `executed cell 3 added`. */
export function cellChangeHeading(cell: Mlops.ICellChange): string {
  if (cell.change === 'added') {
    return `executed cell ${cell.b_index} added`;
  }
  if (cell.change === 'removed') {
    return `executed cell ${cell.a_index} removed`;
  }
  const moved = cell.a_index !== cell.b_index ? ` (was ${cell.a_index})` : '';
  return `executed cell ${cell.b_index} changed${moved}`;
}

/** The unified diff shown for one cell change (an added or removed cell: all its lines, marked `+` or `-`). */
export function cellChangeDiff(cell: Mlops.ICellChange): string {
  if (cell.source_diff) {
    return cell.source_diff;
  }
  const source = cell.b_source ?? cell.a_source ?? '';
  const mark = cell.change === 'added' ? '+' : cell.change === 'removed' ? '-' : ' ';
  return source
    .split('\n')
    .map(line => mark + line)
    .join('\n');
}

/** CSS class of one line of a unified diff. */
export function diffLineKind(line: string): 'added' | 'removed' | 'hunk' | 'header' | 'context' {
  if (line.startsWith('+++') || line.startsWith('---')) {
    return 'header';
  }
  if (line.startsWith('@@')) {
    return 'hunk';
  }
  if (line.startsWith('+')) {
    return 'added';
  }
  if (line.startsWith('-')) {
    return 'removed';
  }
  return 'context';
}

/** Whether cell `index` of a metrics row holds its best value. */
export function isBest(row: Mlops.IMetricRow, index: number): boolean {
  // Ties: every run holding the best value is highlighted, and none when all are equal (the server's `best` is
  // the first of the tied, usually the baseline, which would read as the baseline winning).
  const present = row.values.filter((v): v is number => v !== null);
  if (row.best === null || row.best === undefined || present.length < 2) {
    return false;
  }
  const best = row.values[row.best];
  return best !== null && row.values[index] === best && present.some(v => v !== best);
}

/** A filter-language string literal: `"a \"b\""`. */
export function quote(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * The forms a notebook's path can be stored in: JupyterLab knows it relative to the server root
 * (`proj/train.ipynb`) while a kernel records the absolute file path (`/home/me/proj/train.ipynb`), and older
 * runs or other front ends may hold either. `serverRoot` is the page config's `serverRoot` (absolute, `/`
 * separated; empty when unknown).
 */
export function notebookPathForms(relativePath: string, serverRoot: string): string[] {
  const relative = relativePath.replace(/^\/+/, '');
  const root = serverRoot.replace(/\\/g, '/').replace(/\/+$/, '');
  const forms = [relative];
  if (root) {
    forms.push(`${root}/${relative}`);
  }
  return forms;
}

/** The filter that finds the runs of a notebook, whichever path form they were stored with. */
export function notebookFilter(relativePath: string, serverRoot: string): string {
  const forms = notebookPathForms(relativePath, serverRoot).map(quote);
  return `notebook_path in (${forms.join(', ')})`;
}

/** The filter that finds the running run of a notebook. */
export function runningFilter(relativePath: string, serverRoot = ''): string {
  return `status = running and ${notebookFilter(relativePath, serverRoot)}`;
}

/** `"12s"`, `"5m"`, `"3h"`, `"2d"`: how long ago a run started, short enough for the narrow sidebar. */
export function formatAge(epoch: number | null | undefined, now: number = Date.now() / 1000): string {
  if (!epoch) {
    return '';
  }
  const seconds = Math.max(0, now - epoch);
  if (seconds < 60) {
    return `${Math.floor(seconds)}s`;
  }
  if (seconds < 3600) {
    return `${Math.floor(seconds / 60)}m`;
  }
  if (seconds < 86400) {
    return `${Math.floor(seconds / 3600)}h`;
  }
  return `${Math.floor(seconds / 86400)}d`;
}

/**
 * What the cheap poll compares between two looks at the newest run: a new run, a run that finished, a removed
 * run or a changed filter result all change it. The full pages are only refetched when it changes.
 */
export function headSignature(page: Pick<Mlops.IRunsPage, 'total' | 'runs'>): string {
  const head = page.runs[0];
  return head ? `${page.total}|${head.id}|${head.status}|${head.end_time ?? ''}` : `${page.total}|`;
}

/** Whether a finished notebook cell may have started, stopped or logged to a run (then the lists refresh). */
export function isTrackingCell(source: string): boolean {
  return /(^|\n)\s*%{1,2}track\b|\bmlops\.|\bjupyter_mlops\b/.test(source);
}

/** Parse the tag editor's text (`"a, b c"`) into distinct tags. */
export function parseTags(text: string): string[] {
  return Array.from(new Set(text.split(/[\s,]+/).map(t => t.trim()).filter(t => t.length > 0)));
}

/** The state of the filter box: what is typed, what was applied, and the server's error for it. */
export interface IFilterState {
  draft: string;
  applied: string;
  error: string | null;
  position: number | null;
}

export type FilterAction =
  | { type: 'edit'; text: string }
  | { type: 'applied'; text: string }
  | { type: 'failed'; text: string; message: string; position: number | null }
  | { type: 'clear' };

/** Reducer of the filter box: editing keeps the error until the next apply; a success clears it. */
export function filterReducer(state: IFilterState, action: FilterAction): IFilterState {
  switch (action.type) {
    case 'edit':
      return { ...state, draft: action.text };
    case 'applied':
      return { draft: action.text, applied: action.text, error: null, position: null };
    case 'failed':
      return { ...state, draft: action.text, error: action.message, position: action.position };
    case 'clear':
      return { draft: '', applied: '', error: null, position: null };
  }
}

export const EMPTY_FILTER: IFilterState = { draft: '', applied: '', error: null, position: null };

/** Metric columns when the user chose none: the most common keys among the loaded runs (at most `max`). */
export function defaultMetricKeys(runs: Mlops.IRun[], max = 3): string[] {
  return commonKeys(runs.map(run => run.metrics), max);
}

/** Param columns of the full runs table: the most common param names among the loaded runs. */
export function defaultParamKeys(runs: Mlops.IRun[], max = 6): string[] {
  return commonKeys(runs.map(run => run.params), max);
}

function commonKeys(records: object[], max: number): string[] {
  const counts = new Map<string, number>();
  for (const record of records) {
    for (const key of Object.keys(record)) {
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return Array.from(counts.entries())
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, max)
    .map(([key]) => key);
}

/** Room vega-embed keeps right of a chart for its "..." actions button. */
export const CHART_ACTIONS_WIDTH = 38;

/**
 * A server-built Vega-Lite spec sized to its host in the compare view: axes and legend included, the chart
 * is as wide as the host (less the actions button). Specs come with a fixed pixel width, the only safe size in
 * notebook output; "container" would measure the host once and follow only window resizes, so a chart kept its
 * width when the sidebar was dragged and spilled over its neighbour. The view redraws on host resizes instead.
 */
export function fitToHost(spec: object, hostWidth: number): object {
  const width = Math.max(120, Math.floor(hostWidth) - CHART_ACTIONS_WIDTH);
  return { ...spec, width, autosize: { type: 'fit-x', contains: 'padding' } };
}

/** Each notebook-state flag in words, as the CLI and HTML report name them (see docs/magics.md). */
export const FLAG_WORDS: Record<string, string> = {
  out_of_order: 'executed out of order',
  edited_after_run: 'cells edited after they ran',
  kernel_restarted: 'kernel restarted during the run',
  cells_rerun: 'cells run more than once'
};

/**
 * Why a run's result may not be trusted, in words: its raised notebook-state flags, and the points and params
 * the writer could not store (`logging_errors`; absent from older servers, which counts as none).
 */
export function runWarnings(run: Pick<Mlops.IRun, 'flags' | 'logging_errors' | 'flag_cells'>): string[] {
  const flags = run.flags ?? {};
  const cells = run.flag_cells ?? {};
  // Known flags in their documented order (the stored order varies), then any flag a newer server adds.
  const order = [...Object.keys(FLAG_WORDS), ...Object.keys(flags).filter(f => !(f in FLAG_WORDS)).sort()];
  const warnings = order
    .filter(flag => flags[flag])
    .map(flag => (FLAG_WORDS[flag] ?? flag.replace(/_/g, ' ')) + cellList(cells[flag] ?? []));
  const dropped = run.logging_errors ?? 0;
  if (dropped > 0) {
    warnings.push(`${dropped} ${dropped === 1 ? 'point' : 'points'} could not be stored`);
  }
  return warnings;
}

/** `: cells 4, 2, 5` (at most 12 shown, as the CLI does), or nothing when no cell is known. */
function cellList(numbers: number[]): string {
  if (numbers.length === 0) {
    return '';
  }
  const shown = numbers.slice(0, MAX_CELLS_SHOWN).join(', ') + (numbers.length > MAX_CELLS_SHOWN ? ', …' : '');
  return `: ${numbers.length === 1 ? 'cell' : 'cells'} ${shown}`;
}

const MAX_CELLS_SHOWN = 12;

/** Names that more than one of these runs carry (two runs both named `classifier`). */
export function sharedNames(runs: Iterable<Pick<Mlops.IRun, 'name'>>): Set<string> {
  const seen = new Set<string>();
  const shared = new Set<string>();
  for (const run of runs) {
    (seen.has(run.name) ? shared : seen).add(run.name);
  }
  return shared;
}

/**
 * Display labels of compared runs: the name, plus the short id where names repeat (`classifier (3f2a9c1e)`),
 * the same labels the server's charts use (`jupyter_mlops.comparing.charts.run_labels`).
 */
export function runLabels(runs: Pick<Mlops.IRun, 'id' | 'name'>[]): Map<string, string> {
  const shared = sharedNames(runs);
  return new Map(runs.map(r => [r.id, shared.has(r.name) ? `${r.name} (${r.id.slice(0, 8)})` : r.name]));
}

/** Per JSON object or array: the keys whose number was written with a fraction or exponent but is whole (`1.0`). */
const wholeFloats = new WeakMap<object, Set<string>>();

/**
 * A `JSON.parse` reviver that remembers where the server wrote a whole number as a float (`"C": 1.0`), which
 * JavaScript otherwise reads as the integer 1. Needs the reviver's source-text context (Chromium 114+,
 * Firefox 135+); elsewhere nothing is remembered and such a param shows as `1`, as before.
 */
export function rememberWholeFloats(
  this: unknown,
  key: string,
  value: unknown,
  context?: { source?: string }
): unknown {
  if (typeof value === 'number' && Number.isInteger(value) && /[.eE]/.test(context?.source ?? '')) {
    const holder = this as object;
    let keys = wholeFloats.get(holder);
    if (!keys) {
      keys = new Set();
      wholeFloats.set(holder, keys);
    }
    keys.add(key);
  }
  return value;
}

/** Whether `holder[key]` was written as a float by the server (see {@link rememberWholeFloats}). */
export function writtenAsFloat(holder: object, key: string | number): boolean {
  return wholeFloats.get(holder)?.has(String(key)) ?? false;
}

/**
 * A param as it was given: numbers unrounded (`0.0001`, not `1.000e-4`), a whole float with its `.0`
 * (`C = 1.0` is not the integer setting `C = 1`). Metrics use {@link formatValue}.
 */
export function formatParam(value: unknown, wasFloat = false): string {
  if (typeof value === 'number' && isFinite(value)) {
    return Number.isInteger(value) && wasFloat ? value.toFixed(1) : String(value);
  }
  return formatValue(value);
}

/** A compare tab's title from its runs' labels: `classifier vs baseline`, `a vs b vs c`, `a vs b +3 more`. */
export function compareTitle(runs: Pick<Mlops.IRun, 'id' | 'name'>[]): string {
  const labels = Array.from(runLabels(runs).values());
  const shown = labels.slice(0, 3).join(' vs ');
  return labels.length > 3 ? `${labels.slice(0, 2).join(' vs ')} +${labels.length - 2} more` : shown;
}

/**
 * An environment snapshot (`jupyter_mlops.capture.env`) as labelled lines for run details, instead of raw JSON:
 * `Python 3.11.4 (CPython)`, `Platform Linux 6.1.0 x86_64`, `CPU 8 × Intel…`, `RAM 16.8 GB`, `Packages 143`.
 * Missing or oddly shaped parts are left out.
 */
export function environmentRows(env: Record<string, unknown> | null | undefined): [string, string][] {
  if (!env) {
    return [];
  }
  const obj = (value: unknown): Record<string, unknown> =>
    value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  const text = (...parts: unknown[]) =>
    parts
      .filter(p => p !== null && p !== undefined && p !== '')
      .map(String)
      .join(' ');
  const rows: [string, string][] = [];
  const python = obj(env.python);
  const version = typeof env.python === 'string' ? env.python : text(python.version);
  if (version) {
    rows.push(['Python', text(version, python.implementation ? `(${python.implementation})` : '')]);
  }
  if (python.executable) {
    rows.push(['Interpreter', String(python.executable)]);
  }
  const platform = obj(env.platform);
  const system = typeof env.platform === 'string' ? env.platform : text(platform.system, platform.release, platform.machine);
  if (system) {
    rows.push(['Platform', system]);
  }
  const cpu = obj(env.cpu);
  if (cpu.count || cpu.model) {
    rows.push(['CPU', text(cpu.count ? `${cpu.count} ×` : '', cpu.model)]);
  }
  const ram = obj(env.ram);
  if (typeof ram.total === 'number') {
    rows.push(['RAM', formatBytes(ram.total)]);
  }
  if (Array.isArray(env.gpus) && env.gpus.length) {
    rows.push(['GPUs', env.gpus.map(g => (typeof g === 'string' ? g : text(obj(g).name) || JSON.stringify(g))).join(', ')]);
  }
  rows.push(['Packages', String(Object.keys(obj(env.packages)).length)]);
  return rows;
}
