import * as React from 'react';

import {
  formatAge,
  formatDuration,
  formatParam,
  formatTime,
  formatValue,
  ISort,
  runWarnings,
  SORTABLE,
  visibleRange,
  writtenAsFloat
} from '../logic';
import { Mlops } from '../tokens';
import { LocalOnlyBadge } from './LocalOnlyBadge';

export const ROW_HEIGHT = 26;
const NO_NAMES: ReadonlySet<string> = new Set();

/** Props of the virtualised runs table. */
export interface IRunsTableProps {
  total: number;
  /** The run at a row index, undefined while its page loads. */
  rowAt: (index: number) => Mlops.IRun | undefined;
  keyMetrics: string[];
  /** Names more than one run carries: those rows show a short id beside the name. */
  sharedNames?: ReadonlySet<string>;
  sort: ISort;
  selection: ReadonlySet<string>;
  activeId: string | null;
  /** Row index to scroll into view (changes trigger a scroll). */
  scrollToIndex?: number | null;
  onSort: (key: string) => void;
  onToggleSelected: (id: string) => void;
  onActivate: (id: string) => void;
  /** The visible window changed: load rows `[start, end)`. */
  onRange: (start: number, end: number) => void;
  /**
   * The narrow sidebar list: status, name, age and the first key metric, fitted to ~250 px with the name taking
   * the rest. The full table (every column, `hidden` ones left out) is the main-area "Runs table".
   */
  compact?: boolean;
  /** Column keys the user chose to hide in the full table. */
  hidden?: ReadonlySet<string>;
  /** Param columns of the full table. */
  params?: string[];
}

export interface IColumn {
  key: string;
  label: string;
  width: number;
  /** Takes the row's remaining width (the compact list's name). */
  grow?: boolean;
  cell: (run: Mlops.IRun) => React.ReactNode;
}

const NO_KEYS: ReadonlySet<string> = new Set();

/** The narrow sidebar's columns: what matters in ~250 px (status, name, age, the key metric). */
export function compactColumns(keyMetrics: string[], shared: ReadonlySet<string>): IColumn[] {
  const all = columns(keyMetrics, shared);
  const pick = (key: string) => all.find(c => c.key === key) as IColumn;
  const metric = keyMetrics.length ? [{ ...pick(`metrics.${keyMetrics[0]}`), width: 64 }] : [];
  return [
    { ...pick('status'), width: 18 },
    {
      ...pick('name'),
      width: 64,
      grow: true,
      // The name may be cut with "…" here: the tooltip keeps it (and the short id of a shared name) readable.
      cell: run => <span title={`${run.name} (${run.id.slice(0, 8)})`}>{pick('name').cell(run)}</span>
    },
    {
      key: 'start_time',
      label: 'Age',
      width: 50,
      cell: run => <span title={formatTime(run.start_time)}>{formatAge(run.start_time)}</span>
    },
    ...metric
  ];
}

/** Every column the full table can show, in order; the user may hide any but the name. */
export function columns(keyMetrics: string[], shared: ReadonlySet<string>, params: string[] = []): IColumn[] {
  return [
    { key: 'status', label: '', width: 22, cell: run => <StatusDot status={run.status} /> },
    {
      key: 'name',
      label: 'Name',
      width: 140,
      cell: run => (
        <>
          <WarningBadge warnings={runWarnings(run)} />
          <LocalOnlyBadge run={run} />
          {run.name}
          {shared.has(run.name) && (
            <span className="jp-Mlops-shortId" title={run.id}>
              {' '}
              {run.id.slice(0, 8)}
            </span>
          )}
        </>
      )
    },
    { key: 'experiment', label: 'Experiment', width: 100, cell: run => run.experiment },
    { key: 'start_time', label: 'Started', width: 124, cell: run => formatTime(run.start_time) },
    { key: 'duration', label: 'Duration', width: 72, cell: run => formatDuration(run.duration) },
    ...keyMetrics.map(key => ({
      key: `metrics.${key}`,
      label: key,
      width: 80,
      cell: (run: Mlops.IRun) => formatValue(run.metrics[key])
    })),
    ...params.map(key => ({
      key: `params.${key}`,
      label: key,
      width: 80,
      cell: (run: Mlops.IRun) => formatParam(run.params[key], writtenAsFloat(run.params, key))
    })),
    {
      key: 'tags',
      label: 'Tags',
      width: 140,
      cell: run => run.tags.map(tag => <span key={tag} className="jp-Mlops-tag">{tag}</span>)
    }
  ];
}

/** A warning sign for a run whose result may not be trusted; the reasons are its tooltip. */
export function WarningBadge(props: { warnings: string[] }): JSX.Element | null {
  if (props.warnings.length === 0) {
    return null;
  }
  const text = props.warnings.join('; ');
  return (
    <span className="jp-Mlops-warnBadge" title={text} aria-label={`Warning: ${text}`} role="img">
      ⚠
    </span>
  );
}

/** A status marker; running runs pulse. */
export function StatusDot(props: { status: Mlops.RunStatus }): JSX.Element {
  return (
    <span
      className={`jp-Mlops-status jp-Mlops-status-${props.status}`}
      title={props.status === 'running' ? 'running (live)' : props.status}
      aria-label={props.status}
    />
  );
}

function cellStyle(col: IColumn): React.CSSProperties {
  return col.grow ? { flex: '1 1 auto', minWidth: col.width } : { width: col.width, flex: 'none' };
}

function isSortable(key: string): boolean {
  return SORTABLE.has(key) || key.startsWith('metrics.') || key.startsWith('params.');
}

/**
 * The runs list. Only the rows in view (plus a margin) are in the DOM; the rest is an empty spacer, so the
 * list scrolls smoothly through 10,000 runs while the model fetches pages as they come into view.
 */
export function RunsTable(props: IRunsTableProps): JSX.Element {
  const shared = props.sharedNames ?? NO_NAMES;
  const hidden = props.hidden ?? NO_KEYS;
  const cols = React.useMemo(
    () =>
      props.compact
        ? compactColumns(props.keyMetrics, shared)
        : columns(props.keyMetrics, shared, props.params).filter(c => c.key === 'name' || !hidden.has(c.key)),
    [props.compact, props.keyMetrics, shared, hidden, props.params]
  );
  // The compact list fits its panel (the name shrinks); the full table is as wide as its columns and scrolls.
  const width: number | string = props.compact ? '100%' : 28 + cols.reduce((sum, c) => sum + c.width, 0);
  const body = React.useRef<HTMLDivElement>(null);
  const [view, setView] = React.useState({ top: 0, height: 400 });
  const [start, end] = visibleRange(view.top, view.height, ROW_HEIGHT, props.total);
  const { onRange } = props;

  React.useEffect(() => onRange(start, end), [start, end, props.total, onRange]);
  React.useEffect(() => {
    const node = body.current;
    if (!node) {
      return;
    }
    const measure = () => setView({ top: node.scrollTop, height: node.clientHeight || 400 });
    measure();
    const observer = typeof ResizeObserver !== 'undefined' ? new ResizeObserver(measure) : null;
    observer?.observe(node);
    return () => observer?.disconnect();
  }, []);
  React.useEffect(() => {
    const node = body.current;
    if (node && props.scrollToIndex !== null && props.scrollToIndex !== undefined && props.scrollToIndex >= 0) {
      node.scrollTop = Math.max(0, props.scrollToIndex * ROW_HEIGHT - node.clientHeight / 3);
    }
  }, [props.scrollToIndex]);

  const rows: JSX.Element[] = [];
  for (let index = start; index < end; index++) {
    rows.push(<Row key={index} index={index} run={props.rowAt(index)} cols={cols} {...props} />);
  }
  return (
    <div className={`jp-Mlops-table${props.compact ? ' jp-mod-compact' : ''}`} role="grid" aria-rowcount={props.total}>
      <div
        className="jp-Mlops-tableBody"
        ref={body}
        onScroll={event => {
          const node = event.currentTarget;
          setView({ top: node.scrollTop, height: node.clientHeight });
        }}
      >
        <div className="jp-Mlops-headerRow" role="row" style={{ width }}>
          <span className="jp-Mlops-cell jp-Mlops-check" />
          {cols.map(col => (
            <span
              key={col.key}
              role="columnheader"
              className={`jp-Mlops-cell jp-Mlops-header${isSortable(col.key) ? ' jp-mod-sortable' : ''}`}
              style={cellStyle(col)}
              data-key={col.key}
              aria-sort={props.sort.key === col.key ? (props.sort.desc ? 'descending' : 'ascending') : 'none'}
              onClick={() => isSortable(col.key) && props.onSort(col.key)}
              title={isSortable(col.key) ? `Sort by ${col.label || col.key}` : col.label}
            >
              {col.label}
              {props.sort.key === col.key ? (props.sort.desc ? ' ▼' : ' ▲') : ''}
            </span>
          ))}
        </div>
        <div className="jp-Mlops-spacer" style={{ height: props.total * ROW_HEIGHT, width }}>
          {rows}
        </div>
      </div>
    </div>
  );
}

interface IRowProps extends IRunsTableProps {
  index: number;
  run: Mlops.IRun | undefined;
  cols: IColumn[];
}

function Row(props: IRowProps): JSX.Element {
  const { run, index } = props;
  const style = { top: index * ROW_HEIGHT, height: ROW_HEIGHT, width: props.compact ? '100%' : undefined };
  if (!run) {
    return <div className="jp-Mlops-row jp-mod-loading" style={style} role="row" />;
  }
  const selected = props.selection.has(run.id);
  const classes = ['jp-Mlops-row'];
  if (selected) {
    classes.push('jp-mod-selected');
  }
  if (props.activeId === run.id) {
    classes.push('jp-mod-active');
  }
  return (
    <div
      className={classes.join(' ')}
      style={style}
      role="row"
      data-run-id={run.id}
      aria-selected={selected}
      onClick={() => props.onActivate(run.id)}
    >
      <span className="jp-Mlops-cell jp-Mlops-check">
        <input
          type="checkbox"
          checked={selected}
          aria-label={`Select ${run.name} for comparison`}
          onClick={event => event.stopPropagation()}
          onChange={() => props.onToggleSelected(run.id)}
        />
      </span>
      {props.cols.map(col => (
        <span key={col.key} className="jp-Mlops-cell" style={cellStyle(col)} data-key={col.key}>
          {col.cell(run)}
        </span>
      ))}
    </div>
  );
}
