import { ReactWidget } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import * as React from 'react';

import { RunsPanel } from '../components/RunsPanel';
import { defaultMetricKeys, EMPTY_FILTER, filterReducer, nextSort } from '../logic';
import { RunsModel } from '../model';
import { Mlops } from '../tokens';

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

/** Wires the model to the props-only panel: filter box state, details fetching, focusing a run. */
function SidebarContainer(props: { model: RunsModel; onCompare: (ids: string[]) => void }): JSX.Element {
  const { model } = props;
  useModel(model);
  const [filter, dispatch] = React.useReducer(filterReducer, EMPTY_FILTER);
  const [detail, setDetail] = React.useState<Mlops.IRunDetail | null>(null);
  const [detailError, setDetailError] = React.useState<string | null>(null);
  const [scrollTo, setScrollTo] = React.useState<number | null>(null);
  const active = model.activeId;

  React.useEffect(() => {
    setDetailError(null);
    if (!active) {
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
  }, [model, active]);

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
  const derived = defaultMetricKeys(firstPage).join('\n');
  const keyMetrics = React.useMemo(() => (chosen.length ? chosen : derived ? derived.split('\n') : []), [chosen, derived]);
  // A stable set while the shared names stay the same, so the table's columns are not rebuilt on every render.
  const sharedKey = Array.from(model.sharedNames()).sort().join('\n');
  const shared = React.useMemo(() => new Set(sharedKey ? sharedKey.split('\n') : []), [sharedKey]);

  return (
    <RunsPanel
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
      onActivate={id => model.setActive(id === active ? null : id)}
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
    />
  );
}

/** The left-sidebar "Experiments" panel. */
export class SidebarWidget extends ReactWidget {
  constructor(
    readonly model: RunsModel,
    private readonly _onCompare: (ids: string[]) => void
  ) {
    super();
    this.addClass('jp-Mlops-sidebar');
  }

  /** Load and poll only once the panel is first shown, so a lab that never opens it costs no requests. */
  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (!this._started) {
      this._started = true;
      this.model.start();
      void this.model.refresh();
    }
  }

  render(): JSX.Element {
    return <SidebarContainer model={this.model} onCompare={this._onCompare} />;
  }

  private _started = false;
}
