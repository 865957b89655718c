import { JupyterFrontEnd } from '@jupyterlab/application';

import { ISliceSource } from '../components/SliceCells';
import { requestAPI } from '../handler';
import { SliceCells, sliceNotebook, slicePath } from '../sliceCellsLogic';

/**
 * The folder the file browser shows, where "New notebook" would create one ('' = the server root).
 *
 * Read from the left area's file browser widget rather than its token: the token's package is not a dependency
 * of the extension, and a lab without a file browser still gets the notebook, at the root.
 */
function browserFolder(app: JupyterFrontEnd): string {
  for (const widget of app.shell.widgets('left')) {
    const path = (widget as any)?.model?.path;
    if (widget.id === 'filebrowser' && typeof path === 'string') {
      return path;
    }
  }
  return '';
}

/**
 * The lab's slice source: the REST call, and "Open as new notebook": an untitled notebook created in the file
 * browser's folder by the contents API, saved with the slice, then opened (ADR-110). Writing before opening
 * matters: replacing the cells of an open notebook races with its lazy cell rendering.
 */
export function sliceSource(app: JupyterFrontEnd): ISliceSource {
  return {
    fetch: (runId, metric) => requestAPI<SliceCells.IReport>(slicePath(runId, metric)),
    open: async report => {
      const contents = app.serviceManager.contents;
      const created = await contents.newUntitled({ path: browserFolder(app), type: 'notebook' });
      await contents.save(created.path, { type: 'notebook', format: 'json', content: sliceNotebook(report) });
      await app.commands.execute('docmanager:open', { path: created.path });
      return created.path;
    }
  };
}
