import * as React from 'react';

import { axisTicks, defaultGoal, IBox, parallelCoordinates, scatter, sweepOf } from '../sweepLogic';
import { Mlops } from '../tokens';

/** Loads a sweep's rows, the best first by `metric` (`KEY:max|min`); the model's `sweep`. */
export type SweepLoader = (id: string, metric?: string) => Promise<Mlops.ISweepTable>;

const PC_BOX: IBox = { width: 640, height: 220, pad: 36 };
const SCATTER_BOX: IBox = { width: 640, height: 220, pad: 44 };
/** Room between the scatter's frame and its outermost points. */
const INSET = 8;

/** One line per run over the sweep's params and the metric; the best run's line stands out. */
export function ParallelCoordinates(props: { table: Mlops.ISweepTable }): JSX.Element {
  const { axes, lines, skipped } = parallelCoordinates(props.table, PC_BOX);
  const plot = PC_BOX.height - 2 * PC_BOX.pad;
  return (
    <figure className="jp-Mlops-sweepChart" data-chart="parallel-coordinates">
      <svg viewBox={`0 0 ${PC_BOX.width} ${PC_BOX.height}`} role="img" aria-label="Parallel coordinates">
        {lines.map(line => (
          <path
            key={line.runId}
            className={`jp-Mlops-pcLine${line.best ? ' jp-mod-best' : ''}`}
            data-run-id={line.runId}
            d={line.d}
          >
            <title>{`${line.name}: ${line.value}${line.best ? ' (best)' : ''}`}</title>
          </path>
        ))}
        {axes.map((a, i) => (
          <g key={a.name} className="jp-Mlops-pcAxis">
            <line x1={a.x} x2={a.x} y1={PC_BOX.pad} y2={PC_BOX.pad + plot} />
            <text x={a.x} y={PC_BOX.pad - 18} textAnchor="middle" className="jp-Mlops-axisName">
              {i === axes.length - 1 ? `${a.name} (${props.table.metric?.goal})` : a.name}
            </text>
            {axisTicks(a.axis).map(([label, f]) => (
              <text key={label} x={a.x + 4} y={PC_BOX.pad + plot - f * plot + 4} className="jp-Mlops-tick">
                {label}
              </text>
            ))}
          </g>
        ))}
      </svg>
      {skipped > 0 && (
        <figcaption className="jp-Mlops-muted">
          {skipped} run{skipped === 1 ? '' : 's'} without {props.table.metric?.key} or a param not drawn
        </figcaption>
      )}
    </figure>
  );
}

/** The chosen param on x against the metric on y, one point per run; the best run's point stands out. */
export function ParamScatter(props: { table: Mlops.ISweepTable; param: string }): JSX.Element {
  const { x, y, points } = scatter(props.table, props.param, SCATTER_BOX);
  const { width, height, pad } = SCATTER_BOX;
  const w = width - 2 * pad;
  const h = height - 2 * pad;
  return (
    <figure className="jp-Mlops-sweepChart" data-chart="sweep-scatter">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${props.param} vs metric`}>
        <rect
          className="jp-Mlops-plotFrame"
          x={pad - INSET}
          y={pad - INSET}
          width={w + 2 * INSET}
          height={h + 2 * INSET}
        />
        {axisTicks(x).map(([label, f]) => (
          <text key={label} x={pad + f * w} y={pad + h + INSET + 12} textAnchor="middle" className="jp-Mlops-tick">
            {label}
          </text>
        ))}
        {axisTicks(y).map(([label, f]) => (
          <text key={label} x={pad - INSET - 4} y={pad + h - f * h + 4} textAnchor="end" className="jp-Mlops-tick">
            {label}
          </text>
        ))}
        <text x={pad + w / 2} y={height - 4} textAnchor="middle" className="jp-Mlops-axisName">
          {props.param}
        </text>
        <text
          transform={`translate(12 ${pad + h / 2}) rotate(-90)`}
          textAnchor="middle"
          className="jp-Mlops-axisName"
        >
          {props.table.metric?.key}
        </text>
        {points.map(p => (
          <circle
            key={p.runId}
            className={`jp-Mlops-scatterPoint${p.best ? ' jp-mod-best' : ''}`}
            data-run-id={p.runId}
            cx={p.cx}
            cy={p.cy}
            r={p.best ? 6 : 4}
          >
            <title>{`${p.name}: ${props.param}=${String(p.x)}, ${props.table.metric?.key}=${p.value}`}</title>
          </circle>
        ))}
      </svg>
    </figure>
  );
}

/**
 * The compare view's "Sweep" section, shown when every compared run belongs to one sweep: pick a metric and
 * its goal, then a parallel-coordinates chart over the sweep's params and that metric, and one param against
 * the metric. The rows come from `GET sweeps/{id}` (all the sweep's runs, not only the compared ones).
 */
export function SweepSection(props: { runs: Mlops.IRun[]; load: SweepLoader }): JSX.Element | null {
  const id = sweepOf(props.runs);
  const [table, setTable] = React.useState<Mlops.ISweepTable | null>(null);
  const [metric, setMetric] = React.useState('');
  const [goal, setGoal] = React.useState<'max' | 'min'>('max');
  const [param, setParam] = React.useState('');
  const [error, setError] = React.useState<string | null>(null);
  React.useEffect(() => {
    if (id === null) {
      return;
    }
    let current = true;
    const chosen = metric ? `${metric}:${goal}` : undefined;
    props
      .load(id, chosen)
      .then(async t => {
        // The first reply names the metrics; ask again sorted by the first one.
        if (!chosen && t.metrics.length > 0) {
          current && setMetric(t.metrics[0]);
          current && setGoal(defaultGoal(t.metrics[0]));
          return;
        }
        if (current) {
          setTable(t);
          setParam(p => (t.params.includes(p) ? p : (t.params[0] ?? '')));
        }
      })
      .catch((e: Error) => current && setError(e.message));
    return () => {
      current = false;
    };
  }, [id, metric, goal, props.load]);
  if (id === null) {
    return null;
  }
  return (
    <section className="jp-Mlops-compareSection" data-section="sweep" data-sweep={id}>
      <h3>
        Sweep <code>{id}</code>{' '}
        {table && table.metrics.length > 0 && (
          <>
            <select value={metric} onChange={e => setMetric(e.target.value)} aria-label="Sweep metric">
              {table.metrics.map(k => (
                <option key={k}>{k}</option>
              ))}
            </select>
            <select value={goal} onChange={e => setGoal(e.target.value as 'max' | 'min')} aria-label="Goal">
              <option value="max">max</option>
              <option value="min">min</option>
            </select>
          </>
        )}
      </h3>
      {error && <div className="jp-Mlops-error">{error}</div>}
      {!error && !table && <div className="jp-Mlops-empty">Loading sweep…</div>}
      {table && table.metric === null && <div className="jp-Mlops-empty">The sweep's runs logged no metric.</div>}
      {table && table.metric !== null && (
        <>
          <div className="jp-Mlops-muted">
            {table.rows.length} runs ({table.filter}); best by {table.metric.key} ({table.metric.goal}):{' '}
            {table.rows.find(r => r.run_id === table.best)?.name ?? 'none'}
          </div>
          <ParallelCoordinates table={table} />
          {table.params.length > 0 && (
            <>
              <label className="jp-Mlops-muted">
                x:{' '}
                <select value={param} onChange={e => setParam(e.target.value)} aria-label="Sweep param">
                  {table.params.map(k => (
                    <option key={k}>{k}</option>
                  ))}
                </select>
              </label>
              <ParamScatter table={table} param={param} />
            </>
          )}
        </>
      )}
    </section>
  );
}
