import * as React from 'react';

import {
  isActive,
  jobProblem,
  metricRows,
  progressFraction,
  progressText,
  Reproduce,
  verdictHeadline,
  verdictNotes
} from '../reproduceLogic';

/** Props of the run details' Reproduce panel: the job of the shown run (if any) and the container's callbacks. */
export interface IReproducePanelProps {
  /** The latest reproduction job of this run, polled by the container; null before the first click. */
  job: Reproduce.IJob | null;
  /** Why the last request failed (a 409 while another reproduction runs, a network error), or null. */
  error: string | null;
  onStart: (options: Reproduce.IOptions) => void;
  onCancel: () => void;
  /** Show the reproduction's new run. */
  onOpenRun: (runId: string) => void;
}

/** The verdict: outcome and mode, why (reason, caveats), the metric table and a way to the new run. */
export function Verdict(props: { result: Reproduce.IResult; onOpenRun: (runId: string) => void }): JSX.Element {
  const { result } = props;
  const headline = verdictHeadline(result);
  const notes = verdictNotes(result);
  const rows = metricRows(result);
  const created = result.reproduction;
  return (
    <div className="jp-Mlops-verdict" data-outcome={result.outcome} data-mode={result.mode}>
      <div className={`jp-Mlops-verdictHeadline jp-mod-${headline.tone}`}>{headline.text}</div>
      {notes.length > 0 && (
        <ul className="jp-Mlops-verdictNotes">
          {notes.map(note => (
            <li key={note}>{note}</li>
          ))}
        </ul>
      )}
      {rows.length > 0 && (
        <table className="jp-Mlops-kv jp-Mlops-verdictMetrics">
          <thead>
            <tr>
              <th>metric</th>
              <th>original</th>
              <th>reproduced</th>
              <th>status</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(row => (
              <tr key={row.key} data-metric={row.key}>
                <th>{row.key}</th>
                <td>{row.original}</td>
                <td>{row.reproduced}</td>
                <td className={`jp-Mlops-verdictStatus jp-mod-${row.status.split(' ')[0]}`}>{row.status}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {created && (
        <button
          className="jp-Mlops-button jp-Mlops-openReproduction"
          onClick={() => props.onOpenRun(created)}
          title="Show the run the reproduction tracked (linked by reproduction_of)"
        >
          Open new run {created.slice(0, 8)}
        </button>
      )}
    </div>
  );
}

/** Reproduce this run in the background: options, a progress indicator while it runs, then the verdict. */
export function ReproducePanel(props: IReproducePanelProps): JSX.Element {
  const { job } = props;
  const [asExecuted, setAsExecuted] = React.useState(false);
  const [allowChanged, setAllowChanged] = React.useState(false);
  const active = isActive(job);
  const problem = job && !active ? jobProblem(job) : null;
  return (
    <div className="jp-Mlops-reproduce">
      <div className="jp-Mlops-reproduceControls">
        <label title="Replay the recorded executed-cell sequence (the only way for a notebook run out of order)">
          <input type="checkbox" checked={asExecuted} disabled={active} onChange={e => setAsExecuted(e.target.checked)} />
          as executed
        </label>
        <label title="Run even though recorded data inputs changed (the verdict then never says reproduced)">
          <input
            type="checkbox"
            checked={allowChanged}
            disabled={active}
            onChange={e => setAllowChanged(e.target.checked)}
          />
          allow changed data
        </label>
        <button
          className="jp-Mlops-button jp-mod-accept jp-Mlops-reproduceButton"
          disabled={active}
          onClick={() => props.onStart({ as_executed: asExecuted, allow_changed_data: allowChanged })}
          title="Verify data, environment and git, re-execute the notebook in a fresh kernel and compare the metrics"
        >
          Reproduce
        </button>
        {job && active && (
          <button className="jp-Mlops-button jp-Mlops-cancelReproduce" disabled={job.cancel_requested} onClick={props.onCancel}>
            Cancel
          </button>
        )}
      </div>
      {props.error && (
        <div className="jp-Mlops-error" role="alert">
          {props.error}
        </div>
      )}
      {job && active && (
        <div className="jp-Mlops-reproduceProgress" role="status">
          <progress max={1} value={progressFraction(job.progress)} />
          <span>{progressText(job)}</span>
        </div>
      )}
      {problem && <div className="jp-Mlops-error">{problem}</div>}
      {job && !active && job.state === 'cancelled' && job.result && (
        <div className="jp-Mlops-muted">Cancelled: the notebook was stopped before its next cell.</div>
      )}
      {job && !active && job.result && <Verdict result={job.result} onOpenRun={props.onOpenRun} />}
    </div>
  );
}
