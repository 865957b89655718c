import { IRenderMime, IRenderMimeRegistry } from '@jupyterlab/rendermime';
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
 * notebook widget and HTML reports share one chart code path. The chart is drawn to the host's width and
 * drawn again when that width changes (the sidebar dragged or collapsed); the host's width comes from CSS,
 * never from the chart, so a redraw cannot feed back into another.
 */
export function makeChartRenderer(rendermime: IRenderMimeRegistry): ChartRenderer {
  return async (spec, host) => {
    if (!rendermime.preferredMimeType({ [VEGALITE_MIME]: spec as any }, 'any')) {
      throw new Error('JupyterLab has no Vega-Lite renderer enabled');
    }
    // Drawing into a host that is not laid out yet gives a zero-width chart.
    await laidOut(host);
    let renderer: IRenderMime.IRenderer | null = null;
    let drawnWidth = -1;
    let disposed = false;
    const draw = async () => {
      const width = host.clientWidth;
      if (disposed || width === drawnWidth || width === 0) {
        return;
      }
      drawnWidth = width;
      renderer?.dispose();
      renderer = rendermime.createRenderer(VEGALITE_MIME);
      Widget.attach(renderer, host);
      const data = { [VEGALITE_MIME]: fitToHost(spec, width) as any };
      await renderer.renderModel(rendermime.createModel({ data, trusted: true }));
    };
    await draw();
    let timer: number | undefined;
    const observer = new ResizeObserver(() => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => void draw(), 150);
    });
    observer.observe(host);
    return () => {
      disposed = true;
      observer.disconnect();
      window.clearTimeout(timer);
      renderer?.dispose();
    };
  };
}

/** Fetches a comparison and shows it; reloads when asked. */
function CompareContainer(props: { model: RunsModel; ids: string[]; render: ChartRenderer }): JSX.Element {
  const [comparison, setComparison] = React.useState<Mlops.IComparison | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const loadSweep = React.useCallback((id: string, metric?: string) => props.model.sweep(id, metric), [props.model]);
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
  return (
    <CompareView
      comparison={comparison}
      renderChart={props.render}
      loadArtifacts={(a, b) => props.model.artifactDiff(a, b)}
      loadSweep={loadSweep}
    />
  );
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
