import { ReactWidget } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import * as React from 'react';

import { RunsPanel } from '../components/RunsPanel';
import { ISliceSource, SliceSourceContext } from '../components/SliceCells';
import { defaultMetricKeys, defaultParamKeys, EMPTY_FILTER, filterReducer, nextSort } from '../logic';
import { RunsModel } from '../model';
import { Mlops } from '../tokens';
import { IReproduceSource, useReproduction } from './reproduction';

/** Re-render on every model change; returns a counter so hooks depending on the model re-run. */
function useModel(model: RunsModel): number {
  const [version, setVersion] = React.useState(0);
  React.useEffect(() => {
    const bump = () => setVersion(v => v + 1);
    model.changed.connect(bump);
    return () => {
      model.changed.disconnect(bump);
    };
  }, [model]);
  return version;
}

interface IContainerProps {
  model: RunsModel;
  onCompare: (ids: string[]) => void;
  mode: 'sidebar' | 'table';
  /** Open (or bring forward) the main-area runs table. */
  onOpenTable?: () => void;
  /** Open (or bring forward) the main-area Models view. */
  onOpenModels?: () => void;
  /** The run details' "Show producing cells" (issue 14); none in the sidebar. */
  slices?: ISliceSource | null;
}

/** Wires the model to the props-only panel: filter box state, details fetching, focusing a run. */
function RunsContainer(props: IContainerProps): JSX.Element {
  const { model, mode } = props;
  useModel(model);
  const [hidden, setHidden] = React.useState<ReadonlySet<string>>(new Set());
  const [filter, dispatch] = React.useReducer(filterReducer, EMPTY_FILTER);
  const [detail, setDetail] = React.useState<Mlops.IRunDetail | null>(null);
  const [detailError, setDetailError] = React.useState<string | null>(null);
  const [scrollTo, setScrollTo] = React.useState<number | null>(null);
  const active = model.activeId;
  const source = React.useMemo<IReproduceSource>(
    () => ({
      start: (id, options) => model.reproduce(id, options),
      get: jobId => model.getJob(jobId),
      cancel: jobId => model.cancelJob(jobId)
    }),
    [model]
  );
  // The new run exists once the job ends: reload, so "Open new run" finds it in the table.
  const reproduction = useReproduction(source, mode === 'table' ? active : null, () => void model.refresh());

  React.useEffect(() => {
    setDetailError(null);
    // Details live in the main-area table; the narrow sidebar does not fetch them.
    if (!active || mode === 'sidebar') {
      setDetail(null);
      return;
    }
    let current = true;
    model
      .getDetail(active)
      .then(d => current && setDetail(d))
      .catch((e: Error) => current && setDetailError(e.message));
    return () => {
      current = false;
    };
  }, [model, active, mode]);

  React.useEffect(() => {
    const onFocus = (_: RunsModel, id: string) => {
      for (let i = 0; i < model.total; i++) {
        if (model.rowAt(i)?.id === id) {
          setScrollTo(i);
          return;
        }
      }
    };
    model.focusRequested.connect(onFocus);
    return () => {
      model.focusRequested.disconnect(onFocus);
    };
  }, [model]);

  const apply = async (text: string) => {
    if (await model.setFilter(text)) {
      dispatch({ type: 'applied', text: text.trim() });
    } else {
      dispatch({ type: 'failed', text, message: model.error?.message ?? 'invalid filter', position: model.error?.position ?? null });
    }
  };
  const onRange = React.useCallback((start: number, end: number) => void model.ensureRange(start, end), [model]);
  const error = model.error && model.error.code !== 'INVALID_FILTER' ? model.error.message : null;
  const firstPage: Mlops.IRun[] = [];
  for (let i = 0; i < Math.min(model.total, model.pageSize); i++) {
    const run = model.rowAt(i);
    if (run) {
      firstPage.push(run);
    }
  }
  const chosen = model.keyMetrics;
  const derived = defaultMetricKeys(firstPage, mode === 'table' ? 8 : 3).join('\n');
  const paramKey = mode === 'table' ? defaultParamKeys(firstPage).join('\n') : '';
  const params = React.useMemo(() => (paramKey ? paramKey.split('\n') : []), [paramKey]);
  const keyMetrics = React.useMemo(() => (chosen.length ? chosen : derived ? derived.split('\n') : []), [chosen, derived]);
  // A stable set while the shared names stay the same, so the table's columns are not rebuilt on every render.
  const sharedKey = Array.from(model.sharedNames()).sort().join('\n');
  const shared = React.useMemo(() => new Set(sharedKey ? sharedKey.split('\n') : []), [sharedKey]);

  return (
    <SliceSourceContext.Provider value={props.slices ?? null}>
    <RunsPanel
      mode={mode}
      params={params}
      hidden={hidden}
      onHiddenChange={setHidden}
      onOpenTable={props.onOpenTable}
      onOpenModels={props.onOpenModels}
      filter={filter}
      total={model.total}
      rowAt={i => model.rowAt(i)}
      keyMetrics={keyMetrics}
      sharedNames={shared}
      sort={model.sort}
      selection={model.selection}
      activeId={active}
      scrollToIndex={scrollTo}
      loading={model.loading}
      error={error}
      detail={detail && detail.run.id === active ? detail : null}
      detailError={detailError}
      onFilterEdit={text => dispatch({ type: 'edit', text })}
      onFilterApply={text => void apply(text)}
      onFilterClear={() => {
        dispatch({ type: 'clear' });
        void model.setFilter('');
      }}
      onSort={key => void model.setSort(nextSort(model.sort, key))}
      onToggleSelected={id => model.toggleSelected(id)}
      onActivate={id => {
        if (mode === 'sidebar') {
          // A row's details open in the wide table, where they do not wrap (issue 9, item 22).
          model.setActive(id);
          props.onOpenTable?.();
        } else {
          model.setActive(id === active ? null : id);
        }
      }}
      onRange={onRange}
      onCompare={() => props.onCompare(model.selectedForCompare())}
      onClearSelection={() => model.clearSelection()}
      onRefresh={() => void model.refresh()}
      onSave={async patch => {
        if (active) {
          const run = await model.patchRun(active, patch);
          setDetail(d => (d && d.run.id === run.id ? { ...d, run } : d));
        }
      }}
      onCloseDetails={() => model.setActive(null)}
      reproduce={{
        job: reproduction.job,
        error: reproduction.error,
        onStart: reproduction.start,
        onCancel: reproduction.cancel,
        onOpenRun: id => void model.refresh().then(() => model.focusRun(id))
      }}
    />
    </SliceSourceContext.Provider>
  );
}

/** The left-sidebar "Experiments" panel: the compact list. */
export class SidebarWidget extends ReactWidget {
  constructor(
    readonly model: RunsModel,
    private readonly _onCompare: (ids: string[]) => void,
    private readonly _onOpenTable: () => void = () => undefined,
    private readonly _onOpenModels?: () => void
  ) {
    super();
    this.addClass('jp-Mlops-sidebar');
  }

  /** Load and poll only once the panel is first shown, so a lab that never opens it costs no requests. */
  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.model.setVisible(this, true);
    if (!this._started) {
      this._started = true;
      this.model.start();
      void this.model.refresh();
    } else {
      void this.model.checkForNew();
    }
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.model.setVisible(this, false);
  }

  render(): JSX.Element {
    return <RunsContainer model={this.model} onCompare={this._onCompare} mode="sidebar" onOpenTable={this._onOpenTable} onOpenModels={this._onOpenModels} />;
  }

  private _started = false;
}

/** The main-area "Runs" table: every column (choosable), sortable, with the active run's details. */
export class RunsTableWidget extends ReactWidget {
  constructor(
    readonly model: RunsModel,
    private readonly _onCompare: (ids: string[]) => void,
    private readonly _slices: ISliceSource | null = null
  ) {
    super();
    this.addClass('jp-Mlops-runsTable');
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.model.setVisible(this, true);
    this.model.start();
    void this.model.refresh();
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.model.setVisible(this, false);
  }

  dispose(): void {
    this.model.setVisible(this, false);
    super.dispose();
  }

  render(): JSX.Element {
    return <RunsContainer model={this.model} onCompare={this._onCompare} mode="table" slices={this._slices} />;
  }
}
