import { JupyterFrontEnd } from '@jupyterlab/application';
import { NotebookPanel } from '@jupyterlab/notebook';

import { ISliceSource } from '../components/SliceCells';
import { requestAPI } from '../handler';
import { SliceCells, sliceNotebook, slicePath } from '../sliceCellsLogic';

/**
 * The lab's slice source: the REST call, and "Open as new notebook" through JupyterLab's own
 * `notebook:create-new` (an untitled notebook in the file browser's current folder, opened with the default
 * kernel), filled with the slice and saved (ADR-110).
 */
export function sliceSource(app: JupyterFrontEnd): ISliceSource {
  return {
    fetch: (runId, metric) => requestAPI<SliceCells.IReport>(slicePath(runId, metric)),
    open: async report => {
      const nb = sliceNotebook(report);
      const panel = (await app.commands.execute('notebook:create-new', {
        kernelName: nb.metadata.kernelspec?.name
      })) as NotebookPanel | undefined;
      if (!panel?.context) {
        throw new Error('JupyterLab could not create a notebook here');
      }
      await panel.context.ready;
      panel.context.model.fromJSON(nb as any);
      await panel.context.save();
      return panel.context.path;
    }
  };
}
