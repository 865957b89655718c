import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { RunsModel } from '../model';
import { Mlops } from '../tokens';

/**
 * Status-bar item: the running run of the active notebook (name and status), refreshed every few seconds.
 * Clicking it opens the run in the Experiments sidebar.
 */
export class RunStatusItem extends ReactWidget {
  constructor(
    private readonly _model: RunsModel,
    private readonly _onOpen: (run: Mlops.IRun) => void
  ) {
    super();
    this.addClass('jp-Mlops-statusItem');
  }

  /** The run shown, or null. */
  get run(): Mlops.IRun | null {
    return this._run;
  }

  /** Follow another notebook (null: none active). */
  setNotebook(path: string | null): void {
    this._path = path;
    this._run = null;
    this.update();
    void this.poll();
  }

  /** Ask the server for the notebook's running run; errors just clear the item. */
  async poll(): Promise<void> {
    const path = this._path;
    if (!path) {
      return;
    }
    let run: Mlops.IRun | null = null;
    try {
      run = await this._model.currentRun(path);
    } catch {
      run = null;
    }
    if (path === this._path && run?.id !== this._run?.id) {
      this._run = run;
      this.update();
    }
  }

  render(): JSX.Element | null {
    const run = this._run;
    if (!run) {
      return null;
    }
    return (
      <span
        className="jp-Mlops-statusText"
        title={`Tracked run ${run.name} (${run.status}); click to open in Experiments`}
        onClick={() => this._onOpen(run)}
      >
        <span className={`jp-Mlops-status jp-Mlops-status-${run.status}`} /> {run.name}
      </span>
    );
  }

  private _path: string | null = null;
  private _run: Mlops.IRun | null = null;
}
