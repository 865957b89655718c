import * as React from 'react';

import { SliceCells, sliceRows, sliceSummary } from '../sliceCellsLogic';

/** Where the producing cells come from and where they go: the REST call and JupyterLab's documents. */
export interface ISliceSource {
  /** `GET runs/{id}/slice?metric=KEY`; rejects with the server's one-line message. */
  fetch: (runId: string, metric: string) => Promise<SliceCells.IReport>;
  /** Create a notebook from the slice in the file browser's folder and open it; resolves to its path. */
  open: (report: SliceCells.IReport) => Promise<string>;
}

/** Given by the lab (index.ts) to the runs table; without it the run details show no "Show producing cells". */
export const SliceSourceContext = React.createContext<ISliceSource | null>(null);

/** The slice of one metric: the cells that produced it as they ran, the slicer's doubts, "Open as new notebook". */
export function SliceCellsList(props: { report: SliceCells.IReport; onOpen: () => void; opening: string | null }): JSX.Element {
  const { report } = props;
  return (
    <div className="jp-Mlops-sliceCells" data-metric={report.target}>
      <div className="jp-Mlops-muted jp-Mlops-sliceSummary">{sliceSummary(report)}</div>
      <ol className="jp-Mlops-sliceList" aria-label={`Producing cells of ${report.target}`}>
        {sliceRows(report).map(row => (
          <li key={row.key} className="jp-Mlops-sliceCell" data-target={row.target ? 'true' : undefined}>
            <div className="jp-Mlops-sliceHead">
              <span className="jp-Mlops-sliceCount">{row.label}</span>
              {row.why && <span className="jp-Mlops-muted"> {row.why}</span>}
            </div>
            <pre className="jp-Mlops-code jp-Mlops-sliceSource">{row.source}</pre>
            {row.unsure.map(reason => (
              <div key={reason} className="jp-Mlops-sliceUnsure" role="note">
                ⚠ kept, unsure: {reason}
              </div>
            ))}
          </li>
        ))}
      </ol>
      <div className="jp-Mlops-actions">
        <button className="jp-Mlops-button jp-mod-accept jp-Mlops-sliceOpen" onClick={props.onOpen}>
          Open as new notebook
        </button>
        {props.opening && <span className="jp-Mlops-saveStatus">{props.opening}</span>}
      </div>
    </div>
  );
}

/** One metric's row: its "Show producing cells" toggle and, once fetched, the cells. */
function MetricSlice(props: { runId: string; metric: string; source: ISliceSource }): JSX.Element {
  const { runId, metric, source } = props;
  const [shown, setShown] = React.useState(false);
  const [report, setReport] = React.useState<SliceCells.IReport | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [opening, setOpening] = React.useState<string | null>(null);
  React.useEffect(() => {
    setShown(false);
    setReport(null);
    setError(null);
    setOpening(null);
  }, [runId, metric]);

  const toggle = async () => {
    if (shown) {
      setShown(false);
      return;
    }
    setShown(true);
    if (report) {
      return;
    }
    setError(null);
    try {
      setReport(await source.fetch(runId, metric));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  const open = async () => {
    if (!report) {
      return;
    }
    setOpening('Opening…');
    try {
      setOpening(`Opened ${await source.open(report)}`);
    } catch (e) {
      setOpening(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <li className="jp-Mlops-sliceMetric" data-metric={metric}>
      <code>{metric}</code>{' '}
      <button
        className="jp-Mlops-button jp-Mlops-sliceShow"
        aria-expanded={shown}
        aria-label={`Show producing cells of ${metric}`}
        onClick={() => void toggle()}
      >
        {shown ? 'Hide producing cells' : 'Show producing cells'}
      </button>
      {shown && !report && !error && <div className="jp-Mlops-muted">Slicing…</div>}
      {shown && error && <div className="jp-Mlops-error">{error}</div>}
      {shown && report && <SliceCellsList report={report} onOpen={() => void open()} opening={opening} />}
    </li>
  );
}

/** "Show producing cells" for each metric of a run; nothing when the lab gave no slice source. */
export function ProducingCells(props: { runId: string; metrics: string[] }): JSX.Element | null {
  const source = React.useContext(SliceSourceContext);
  if (!source || props.metrics.length === 0) {
    return null;
  }
  return (
    <ul className="jp-Mlops-list jp-Mlops-sliceMetrics" aria-label="Producing cells">
      {props.metrics.map(metric => (
        <MetricSlice key={metric} runId={props.runId} metric={metric} source={source} />
      ))}
    </ul>
  );
}
