import * as React from 'react';

import { IFilterState, ISort } from '../logic';
import { Mlops } from '../tokens';
import { FilterBar } from './FilterBar';
import { RunDetails } from './RunDetails';
import { RunsTable } from './RunsTable';

/** Props of the whole sidebar: the model's state and the container's callbacks. */
export interface IRunsPanelProps {
  filter: IFilterState;
  total: number;
  rowAt: (index: number) => Mlops.IRun | undefined;
  keyMetrics: string[];
  sharedNames?: ReadonlySet<string>;
  sort: ISort;
  selection: ReadonlySet<string>;
  activeId: string | null;
  scrollToIndex: number | null;
  loading: boolean;
  /** A non-filter error to show above the table (e.g. store unavailable). */
  error: string | null;
  detail: Mlops.IRunDetail | null;
  detailError: string | null;
  onFilterEdit: (text: string) => void;
  onFilterApply: (text: string) => void;
  onFilterClear: () => void;
  onSort: (key: string) => void;
  onToggleSelected: (id: string) => void;
  onActivate: (id: string) => void;
  onRange: (start: number, end: number) => void;
  onCompare: () => void;
  onClearSelection: () => void;
  onRefresh: () => void;
  onSave: (patch: Mlops.IRunPatch) => Promise<void>;
  onCloseDetails: () => void;
}

/** The Experiments sidebar: filter box, toolbar, virtualised runs table and the selected run's details. */
export function RunsPanel(props: IRunsPanelProps): JSX.Element {
  const count = props.selection.size;
  return (
    <div className="jp-Mlops-panel">
      <div className="jp-Mlops-title">
        <span>Experiments</span>
        <span className="jp-Mlops-muted jp-Mlops-count">
          {props.loading ? 'loading…' : `${props.total} run${props.total === 1 ? '' : 's'}`}
        </span>
      </div>
      <FilterBar
        state={props.filter}
        onEdit={props.onFilterEdit}
        onApply={props.onFilterApply}
        onClear={props.onFilterClear}
      />
      <div className="jp-Mlops-toolbar">
        <button
          className="jp-Mlops-button jp-mod-accept jp-Mlops-compareButton"
          disabled={count < 2}
          onClick={props.onCompare}
          title="Open the selected runs side by side"
        >
          Compare{count ? ` (${count})` : ''}
        </button>
        {count > 0 && (
          <button className="jp-Mlops-button" onClick={props.onClearSelection}>
            Clear selection
          </button>
        )}
        <button className="jp-Mlops-button" onClick={props.onRefresh} title="Reload runs">
          Refresh
        </button>
      </div>
      {props.error && (
        <div className="jp-Mlops-error" role="alert">
          {props.error}
        </div>
      )}
      {props.total === 0 && !props.loading && !props.error ? (
        <div className="jp-Mlops-empty jp-Mlops-noRuns">
          {props.filter.applied
            ? 'No runs match this filter.'
            : 'No runs yet. In a notebook: %load_ext jupyter_mlops then %track start.'}
        </div>
      ) : (
        <RunsTable
          total={props.total}
          rowAt={props.rowAt}
          keyMetrics={props.keyMetrics}
          sharedNames={props.sharedNames}
          sort={props.sort}
          selection={props.selection}
          activeId={props.activeId}
          scrollToIndex={props.scrollToIndex}
          onSort={props.onSort}
          onToggleSelected={props.onToggleSelected}
          onActivate={props.onActivate}
          onRange={props.onRange}
        />
      )}
      {props.detailError && (
        <div className="jp-Mlops-error" role="alert">
          {props.detailError}
        </div>
      )}
      {props.detail && (
        <RunDetails detail={props.detail} onSave={props.onSave} onClose={props.onCloseDetails} />
      )}
    </div>
  );
}
