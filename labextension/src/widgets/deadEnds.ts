import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

import { requestAPI } from '../handler';
import { notebookFilter } from '../logic';
import { deadEndCells, SliceCells, slicePath } from '../sliceCellsLogic';
import { Mlops } from '../tokens';

/** The class a dead-end cell gets (style/base.css draws the "dead end" mark). */
export const DEAD_END_CLASS = 'jp-Mlops-deadEnd';

/**
 * "Mark dead-end cells" (setting `markDeadEnds`, off by default): the current notebook's code cells that are in no
 * slice of any metric of the notebook's latest run get {@link DEAD_END_CLASS}. Updated when the notebook changes,
 * when a tracking cell finishes (`refresh`) and when the setting changes; cleared when it is turned off.
 */
export class DeadEndMarker {
  constructor(
    private readonly _tracker: INotebookTracker,
    private readonly _serverRoot: string
  ) {
    _tracker.currentChanged.connect(() => void this.refresh());
  }

  /** Turn the marks on or off (off removes them from every open notebook). */
  setEnabled(enabled: boolean): void {
    this._enabled = enabled;
    if (!enabled) {
      this._tracker.forEach(panel => mark(panel, []));
    }
    void this.refresh();
  }

  /** Recompute the marks of the current notebook; a failed request leaves the marks as they were. */
  async refresh(): Promise<void> {
    const panel = this._tracker.currentWidget;
    if (!this._enabled || !panel) {
      return;
    }
    await panel.context.ready;
    try {
      const filter = encodeURIComponent(notebookFilter(panel.context.path, this._serverRoot));
      const page = await requestAPI<Mlops.IRunsPage>(`runs?filter=${filter}&sort=-start_time&limit=1`);
      const run = page.runs[0];
      const reports = run
        ? await Promise.all(
            Object.keys(run.metrics).map(key =>
              requestAPI<SliceCells.IReport>(slicePath(run.id, key)).catch(() => null)
            )
          )
        : [];
      if (this._enabled && !panel.isDisposed) {
        const cells = panel.content.widgets.map(cell => ({ id: cell.model.id, type: cell.model.type }));
        mark(panel, deadEndCells(cells, reports));
      }
    } catch {
      // no store or no server: no marks to change
    }
  }

  private _enabled = false;
}

function mark(panel: NotebookPanel, dead: string[]): void {
  const ids = new Set(dead);
  for (const cell of panel.content.widgets) {
    const on = ids.has(cell.model.id);
    cell.toggleClass(DEAD_END_CLASS, on);
    if (on) {
      cell.node.title = 'Dead end: in no slice of any metric of this notebook\'s latest run';
    } else if (cell.node.title.startsWith('Dead end:')) {
      cell.node.title = '';
    }
  }
}
