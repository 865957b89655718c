import * as React from 'react';

import { IFilterState, ISort } from '../logic';
import { Mlops } from '../tokens';
import { IReproducePanelProps } from './ReproducePanel';
import { FilterBar } from './FilterBar';
import { RunDetails } from './RunDetails';
import { columns, RunsTable } from './RunsTable';

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
  /** The Reproduce panel of the shown run (table mode). */
  reproduce?: IReproducePanelProps;
  /**
   * `sidebar`: the narrow list (status, name, age, key metric) with an "Open runs table" button; a row opens
   * in the table. `table` (default): the main-area table with every column, a column chooser and the details.
   */
  mode?: 'sidebar' | 'table';
  /** Param columns of the table. */
  params?: string[];
  /** Columns hidden in the table, and a change of them. */
  hidden?: ReadonlySet<string>;
  onHiddenChange?: (hidden: Set<string>) => void;
  /** The sidebar's "Open runs table" button. */
  onOpenTable?: () => void;
  /** The sidebar's "Models" button: registered models, versions and lineage in the main area. */
  onOpenModels?: () => void;
}

/** The table's column chooser: every column but the name, checked when shown. */
function ColumnChooser(props: {
  keyMetrics: string[];
  params: string[];
  hidden: ReadonlySet<string>;
  onChange: (hidden: Set<string>) => void;
}): JSX.Element {
  const choices = columns(props.keyMetrics, new Set(), props.params).filter(c => c.key !== 'name' && c.key !== 'status');
  return (
    <details className="jp-Mlops-columnChooser">
      <summary className="jp-Mlops-button">Columns</summary>
      <div className="jp-Mlops-columnList">
        {choices.map(col => (
          <label key={col.key} className="jp-Mlops-columnChoice">
            <input
              type="checkbox"
              data-key={col.key}
              checked={!props.hidden.has(col.key)}
              onChange={event => {
                const next = new Set(props.hidden);
                if (event.currentTarget.checked) {
                  next.delete(col.key);
                } else {
                  next.add(col.key);
                }
                props.onChange(next);
              }}
            />
            {col.key.startsWith('params.') ? `param ${col.label}` : col.label}
          </label>
        ))}
      </div>
    </details>
  );
}

/** The Experiments sidebar: filter box, toolbar, virtualised runs table and the selected run's details. */
export function RunsPanel(props: IRunsPanelProps): JSX.Element {
  const count = props.selection.size;
  const sidebar = props.mode === 'sidebar';
  const hidden = props.hidden ?? new Set<string>();
  return (
    <div className={`jp-Mlops-panel${sidebar ? ' jp-mod-sidebar' : ' jp-mod-table'}`}>
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
        {sidebar && props.onOpenTable && (
          <button
            className="jp-Mlops-button jp-Mlops-openTable"
            onClick={props.onOpenTable}
            title="Open the full, sortable runs table (every column, run details) in the main area"
            aria-label="Open runs table"
          >
            Table
          </button>
        )}
        {sidebar && props.onOpenModels && (
          <button
            className="jp-Mlops-button jp-Mlops-openModels"
            onClick={props.onOpenModels}
            title="Open the registered models: versions, aliases, stages, lineage and history"
            aria-label="Open models"
          >
            Models
          </button>
        )}
        {!sidebar && props.onHiddenChange && (
          <ColumnChooser
            keyMetrics={props.keyMetrics}
            params={props.params ?? []}
            hidden={hidden}
            onChange={props.onHiddenChange}
          />
        )}
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
          compact={sidebar}
          hidden={hidden}
          params={props.params}
        />
      )}
      {!sidebar && props.detailError && (
        <div className="jp-Mlops-error" role="alert">
          {props.detailError}
        </div>
      )}
      {!sidebar && props.detail && (
        <RunDetails
          detail={props.detail}
          onSave={props.onSave}
          onClose={props.onCloseDetails}
          reproduce={props.reproduce}
        />
      )}
    </div>
  );
}
