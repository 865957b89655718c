import * as React from 'react';

import {
  cellChangeDiff,
  cellChangeHeading,
  diffLineKind,
  formatBytes,
  formatParam,
  formatValue,
  isBest,
  paramRows,
  runLabels,
  runWarnings,
  writtenAsFloat
} from '../logic';
import { sliceGroups, sliceStanding, slicesToWatch } from '../sliceLogic';
import { Mlops } from '../tokens';
import { WarningBadge } from './RunsTable';
import { SweepLoader, SweepSection } from './SweepCharts';

/** Renders a Vega-Lite spec into a host element; returns a disposer. Supplied by the widget (JupyterLab's renderer). */
export type ChartRenderer = (spec: object, host: HTMLElement) => Promise<() => void>;

/** Props of the compare view. */
export interface ICompareViewProps {
  comparison: Mlops.IComparison;
  renderChart: ChartRenderer;
  /** Loads the artifact diffs of a run against the baseline (ADR-104); without it the section is not shown. */
  loadArtifacts?: (baseline: string, run: string) => Promise<Mlops.IArtifactDiffs>;
  /** Loads a sweep's rows (ADR-111); with it, runs of one sweep get a "Sweep" section with its charts. */
  loadSweep?: SweepLoader;
}

/** One server-built Vega-Lite chart. */
export function VegaChart(props: { spec: object; render: ChartRenderer; label: string }): JSX.Element {
  const host = React.useRef<HTMLDivElement>(null);
  const [error, setError] = React.useState<string | null>(null);
  React.useEffect(() => {
    let dispose: (() => void) | null = null;
    let cancelled = false;
    if (host.current) {
      props
        .render(props.spec, host.current)
        .then(d => (cancelled ? d() : (dispose = d)))
        .catch(e => setError(`cannot draw ${props.label}: ${String(e)}`));
    }
    return () => {
      cancelled = true;
      dispose?.();
    };
  }, [props.spec, props.render]);
  return (
    <div className="jp-Mlops-chart" data-chart={props.label}>
      {error ? <div className="jp-Mlops-error">{error}</div> : <div ref={host} className="jp-Mlops-chartHost" />}
    </div>
  );
}

function RunHeader(props: { runs: Mlops.IRun[] }): JSX.Element {
  const labels = runLabels(props.runs);
  return (
    <>
      {props.runs.map((run, i) => (
        <th key={run.id} title={run.id}>
          {labels.get(run.id)}
          {i === 0 ? <span className="jp-Mlops-muted"> (baseline)</span> : ''}
        </th>
      ))}
    </>
  );
}

/** Params side by side; differing rows highlighted; "only differences" toggle. */
export function ParamsTable(props: { comparison: Mlops.IComparison }): JSX.Element {
  const [onlyDiff, setOnlyDiff] = React.useState(true);
  const rows = paramRows(props.comparison.params, onlyDiff);
  return (
    <section className="jp-Mlops-compareSection" data-section="params">
      <h3>
        Params
        <label className="jp-Mlops-toggle">
          <input type="checkbox" checked={onlyDiff} onChange={e => setOnlyDiff(e.target.checked)} /> only differences
        </label>
      </h3>
      <table className="jp-Mlops-grid">
        <thead>
          <tr>
            <th>param</th>
            <RunHeader runs={props.comparison.runs} />
          </tr>
        </thead>
        <tbody>
          {rows.map(row => (
            <tr key={row.key} className={row.differs ? 'jp-mod-differs' : ''} data-param={row.key}>
              <th>{row.key}</th>
              {row.values.map((v, i) => (
                <td key={i}>{formatParam(v, writtenAsFloat(row.values, i))}</td>
              ))}
            </tr>
          ))}
          {rows.length === 0 && (
            <tr>
              <td colSpan={props.comparison.runs.length + 1} className="jp-Mlops-empty">
                {onlyDiff ? 'All params are equal.' : 'No params.'}
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}

/** Latest metric values; the best value of each row is highlighted, deltas to the baseline shown. */
export function MetricsTable(props: { comparison: Mlops.IComparison }): JSX.Element {
  return (
    <section className="jp-Mlops-compareSection" data-section="metrics">
      <h3>Metrics</h3>
      <table className="jp-Mlops-grid">
        <thead>
          <tr>
            <th>metric</th>
            <RunHeader runs={props.comparison.runs} />
          </tr>
        </thead>
        <tbody>
          {props.comparison.metrics.map(row => (
            <tr key={row.key} data-metric={row.key}>
              <th title={`best = ${row.goal}`}>{row.key}</th>
              {row.values.map((v, i) => (
                <td key={i} className={isBest(row, i) ? 'jp-mod-best' : ''}>
                  {formatValue(v)}
                  {i > 0 && <Delta value={row.deltas[i]} />}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** A change against the baseline, signed (nothing when there is none or it is zero). */
function Delta(props: { value: number | null }): JSX.Element | null {
  if (props.value === null || props.value === 0) {
    return null;
  }
  return (
    <span className="jp-Mlops-delta">
      {' '}
      ({props.value > 0 ? '+' : ''}
      {formatValue(props.value)})
    </span>
  );
}

/**
 * Metrics on slices of the data (ADR-070): one row per metric and slice, deltas to the baseline; a slice where a
 * run is worse than the baseline, or that it did not log, is marked (what `gate --per-slice` would flag).
 */
export function SliceMetricsTable(props: { comparison: Mlops.IComparison }): JSX.Element | null {
  const groups = sliceGroups(props.comparison.slices);
  if (groups.length === 0) {
    return null;
  }
  const watch = slicesToWatch(props.comparison.slices);
  return (
    <section className="jp-Mlops-compareSection" data-section="slices">
      <h3>Metrics on slices</h3>
      {watch.length > 0 && (
        <p className="jp-Mlops-sliceWatch">Worse than the baseline or not measured on: {watch.join(', ')}</p>
      )}
      <table className="jp-Mlops-grid">
        <thead>
          <tr>
            <th>metric</th>
            <th>slice</th>
            <RunHeader runs={props.comparison.runs} />
          </tr>
        </thead>
        <tbody>
          {groups.map(group =>
            group.rows.map((row, n) => (
              <tr key={`${row.key}[${row.slice}]`} data-metric={row.key} data-slice={row.slice}>
                {n === 0 && (
                  <th rowSpan={group.rows.length} title={`best = ${group.goal}`}>
                    {group.key}
                  </th>
                )}
                <td>{row.slice}</td>
                {row.values.map((v, i) => {
                  const standing = sliceStanding(row, i);
                  return (
                    <td key={i} className={`jp-Mlops-slice-${standing}`} data-standing={standing}>
                      {standing === 'missing' ? 'not measured' : formatValue(v)}
                      {standing !== 'missing' && i > 0 && <Delta value={row.deltas[i]} />}
                    </td>
                  );
                })}
              </tr>
            ))
          )}
        </tbody>
      </table>
    </section>
  );
}

/** Data inputs that changed between runs: hash, size, rows, columns and dtypes. */
export function DataChanges(props: { comparison: Mlops.IComparison }): JSX.Element | null {
  const rows = props.comparison.data.filter(d => d.differs);
  const names = runLabels(props.comparison.runs);
  if (rows.length === 0) {
    return null;
  }
  return (
    <section className="jp-Mlops-compareSection" data-section="data">
      <h3>Data inputs</h3>
      {rows.map(row => (
        <div key={row.name} className="jp-Mlops-dataRow">
          <code>{row.name}</code>
          <ul>
            {row.changes.map(c => (
              <li key={c.run}>
                <b>{names.get(c.run) ?? c.run}</b>: {c.hash_changed ? 'content changed' : 'same content'}
                {c.size[0] !== c.size[1] && `; size ${formatBytes(c.size[0])} → ${formatBytes(c.size[1])}`}
                {c.rows[0] !== c.rows[1] && `; rows ${c.rows[0] ?? '?'} → ${c.rows[1] ?? '?'}`}
                {c.columns_added.length > 0 && `; columns added: ${c.columns_added.join(', ')}`}
                {c.columns_removed.length > 0 && `; columns removed: ${c.columns_removed.join(', ')}`}
                {c.dtype_changes.map(d => `; ${d.column}: ${d.from} → ${d.to}`).join('')}
              </li>
            ))}
          </ul>
        </div>
      ))}
    </section>
  );
}

/** Package version changes between the runs' environments. */
export function PackageChanges(props: { comparison: Mlops.IComparison }): JSX.Element | null {
  const { env, runs } = props.comparison;
  const python = env.python ?? [];
  const pythonDiffers = new Set(python).size > 1;
  if (env.packages.length === 0 && !pythonDiffers) {
    return (
      <section className="jp-Mlops-compareSection" data-section="environment">
        <h3>Environment</h3>
        <div className="jp-Mlops-empty">
          Same Python{python[0] ? ` (${python[0]})` : ''} and packages.
        </div>
      </section>
    );
  }
  return (
    <section className="jp-Mlops-compareSection" data-section="environment">
      <h3>Environment</h3>
      <table className="jp-Mlops-grid">
        <thead>
          <tr>
            <th>package</th>
            <RunHeader runs={runs} />
          </tr>
        </thead>
        <tbody>
          {pythonDiffers && (
            <tr className="jp-mod-differs">
              <th>python</th>
              {python.map((v, i) => (
                <td key={i}>{formatValue(v)}</td>
              ))}
            </tr>
          )}
          {env.packages.map(p => (
            <tr key={p.name} className="jp-mod-differs" title={p.change}>
              <th>{p.name}</th>
              {p.values.map((v, i) => (
                <td key={i}>{formatValue(v)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** A unified diff with added/removed lines coloured. */
export function DiffText(props: { diff: string }): JSX.Element {
  return (
    <pre className="jp-Mlops-diff">
      {props.diff.split('\n').map((line, i) => (
        <div key={i} className={`jp-Mlops-diffLine jp-mod-${diffLineKind(line)}`}>
          {line || ' '}
        </div>
      ))}
    </pre>
  );
}

/** Executed-code changes of each run against the baseline. */
export function CodeDiff(props: { comparison: Mlops.IComparison }): JSX.Element {
  const names = runLabels(props.comparison.runs);
  const entries = props.comparison.code.filter(c => c.cells.length > 0 || (c.modules ?? []).length > 0);
  return (
    <section className="jp-Mlops-compareSection" data-section="code">
      <h3>Code</h3>
      {entries.length === 0 && <div className="jp-Mlops-empty">The executed code is the same.</div>}
      {entries.map(entry => (
        <div key={entry.run} className="jp-Mlops-codeRun">
          <h4>{names.get(entry.run) ?? entry.run} vs baseline</h4>
          {entry.cells.map((cell, i) => (
            <div key={i} className={`jp-Mlops-cellChange jp-mod-${cell.change}`}>
              <div className="jp-Mlops-muted">{cellChangeHeading(cell)}</div>
              <DiffText diff={cellChangeDiff(cell)} />
            </div>
          ))}
          {(entry.modules ?? []).map(module => (
            <div key={module.name} className={`jp-Mlops-moduleChange jp-mod-${module.change}`} data-module={module.name}>
              <div className="jp-Mlops-muted">
                local module {module.name} ({module.path}) {module.change}
              </div>
              {module.source_diff ? (
                <DiffText diff={module.source_diff} />
              ) : (
                <div className="jp-Mlops-muted">{module.note ?? ''}</div>
              )}
            </div>
          ))}
        </div>
      ))}
    </section>
  );
}

/** What a changed artifact's diff says, by kind: a diff, images side by side, table statistics or JSON paths. */
export function ArtifactDiffBody(props: { item: Mlops.IArtifactDiff }): JSX.Element | null {
  const { item } = props;
  const diff = item.diff;
  if (item.error) {
    return <div className="jp-Mlops-error">{item.error}</div>;
  }
  if (!diff) {
    return null;
  }
  if (diff.kind === 'text') {
    return <DiffText diff={diff.diff} />;
  }
  if (diff.kind === 'image') {
    const share = `${(diff.changed_share * 100).toFixed(2)}%`;
    return (
      <div>
        <div className="jp-Mlops-muted">
          {diff.changed_pixels} of {diff.total_pixels} pixels changed ({share})
        </div>
        {item.images?.side_by_side && (
          <img
            className="jp-Mlops-artifactImage"
            alt={`${item.name}: baseline, run, changed pixels`}
            src={`data:image/png;base64,${item.images.side_by_side}`}
          />
        )}
      </div>
    );
  }
  if (diff.kind === 'table') {
    const stats = ['mean', 'std', 'nulls', 'distinct'];
    return (
      <div>
        <div className="jp-Mlops-muted">
          rows {diff.rows[0]} → {diff.rows[1]}
          {diff.columns_added.length > 0 && `; columns added: ${diff.columns_added.join(', ')}`}
          {diff.columns_removed.length > 0 && `; columns removed: ${diff.columns_removed.join(', ')}`}
        </div>
        <table className="jp-Mlops-grid">
          <thead>
            <tr>
              <th>column</th>
              {stats.map(s => (
                <th key={s}>{s}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {diff.columns.map((c: any) => (
              <tr key={c.column} data-column={c.column}>
                <th>{c.column}</th>
                {stats.map(s => (
                  <td key={s}>
                    {formatValue(c[s].a)} → {formatValue(c[s].b)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    );
  }
  if (diff.kind === 'json') {
    const lines = [
      ...diff.added.map((r: any) => `+ ${r.path} = ${JSON.stringify(r.value)}`),
      ...diff.removed.map((r: any) => `- ${r.path} = ${JSON.stringify(r.value)}`),
      ...diff.changed.map((r: any) => `~ ${r.path}: ${JSON.stringify(r.from)} → ${JSON.stringify(r.to)}`)
    ];
    return <DiffText diff={lines.join('\n')} />;
  }
  return <div className="jp-Mlops-muted">binary content differs</div>;
}

/** Artifact diffs of each run against the baseline, loaded when asked (they read blobs, images are large). */
export function ArtifactDiffs(props: {
  comparison: Mlops.IComparison;
  load: (baseline: string, run: string) => Promise<Mlops.IArtifactDiffs>;
}): JSX.Element {
  const names = runLabels(props.comparison.runs);
  const others = props.comparison.runs.filter(r => r.id !== props.comparison.baseline);
  const [found, setFound] = React.useState<Mlops.IArtifactDiffs[] | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const load = () => {
    setError(null);
    Promise.all(others.map(r => props.load(props.comparison.baseline, r.id)))
      .then(setFound)
      .catch((e: Error) => setError(e.message));
  };
  return (
    <section className="jp-Mlops-compareSection" data-section="artifacts">
      <h3>Artifacts</h3>
      {found === null && (
        <button className="jp-mod-styled" onClick={load}>
          Diff artifacts
        </button>
      )}
      {error && <div className="jp-Mlops-error">{error}</div>}
      {found?.map(report => (
        <div key={report.b} className="jp-Mlops-codeRun">
          <h4>{names.get(report.b) ?? report.b} vs baseline</h4>
          {report.artifacts.filter(a => a.status !== 'identical').length === 0 && (
            <div className="jp-Mlops-empty">The artifacts are the same.</div>
          )}
          {report.artifacts
            .filter(a => a.status !== 'identical')
            .map(item => (
              <div key={item.name} className="jp-Mlops-artifactDiff" data-artifact={item.name}>
                <div className="jp-Mlops-muted">
                  {item.name} ({item.kind}) {item.status}
                </div>
                <ArtifactDiffBody item={item} />
              </div>
            ))}
        </div>
      ))}
    </section>
  );
}

/**
 * Runs whose results may not be trusted, one line each: raised notebook-state flags and dropped points. Shown
 * first, before any number is read, and only when there is something to say.
 */
export function RunWarnings(props: { comparison: Mlops.IComparison }): JSX.Element | null {
  const labels = runLabels(props.comparison.runs);
  const rows = props.comparison.runs
    .map(run => ({ run, warnings: runWarnings(run) }))
    .filter(row => row.warnings.length > 0);
  if (rows.length === 0) {
    return null;
  }
  return (
    <section className="jp-Mlops-compareSection" data-section="flags">
      <h3>Warnings</h3>
      <ul className="jp-Mlops-warnings">
        {rows.map(({ run, warnings }) => (
          <li key={run.id} data-run-id={run.id}>
            <WarningBadge warnings={warnings} /> <b>{labels.get(run.id)}</b>: {warnings.join('; ')}
          </li>
        ))}
      </ul>
    </section>
  );
}

/**
 * The compare view, in the CLI's order (`jupyter-mlops compare`): warnings, params, code, data, environment,
 * metrics; then the charts (metric history, params vs a metric), which only the graphical views have.
 */
export function CompareView(props: ICompareViewProps): JSX.Element {
  const { comparison } = props;
  const metricKeys = Object.keys(comparison.params_charts ?? {});
  const [metric, setMetric] = React.useState(metricKeys[0] ?? '');
  return (
    <div className="jp-Mlops-compare">
      <RunWarnings comparison={comparison} />
      <ParamsTable comparison={comparison} />
      <CodeDiff comparison={comparison} />
      {props.loadArtifacts && <ArtifactDiffs comparison={comparison} load={props.loadArtifacts} />}
      <DataChanges comparison={comparison} />
      <PackageChanges comparison={comparison} />
      <MetricsTable comparison={comparison} />
      <SliceMetricsTable comparison={comparison} />
      {Object.keys(comparison.charts).length > 0 && (
        <section className="jp-Mlops-compareSection" data-section="charts">
          <h3>Metric history</h3>
          <div className="jp-Mlops-charts">
            {Object.entries(comparison.charts).map(([key, spec]) => (
              <VegaChart key={key} spec={spec} render={props.renderChart} label={key} />
            ))}
          </div>
        </section>
      )}
      {props.loadSweep && <SweepSection runs={comparison.runs} load={props.loadSweep} />}
      {metricKeys.length > 0 && (
        <section className="jp-Mlops-compareSection" data-section="params-chart">
          <h3>
            Params vs{' '}
            <select value={metric} onChange={e => setMetric(e.target.value)} aria-label="Metric">
              {metricKeys.map(k => (
                <option key={k}>{k}</option>
              ))}
            </select>
          </h3>
          <VegaChart spec={comparison.params_charts[metric]} render={props.renderChart} label={`params-${metric}`} />
        </section>
      )}
    </div>
  );
}
