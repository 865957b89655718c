import * as React from 'react';

import { IFilterState } from '../logic';

/** Props of the filter box. */
export interface IFilterBarProps {
  state: IFilterState;
  /** The user typed. */
  onEdit: (text: string) => void;
  /** The user pressed Enter or the apply button. */
  onApply: (text: string) => void;
  /** The user cleared the box. */
  onClear: () => void;
}

/**
 * The filter box: the filter language of the tracking core (`metrics.auc > 0.8 and tag = "lgbm"`).
 * A rejected filter shows the server's message inline, with a caret under the offending column.
 */
export function FilterBar(props: IFilterBarProps): JSX.Element {
  const { state } = props;
  const dirty = state.draft.trim() !== state.applied;
  return (
    <div className="jp-Mlops-filter">
      <form
        className="jp-Mlops-filterForm"
        onSubmit={event => {
          event.preventDefault();
          props.onApply(state.draft);
        }}
      >
        <input
          className={`jp-Mlops-filterInput${state.error ? ' jp-mod-error' : ''}`}
          type="search"
          spellCheck={false}
          placeholder='Filter: metrics.auc > 0.8 and tag = "lgbm"'
          aria-label="Filter runs"
          aria-invalid={state.error !== null}
          value={state.draft}
          onChange={event => props.onEdit(event.target.value)}
          onKeyDown={event => {
            if (event.key === 'Escape') {
              props.onClear();
            }
          }}
        />
        <button type="submit" className="jp-Mlops-button" disabled={!dirty && state.error === null}>
          Apply
        </button>
      </form>
      {state.error !== null && (
        <div className="jp-Mlops-filterError" role="alert">
          {state.position !== null && (
            <pre className="jp-Mlops-filterCaret">
              {state.draft}
              {'\n'}
              {' '.repeat(Math.min(state.position, state.draft.length)) + '^'}
            </pre>
          )}
          <span>{state.error}</span>
        </div>
      )}
    </div>
  );
}
