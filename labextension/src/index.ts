import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { Widget } from '@lumino/widgets';

import { experimentsIcon } from './icons';
import { compareTitle, isTrackingCell } from './logic';
import { RunsModel } from './model';
import { PLUGIN_ID, SIDEBAR_ID } from './tokens';
import { CompareWidget } from './widgets/CompareWidget';
import { ModelsWidget } from './widgets/ModelsWidget';
import { RunStatusItem } from './widgets/RunStatusItem';
import { RunsTableWidget, SidebarWidget } from './widgets/SidebarWidget';
import { DeadEndMarker } from './widgets/deadEnds';
import { sliceSource } from './widgets/sliceNotebook';

/** Command ids. */
export namespace CommandIDs {
  export const openSidebar = 'jupyter-mlops:open-sidebar';
  export const openRun = 'jupyter-mlops:open-run';
  export const compare = 'jupyter-mlops:compare';
  export const refresh = 'jupyter-mlops:refresh';
  export const openTable = 'jupyter-mlops:open-table';
  export const openModels = 'jupyter-mlops:open-models';
}

interface IParts {
  app: JupyterFrontEnd;
  model: RunsModel;
  sidebar: SidebarWidget;
  rendermime: IRenderMimeRegistry;
  status: RunStatusItem | null;
  table: MainAreaWidget<RunsTableWidget> | null;
  models: MainAreaWidget<ModelsWidget> | null;
}

/** A closable main-area tab of the extension, titled and iconed like the others. */
function mainArea<T extends Widget>(content: T, id: string, label: string, caption = ''): MainAreaWidget<T> {
  const widget = new MainAreaWidget({ content });
  widget.id = id;
  widget.title.label = label;
  widget.title.caption = caption;
  widget.title.icon = experimentsIcon;
  widget.title.closable = true;
  return widget;
}

/** Bring ``current`` forward, or add the tab ``create`` makes when there is none (or it was closed). */
function showOnce<T extends Widget>(
  app: JupyterFrontEnd,
  current: MainAreaWidget<T> | null,
  create: () => MainAreaWidget<T>
): MainAreaWidget<T> {
  const widget = current && !current.isDisposed ? current : create();
  if (widget !== current) {
    app.shell.add(widget, 'main');
  }
  app.shell.activateById(widget.id);
  return widget;
}

/** The main-area runs table: one per lab, brought forward when already open. */
function openTable(parts: IParts): void {
  parts.table = showOnce(parts.app, parts.table, () =>
    mainArea(
      new RunsTableWidget(parts.model, ids => openCompare(parts, ids), sliceSource(parts.app)),
      'jupyter-mlops-runs-table',
      'Runs',
      'Experiments: all runs'
    )
  );
}

/** The main-area Models view (registered models, versions, lineage, history): one per lab, like the table. */
function openModels(parts: IParts): void {
  parts.models = showOnce(parts.app, parts.models, () =>
    mainArea(
      new ModelsWidget(),
      'jupyter-mlops-models',
      'Models',
      'Experiments: registered models, versions and lineage'
    )
  );
}

function openCompare(parts: IParts, ids: string[]): void {
  const label = compareTitle(ids.map(id => parts.model.findRun(id) ?? { id, name: id.slice(0, 8) }));
  const widget = mainArea(
    new CompareWidget(parts.model, ids, parts.rendermime),
    `jupyter-mlops-compare-${Date.now()}`,
    label
  );
  parts.app.shell.add(widget, 'main');
  parts.app.shell.activateById(widget.id);
}

function addCommands(parts: IParts, palette: ICommandPalette | null): void {
  const { app, model } = parts;
  app.commands.addCommand(CommandIDs.openSidebar, {
    label: 'Show Experiments',
    execute: () => app.shell.activateById(SIDEBAR_ID)
  });
  app.commands.addCommand(CommandIDs.openRun, {
    label: 'Open run in Experiments',
    caption: "Show a run (default: the active notebook's run) in the runs table, with its details",
    isEnabled: args => typeof args.id === 'string' || (parts.status?.run ?? null) !== null,
    execute: args => {
      const id = typeof args.id === 'string' ? args.id : parts.status?.run?.id;
      if (id) {
        openTable(parts);
        model.focusRun(id);
      }
    }
  });
  app.commands.addCommand(CommandIDs.openTable, {
    label: 'Open runs table',
    caption: 'The full, sortable runs table with a column chooser and run details, in the main area',
    execute: () => openTable(parts)
  });
  app.commands.addCommand(CommandIDs.openModels, {
    label: 'Open models',
    caption: 'Registered models: versions with aliases and stages, lineage (data → run → model) and history',
    execute: () => openModels(parts)
  });
  app.commands.addCommand(CommandIDs.compare, {
    label: 'Compare selected runs',
    isEnabled: args => Array.isArray(args.ids) || model.selection.size >= 2,
    execute: args => openCompare(parts, Array.isArray(args.ids) ? (args.ids as string[]) : model.selectedForCompare())
  });
  app.commands.addCommand(CommandIDs.refresh, {
    label: 'Refresh runs',
    execute: () => model.refresh()
  });
  for (const command of Object.values(CommandIDs)) {
    palette?.addItem({ command, category: 'Experiments' });
  }
}

function trackNotebooks(app: JupyterFrontEnd, parts: IParts, tracker: INotebookTracker, bar: IStatusBar): void {
  const status = new RunStatusItem(parts.model, run => void app.commands.execute(CommandIDs.openRun, { id: run.id }));
  parts.status = status;
  bar.registerStatusItem(`${PLUGIN_ID}:run`, {
    item: status,
    align: 'left',
    rank: 4,
    isActive: () => tracker.currentWidget !== null
  });
  const follow = () => status.setNotebook(tracker.currentWidget?.context.path ?? null);
  tracker.currentChanged.connect(follow);
  follow();
  // A cell that may have started, stopped or logged to a run just finished: refresh now, not at the next tick.
  NotebookActions.executed.connect((_, { cell }) => {
    if (cell.model.type === 'code' && isTrackingCell(cell.model.sharedModel.getSource())) {
      void status.poll();
      void parts.model.refresh();
    }
  });
  const timer = window.setInterval(() => {
    if (parts.model.refreshInterval > 0) {
      void status.poll();
    }
  }, Math.max(parts.model.refreshInterval, 2) * 1000);
  status.disposed.connect(() => window.clearInterval(timer));
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Experiments sidebar: browse, filter, annotate and compare tracked runs.',
  autoStart: true,
  requires: [IRenderMimeRegistry],
  optional: [ISettingRegistry, ILayoutRestorer, ICommandPalette, INotebookTracker, IStatusBar],
  activate: (
    app: JupyterFrontEnd,
    rendermime: IRenderMimeRegistry,
    settings: ISettingRegistry | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    notebooks: INotebookTracker | null,
    statusBar: IStatusBar | null
  ) => {
    // Kernels record a notebook's absolute path, JupyterLab knows it relative to this root (issue 9, item 24).
    const model = new RunsModel({ serverRoot: PageConfig.getOption('serverRoot') });
    const parts: IParts = { app, model, rendermime, status: null, table: null, models: null, sidebar: null as unknown as SidebarWidget };
    const sidebar = new SidebarWidget(
      model,
      ids => openCompare(parts, ids),
      () => openTable(parts),
      () => openModels(parts)
    );
    parts.sidebar = sidebar;
    sidebar.id = SIDEBAR_ID;
    sidebar.title.icon = experimentsIcon;
    sidebar.title.caption = 'Experiments';
    app.shell.add(sidebar, 'left', { rank: 600 });
    restorer?.add(sidebar, SIDEBAR_ID);

    addCommands(parts, palette);
    if (notebooks && statusBar) {
      trackNotebooks(app, parts, notebooks, statusBar);
    }
    const deadEnds = notebooks ? new DeadEndMarker(notebooks, PageConfig.getOption('serverRoot')) : null;
    if (deadEnds) {
      // A tracking cell that finished may have ended a run: its slices may have changed.
      NotebookActions.executed.connect((_, { cell }) => {
        if (cell.model.type === 'code' && isTrackingCell(cell.model.sharedModel.getSource())) {
          void deadEnds.refresh();
        }
      });
    }
    if (settings) {
      void settings.load(PLUGIN_ID).then(loaded => {
        const apply = () => {
          model.keyMetrics = (loaded.get('keyMetrics').composite as string[]) ?? [];
          model.refreshInterval = (loaded.get('refreshInterval').composite as number) ?? 5;
          deadEnds?.setEnabled((loaded.get('markDeadEnds').composite as boolean) ?? false);
        };
        apply();
        loaded.changed.connect(apply);
      });
    }
  }
};

export default plugin;
