import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IModelsSource, ModelsView } from '../components/ModelsView';
import { requestAPI } from '../handler';
import { modelPath, Models } from '../modelsLogic';

/** The Models view's requests, all through the one `requestAPI` (docs/openapi.yaml); changes POST with XSRF. */
export const modelsSource: IModelsSource = {
  list: async () => (await requestAPI<{ models: Models.ISummary[] }>('models')).models,
  versions: async name => (await requestAPI<{ versions: Models.IVersion[] }>(modelPath(name))).versions,
  lineage: ref => requestAPI<Models.ILineage>(modelPath(ref, 'lineage')),
  history: async name => (await requestAPI<{ history: Models.IEvent[] }>(modelPath(name, 'history'))).history,
  change: async (ref, request) =>
    (
      await requestAPI<{ event: Models.IEvent }>(modelPath(ref, request.what), {
        method: 'POST',
        body: JSON.stringify(request.body)
      })
    ).event
};

/** The main-area "Models" view: registered models, versions with aliases/stages, lineage picture and history. */
export class ModelsWidget extends ReactWidget {
  constructor(private readonly _source: IModelsSource = modelsSource) {
    super();
    this.addClass('jp-Mlops-modelsWidget');
  }

  render(): JSX.Element {
    return <ModelsView source={this._source} />;
  }
}
