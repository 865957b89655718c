import * as React from 'react';

import { formatTime, historyRow, Models, versionRef } from '../modelsLogic';
import { LineagePicture } from './LineagePicture';
import { ModelChangeForm } from './ModelChangeForm';

/** What the view fetches; the widget passes functions over the one `requestAPI`. */
export interface IModelsSource {
  list(): Promise<Models.ISummary[]>;
  versions(name: string): Promise<Models.IVersion[]>;
  lineage(ref: string): Promise<Models.ILineage>;
  history(name: string): Promise<Models.IEvent[]>;
  /** Set an alias or a stage (`POST models/{ref}/alias|stage`). */
  change(ref: string, request: Models.IChangeRequest): Promise<Models.IEvent>;
}

function useLoad<T>(load: (() => Promise<T>) | null, deps: unknown[]): { value: T | null; error: string | null } {
  const [state, setState] = React.useState<{ value: T | null; error: string | null }>({ value: null, error: null });
  React.useEffect(() => {
    setState({ value: null, error: null });
    if (!load) {
      return;
    }
    let current = true;
    load()
      .then(value => current && setState({ value, error: null }))
      .catch((e: Error) => current && setState({ value: null, error: e.message }));
    return () => {
      current = false;
    };
  }, deps);
  return state;
}

const HISTORY_HEADER = ['when', 'who', 'version', 'change', 'from', 'to', 'note'];

/** The Models view: registered models, a model's versions with aliases/stages and history, a version's lineage. */
export function ModelsView(props: { source: IModelsSource }): JSX.Element {
  const { source } = props;
  const [reload, setReload] = React.useState(0);
  const [model, setModel] = React.useState<string | null>(null);
  const [version, setVersion] = React.useState<string | null>(null);
  const [editing, setEditing] = React.useState<string | null>(null);
  const models = useLoad(() => source.list(), [source, reload]);
  const versions = useLoad(model ? () => source.versions(model) : null, [source, model, reload]);
  const history = useLoad(model ? () => source.history(model) : null, [source, model, reload]);
  const lineage = useLoad(
    model && version ? () => source.lineage(versionRef(model, version)) : null,
    [source, model, version, reload]
  );

  return (
    <div className="jp-Mlops-models">
      <div className="jp-Mlops-toolbar">
        <span className="jp-Mlops-title">Models</span>
        <button className="jp-Mlops-button" onClick={() => setReload(r => r + 1)} title="Reload models">
          Refresh
        </button>
      </div>
      {models.error && <div className="jp-Mlops-error">{models.error}</div>}
      {models.value && models.value.length === 0 && (
        <div className="jp-Mlops-empty">No models registered yet: run.log_model(obj, "name") registers one.</div>
      )}
      {models.value && models.value.length > 0 && (
        <table className="jp-Mlops-modelList">
          <thead>
            <tr>
              <th>model</th>
              <th>latest</th>
              <th>versions</th>
              <th>aliases</th>
              <th>updated</th>
            </tr>
          </thead>
          <tbody>
            {models.value.map(m => (
              <tr
                key={m.name}
                className={m.name === model ? 'jp-mod-active' : ''}
                data-model={m.name}
                onClick={() => {
                  setModel(m.name);
                  setVersion(null);
                  setEditing(null);
                }}
              >
                <td>
                  <button className="jp-Mlops-link">{m.name}</button>
                </td>
                <td>{m.latest}</td>
                <td>{m.versions}</td>
                <td>
                  {Object.entries(m.aliases)
                    .sort()
                    .map(([a, v]) => `${a}=${v}`)
                    .join(', ') || '-'}
                </td>
                <td>{formatTime(m.updated)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {model && (
        <section className="jp-Mlops-modelVersions" aria-label={`Versions of ${model}`}>
          <h3>Versions of {model}</h3>
          {versions.error && <div className="jp-Mlops-error">{versions.error}</div>}
          {versions.value && (
            <table>
              <thead>
                <tr>
                  <th>version</th>
                  <th>stage</th>
                  <th>aliases</th>
                  <th>flavor</th>
                  <th>run</th>
                  <th>created</th>
                  <th>lineage</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {versions.value.map(v => (
                  <tr key={v.version} className={v.version === version ? 'jp-mod-active' : ''} data-version={v.version}>
                    <td>{v.version}</td>
                    <td>{v.stage}</td>
                    <td>{v.aliases.join(', ') || '-'}</td>
                    <td>{v.flavor}</td>
                    <td>{(v.run_id ?? '-').slice(0, 8)}</td>
                    <td>{formatTime(v.created)}</td>
                    <td title={v.lineage_gaps.join('; ')}>{v.lineage_gaps.length ? 'incomplete' : 'complete'}</td>
                    <td>
                      <button className="jp-Mlops-button jp-Mlops-lineageButton" onClick={() => setVersion(v.version)}>
                        Lineage
                      </button>{' '}
                      <button
                        className="jp-Mlops-button jp-Mlops-changeButton"
                        onClick={() => setEditing(v.version)}
                        title="Set an alias or a stage on this version"
                      >
                        Change…
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {editing && (
            <ModelChangeForm
              key={editing}
              versionRef={versionRef(model, editing)}
              onChange={request => source.change(versionRef(model, editing), request)}
              onDone={() => setReload(r => r + 1)}
              onCancel={() => setEditing(null)}
            />
          )}
          {version && (
            <div className="jp-Mlops-lineageBox">
              <h3>Lineage of {versionRef(model, version)}</h3>
              {lineage.error && <div className="jp-Mlops-error">{lineage.error}</div>}
              {!lineage.value && !lineage.error && <div className="jp-Mlops-empty">Loading lineage…</div>}
              {lineage.value && <LineagePicture lineage={lineage.value} />}
              {lineage.value && lineage.value.model.lineage_gaps.length > 0 && (
                <div className="jp-Mlops-muted">Lineage incomplete: {lineage.value.model.lineage_gaps.join('; ')}</div>
              )}
            </div>
          )}
          <h3>Alias and stage history</h3>
          {history.error && <div className="jp-Mlops-error">{history.error}</div>}
          {history.value && history.value.length === 0 && <div className="jp-Mlops-empty">No alias or stage changes yet.</div>}
          {history.value && history.value.length > 0 && (
            <table className="jp-Mlops-modelHistory">
              <thead>
                <tr>
                  {HISTORY_HEADER.map(h => (
                    <th key={h}>{h}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {history.value.map((e, i) => (
                  <tr key={i}>
                    {historyRow(e).map((cell, j) => (
                      <td key={j}>{cell}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      )}
    </div>
  );
}
