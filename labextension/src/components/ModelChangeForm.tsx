import * as React from 'react';

import { changeRequests, Models } from '../modelsLogic';

/** Props of the form that sets an alias and/or a stage on one version. */
export interface IModelChangeFormProps {
  /** `NAME:VERSION` of the version changed. */
  versionRef: string;
  /** Send one request; rejects with the server's message (409: lineage incomplete, not forced). */
  onChange: (request: Models.IChangeRequest) => Promise<Models.IEvent>;
  /** Called after every request was accepted (the view reloads versions and history). */
  onDone: () => void;
  onCancel: () => void;
}

const EMPTY: Models.IChangeForm = { alias: '', stage: '', force: false, reason: '', note: '' };

/** Alias, stage, force with a reason, note: what `jupyter-mlops models alias|stage` takes. */
export function ModelChangeForm(props: IModelChangeFormProps): JSX.Element {
  const [form, setForm] = React.useState<Models.IChangeForm>(EMPTY);
  const [status, setStatus] = React.useState<{ text: string; error: boolean } | null>(null);
  const [busy, setBusy] = React.useState(false);
  const set = (patch: Partial<Models.IChangeForm>) => setForm(f => ({ ...f, ...patch }));

  const apply = async () => {
    const { requests, problem } = changeRequests(form);
    if (problem) {
      setStatus({ text: problem, error: true });
      return;
    }
    setBusy(true);
    setStatus(null);
    try {
      for (const request of requests) {
        await props.onChange(request);
      }
      setForm(EMPTY);
      setStatus({ text: 'Saved', error: false });
      props.onDone();
    } catch (error) {
      setStatus({ text: error instanceof Error ? error.message : String(error), error: true });
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="jp-Mlops-modelChange" aria-label={`Change ${props.versionRef}`}>
      <h3>Change {props.versionRef}</h3>
      <div className="jp-Mlops-modelChangeFields">
        <label>
          Alias
          <input
            className="jp-Mlops-aliasInput"
            value={form.alias}
            placeholder="champion"
            onChange={e => set({ alias: e.target.value })}
          />
        </label>
        <label>
          Stage
          <select
            className="jp-Mlops-stageSelect"
            value={form.stage}
            onChange={e => set({ stage: e.target.value as Models.IChangeForm['stage'] })}
          >
            <option value="">(unchanged)</option>
            <option value="staging">staging</option>
            <option value="production">production</option>
            <option value="archived">archived</option>
          </select>
        </label>
        <label title="Promote even though the lineage is incomplete; the reason is recorded in the history">
          <input type="checkbox" className="jp-Mlops-forceInput" checked={form.force} onChange={e => set({ force: e.target.checked })} />
          force
        </label>
        <label>
          Reason
          <input
            className="jp-Mlops-reasonInput"
            value={form.reason}
            disabled={!form.force}
            placeholder="why promote with incomplete lineage"
            onChange={e => set({ reason: e.target.value })}
          />
        </label>
        <label>
          Note
          <input className="jp-Mlops-changeNoteInput" value={form.note} onChange={e => set({ note: e.target.value })} />
        </label>
      </div>
      <div className="jp-Mlops-actions">
        <button className="jp-Mlops-button jp-mod-accept jp-Mlops-applyChange" disabled={busy} onClick={() => void apply()}>
          Apply
        </button>
        <button className="jp-Mlops-button" onClick={props.onCancel}>
          Close
        </button>
        {status && (
          <span className={status.error ? 'jp-Mlops-error jp-Mlops-changeStatus' : 'jp-Mlops-saveStatus jp-Mlops-changeStatus'} role={status.error ? 'alert' : undefined}>
            {status.text}
          </span>
        )}
      </div>
    </div>
  );
}
