import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ReactWidget } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { ChartRenderer, CompareView } from '../components/CompareView';
import { fitToHost } from '../logic';
import { RunsModel } from '../model';
import { Mlops } from '../tokens';

export const VEGALITE_MIME = 'application/vnd.vegalite.v5+json';

/** Resolves once the element has a width (it may still be hidden while the main-area widget is revealed). */
function laidOut(node: HTMLElement): Promise<void> {
  if (node.clientWidth > 0) {
    return Promise.resolve();
  }
  return new Promise(resolve => {
    const observer = new ResizeObserver(() => {
      if (node.clientWidth > 0) {
        observer.disconnect();
        resolve();
      }
    });
    observer.observe(node);
  });
}

/**
 * Render a Vega-Lite spec with JupyterLab's own Vega renderer (the one notebooks use), so the lab, the
 * notebook widget and HTML reports share one chart code path.
 */
export function makeChartRenderer(rendermime: IRenderMimeRegistry): ChartRenderer {
  return async (spec, host) => {
    const data = { [VEGALITE_MIME]: fitToHost(spec) as any };
    if (!rendermime.preferredMimeType(data, 'any')) {
      throw new Error('JupyterLab has no Vega-Lite renderer enabled');
    }
    // The host's width sizes the chart: drawing into a host that is not laid out yet gives a zero-width chart.
    await laidOut(host);
    const renderer = rendermime.createRenderer(VEGALITE_MIME);
    Widget.attach(renderer, host);
    await renderer.renderModel(rendermime.createModel({ data, trusted: true }));
    return () => renderer.dispose();
  };
}

/** Fetches a comparison and shows it; reloads when asked. */
function CompareContainer(props: { model: RunsModel; ids: string[]; render: ChartRenderer }): JSX.Element {
  const [comparison, setComparison] = React.useState<Mlops.IComparison | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  React.useEffect(() => {
    let current = true;
    props.model
      .compare(props.ids)
      .then(c => current && setComparison(c))
      .catch((e: Error) => current && setError(e.message));
    return () => {
      current = false;
    };
  }, [props.model, props.ids.join(',')]);
  if (error) {
    return <div className="jp-Mlops-error">{error}</div>;
  }
  if (!comparison) {
    return <div className="jp-Mlops-empty">Loading comparison…</div>;
  }
  return <CompareView comparison={comparison} renderChart={props.render} />;
}

/** The main-area compare view of two or more runs. */
export class CompareWidget extends ReactWidget {
  constructor(
    private readonly _model: RunsModel,
    readonly ids: string[],
    rendermime: IRenderMimeRegistry
  ) {
    super();
    this._render = makeChartRenderer(rendermime);
    this.addClass('jp-Mlops-compareWidget');
  }

  render(): JSX.Element {
    return <CompareContainer model={this._model} ids={this.ids} render={this._render} />;
  }

  private _render: ChartRenderer;
}
