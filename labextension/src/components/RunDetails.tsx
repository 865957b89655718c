import * as React from 'react';

import {
  environmentRows,
  formatBytes,
  formatDuration,
  formatParam,
  formatTime,
  formatValue,
  parseTags,
  runWarnings,
  writtenAsFloat
} from '../logic';
import { Mlops } from '../tokens';
import { IReproducePanelProps, ReproducePanel } from './ReproducePanel';
import { StatusDot, WarningBadge } from './RunsTable';
import { LocalOnlyBadge } from './LocalOnlyBadge';
import { ProducingCells } from './SliceCells';

/** Props of the run details panel. */
export interface IRunDetailsProps {
  detail: Mlops.IRunDetail;
  /** Save a patch (note and/or tags); rejects with the server's message. */
  onSave: (patch: Mlops.IRunPatch) => Promise<void>;
  onClose: () => void;
  /** The Reproduce panel's job and callbacks; without them the panel is not shown. */
  reproduce?: IReproducePanelProps;
}

/** Key/value rows; params show as given, other values rounded. */
function KeyValues(props: { values: Record<string, unknown>; empty: string; params?: boolean }): JSX.Element {
  const keys = Object.keys(props.values).sort();
  if (keys.length === 0) {
    return <div className="jp-Mlops-empty">{props.empty}</div>;
  }
  return (
    <table className="jp-Mlops-kv">
      <tbody>
        {keys.map(key => (
          <tr key={key}>
            <th>{key}</th>
            <td>
              {props.params
                ? formatParam(props.values[key], writtenAsFloat(props.values, key))
                : formatValue(props.values[key])}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Section(props: { title: string; children: React.ReactNode; open?: boolean }): JSX.Element {
  return (
    <details className="jp-Mlops-section" open={props.open ?? true}>
      <summary>{props.title}</summary>
      {props.children}
    </details>
  );
}

function DataInputs(props: { inputs: Mlops.IDataInput[] }): JSX.Element {
  if (props.inputs.length === 0) {
    return <div className="jp-Mlops-empty">No data inputs recorded.</div>;
  }
  return (
    <ul className="jp-Mlops-list">
      {props.inputs.map(input => (
        <li key={`${input.role}:${input.name}`}>
          <code>{input.name}</code> <span className="jp-Mlops-muted">{input.role}</span>
          <div className="jp-Mlops-muted" title={input.hash}>
            {input.hash.slice(0, 24)}… {formatBytes(input.size)}
            {input.schema?.rows !== undefined ? ` · ${input.schema.rows} rows` : ''}
          </div>
          {input.schema?.columns && (
            <div className="jp-Mlops-columns">
              {input.schema.columns.map(c => `${c.name}: ${c.dtype}`).join(', ')}
            </div>
          )}
        </li>
      ))}
    </ul>
  );
}

/** The editable note and tags of a run; each saves through `onSave` (PATCH). */
function Editable(props: { run: Mlops.IRun; onSave: IRunDetailsProps['onSave'] }): JSX.Element {
  const { run } = props;
  const [note, setNote] = React.useState(run.note);
  const [tags, setTags] = React.useState(run.tags.join(', '));
  const [status, setStatus] = React.useState<string | null>(null);
  React.useEffect(() => {
    setNote(run.note);
    setTags(run.tags.join(', '));
  }, [run.id, run.note, run.tags.join(',')]);

  const save = async (patch: Mlops.IRunPatch) => {
    setStatus('Saving…');
    try {
      await props.onSave(patch);
      setStatus('Saved');
    } catch (error) {
      setStatus(error instanceof Error ? error.message : String(error));
    }
  };
  return (
    <div className="jp-Mlops-editable">
      <label className="jp-Mlops-label">
        Tags
        <input
          className="jp-Mlops-tagsInput"
          value={tags}
          onChange={event => setTags(event.target.value)}
          onKeyDown={event => event.key === 'Enter' && void save({ tags: parseTags(tags) })}
          onBlur={() => parseTags(tags).join(',') !== run.tags.join(',') && void save({ tags: parseTags(tags) })}
        />
      </label>
      <label className="jp-Mlops-label">
        Note
        <textarea
          className="jp-Mlops-noteInput"
          value={note}
          rows={3}
          onChange={event => setNote(event.target.value)}
        />
      </label>
      <div className="jp-Mlops-actions">
        <button
          className="jp-Mlops-button jp-mod-accept"
          disabled={note === run.note}
          onClick={() => void save({ note })}
        >
          Save note
        </button>
        {status && <span className="jp-Mlops-saveStatus">{status}</span>}
      </div>
    </div>
  );
}

/** One line per reason not to trust a run's result (notebook-state flags, points the writer dropped). */
export function Warnings(props: { warnings: string[] }): JSX.Element | null {
  if (props.warnings.length === 0) {
    return null;
  }
  return (
    <ul className="jp-Mlops-warnings" aria-label="Warnings">
      {props.warnings.map(w => (
        <li key={w}>
          <WarningBadge warnings={[w]} /> {w}
        </li>
      ))}
    </ul>
  );
}

/** Everything about one run: params, metrics, data inputs, artifacts, environment, git, code; note and tags editable. */
export function RunDetails(props: IRunDetailsProps): JSX.Element {
  const { run, env, code } = props.detail;
  const packages = env?.packages ?? {};
  return (
    <div className="jp-Mlops-details" data-run-id={run.id}>
      <div className="jp-Mlops-detailsHeader">
        <StatusDot status={run.status} />
        <span className="jp-Mlops-detailsTitle">{run.name}</span>
        <span className="jp-Mlops-muted">{run.id.slice(0, 8)}</span>
        <LocalOnlyBadge run={run} />
        <button className="jp-Mlops-close" title="Close details" aria-label="Close details" onClick={props.onClose}>
          ×
        </button>
      </div>
      <div className="jp-Mlops-muted">
        {run.experiment} · {run.status} · {formatTime(run.start_time)} · {formatDuration(run.duration)}
        {run.notebook_path ? ` · ${run.notebook_path}` : ''}
      </div>
      <Warnings warnings={runWarnings(run)} />
      <Editable run={run} onSave={props.onSave} />
      {props.reproduce && (
        <Section title="Reproduce">
          <ReproducePanel {...props.reproduce} />
        </Section>
      )}
      <Section title="Params">
        <KeyValues values={run.params} empty="No params recorded." params />
      </Section>
      <Section title="Metrics">
        <KeyValues values={run.metrics} empty="No metrics recorded." />
        <ProducingCells runId={run.id} metrics={Object.keys(run.metrics).sort()} />
      </Section>
      <Section title="Data inputs">
        <DataInputs inputs={run.data_inputs} />
      </Section>
      <Section title="Artifacts" open={run.artifacts.length > 0}>
        {run.artifacts.length === 0 ? (
          <div className="jp-Mlops-empty">No artifacts.</div>
        ) : (
          <ul className="jp-Mlops-list">
            {run.artifacts.map(a => (
              <li key={a.path}>
                <code>{a.path}</code> <span className="jp-Mlops-muted">{formatBytes(a.size)}</span>
              </li>
            ))}
          </ul>
        )}
      </Section>
      <Section title="Git" open={false}>
        <KeyValues
          values={run.git_commit ? { commit: run.git_commit, dirty: run.git_dirty } : {}}
          empty="Not in a git repository."
        />
      </Section>
      <Section title="Environment" open={false}>
        {env ? (
          <>
            <table className="jp-Mlops-kv jp-Mlops-envRows">
              <tbody>
                {environmentRows(env as Record<string, unknown>).map(([label, value]) => (
                  <tr key={label}>
                    <th>{label}</th>
                    <td>{value}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {Object.keys(packages).length > 0 && (
              <details className="jp-Mlops-packages">
                <summary>Package versions</summary>
                <ul className="jp-Mlops-list">
                  {Object.keys(packages)
                    .sort()
                    .map(name => (
                      <li key={name}>
                        <code>
                          {name}=={String(packages[name])}
                        </code>
                      </li>
                    ))}
                </ul>
              </details>
            )}
          </>
        ) : (
          <div className="jp-Mlops-empty">No environment snapshot.</div>
        )}
      </Section>
      <Section title="Executed code" open={false}>
        {code?.cells?.length ? (
          code.cells.map(cell => (
            <pre key={`${cell.index}:${cell.execution_count}`} className="jp-Mlops-code">
              <span className="jp-Mlops-muted">[{cell.execution_count ?? ' '}]</span> {cell.source}
            </pre>
          ))
        ) : (
          <div className="jp-Mlops-empty">No code snapshot.</div>
        )}
      </Section>
    </div>
  );
}
