/**
 * The sweep charts' geometry as pure functions (ADR-111): which sweep the compared runs belong to, axes for the
 * params and the metric (numbers on a linear scale, anything else as evenly spaced categories), the
 * parallel-coordinates lines and the params-vs-metric scatter points, the best run marked. The components in
 * components/SweepCharts.tsx only turn these into SVG.
 */
import { Mlops } from './tokens';

/** Sweep tag prefix: a sweep's runs carry `sweep:<id>` (ADR-092). */
const SWEEP_PREFIX = 'sweep:';

/** The sweep every run belongs to (its `sweep:<id>` tag), or null when they are not all runs of one sweep. */
export function sweepOf(runs: Pick<Mlops.IRun, 'tags'>[]): string | null {
  let found: string | null = null;
  for (const run of runs) {
    const ids = run.tags.filter(t => t.startsWith(SWEEP_PREFIX)).map(t => t.slice(SWEEP_PREFIX.length));
    if (ids.length !== 1 || (found !== null && found !== ids[0])) {
      return null;
    }
    found = ids[0];
  }
  return found;
}

/** Metrics people minimise: `loss`, `val_loss`, `error`, `rmse`... (the goal the sweep view starts with). */
export function defaultGoal(key: string): 'max' | 'min' {
  return /loss|err|rmse|mse|mae|perplexity|time|latency/i.test(key) ? 'min' : 'max';
}

/** A numeric axis (min..max) or a categorical one (sorted distinct texts). */
export type Axis = { kind: 'linear'; min: number; max: number } | { kind: 'band'; categories: string[] };

/** A param value as a number when it is one (numbers and numeric texts), else null. */
export function asNumber(value: unknown): number | null {
  if (typeof value === 'number') {
    return Number.isFinite(value) ? value : null;
  }
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) {
    return Number(value);
  }
  return null;
}

/** The axis of these values: linear when every present value is a number, else categories in sorted order. */
export function axisOf(values: unknown[]): Axis {
  const present = values.filter(v => v !== undefined && v !== null);
  const numbers = present.map(asNumber);
  if (present.length > 0 && numbers.every(n => n !== null)) {
    const ns = numbers as number[];
    return { kind: 'linear', min: Math.min(...ns), max: Math.max(...ns) };
  }
  const categories = Array.from(new Set(present.map(v => String(v))));
  categories.sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  return { kind: 'band', categories };
}

/**
 * Where `value` falls along an axis of `length` pixels, as a fraction 0..1 times length: min (or the first
 * category) at 0, max (the last) at length; a one-value axis puts it in the middle. Null for a missing value.
 */
export function position(axis: Axis, value: unknown, length: number): number | null {
  if (value === undefined || value === null) {
    return null;
  }
  if (axis.kind === 'linear') {
    const n = asNumber(value);
    if (n === null) {
      return null;
    }
    return axis.max === axis.min ? length / 2 : ((n - axis.min) / (axis.max - axis.min)) * length;
  }
  const i = axis.categories.indexOf(String(value));
  if (i < 0) {
    return null;
  }
  return axis.categories.length === 1 ? length / 2 : (i / (axis.categories.length - 1)) * length;
}

/** The labels at an axis's ends and, for categories, every category: `[text, fraction 0..1]`. */
export function axisTicks(axis: Axis): [string, number][] {
  if (axis.kind === 'linear') {
    return axis.max === axis.min ? [[fmt(axis.min), 0.5]] : [[fmt(axis.min), 0], [fmt(axis.max), 1]];
  }
  const n = axis.categories.length;
  return axis.categories.map((c, i) => [c, n === 1 ? 0.5 : i / (n - 1)]);
}

function fmt(n: number): string {
  return Math.abs(n) >= 1e4 || (n !== 0 && Math.abs(n) < 1e-3) ? n.toExponential(2) : String(+n.toPrecision(4));
}

/** An SVG path through the points in order (`M x y L x y ...`), coordinates rounded to 0.1 px. */
export function linePath(points: [number, number][]): string {
  return points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${round(x)} ${round(y)}`).join(' ');
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** Chart box: the plot is inset by `pad` on every side. */
export interface IBox {
  width: number;
  height: number;
  pad: number;
}

/** One parallel-coordinates axis: its name, x position and scale. */
export interface IPcAxis {
  name: string;
  x: number;
  axis: Axis;
}

/** One run's line. */
export interface IPcLine {
  runId: string;
  name: string;
  d: string;
  value: number;
  best: boolean;
}

/**
 * Parallel coordinates: one vertical axis per varying param then the chosen metric (high values at the top),
 * one line per run that has the metric and every param; the best run's line is flagged (drawn last, on top).
 * `skipped` counts the runs left out for a missing value.
 */
export function parallelCoordinates(
  table: Mlops.ISweepTable,
  box: IBox
): { axes: IPcAxis[]; lines: IPcLine[]; skipped: number } {
  const metric = table.metric?.key ?? '';
  const names = [...table.params, metric];
  const step = names.length > 1 ? (box.width - 2 * box.pad) / (names.length - 1) : 0;
  const axes = names.map((name, i) => ({
    name,
    x: box.pad + i * step,
    axis: axisOf(table.rows.map(r => (i === names.length - 1 ? r.value : r.params[name])))
  }));
  const plot = box.height - 2 * box.pad;
  const lines: IPcLine[] = [];
  for (const row of table.rows) {
    if (row.value === null) {
      continue;
    }
    const points: [number, number][] = [];
    for (const [i, a] of axes.entries()) {
      const p = position(a.axis, i === axes.length - 1 ? row.value : row.params[a.name], plot);
      if (p === null) {
        break;
      }
      points.push([a.x, box.pad + plot - p]);
    }
    if (points.length === axes.length) {
      lines.push({ runId: row.run_id, name: row.name, d: linePath(points), value: row.value, best: false });
    }
  }
  markBest(lines, table.best);
  return { axes, lines, skipped: table.rows.length - lines.length };
}

/** One scatter point. */
export interface IScatterPoint {
  runId: string;
  name: string;
  cx: number;
  cy: number;
  x: unknown;
  value: number;
  best: boolean;
}

/**
 * Param `param` on x against the chosen metric on y (high at the top): one point per run that has both; the
 * best run's point flagged and drawn last. Also the two axes, for their labels.
 */
export function scatter(
  table: Mlops.ISweepTable,
  param: string,
  box: IBox
): { x: Axis; y: Axis; points: IScatterPoint[] } {
  const x = axisOf(table.rows.map(r => r.params[param]));
  const y = axisOf(table.rows.map(r => r.value));
  const w = box.width - 2 * box.pad;
  const h = box.height - 2 * box.pad;
  const points: IScatterPoint[] = [];
  for (const row of table.rows) {
    const px = position(x, row.params[param], w);
    const py = row.value === null ? null : position(y, row.value, h);
    if (px !== null && py !== null && row.value !== null) {
      points.push({
        runId: row.run_id,
        name: row.name,
        cx: round(box.pad + px),
        cy: round(box.pad + h - py),
        x: row.params[param],
        value: row.value,
        best: false
      });
    }
  }
  markBest(points, table.best);
  return { x, y, points };
}

/** Flag the best run's item and move it last, so SVG draws it on top of the others. */
function markBest<T extends { runId: string; best: boolean }>(items: T[], best: string | null): void {
  const i = items.findIndex(item => item.runId === best);
  if (i >= 0) {
    const [item] = items.splice(i, 1);
    item.best = true;
    items.push(item);
  }
}
