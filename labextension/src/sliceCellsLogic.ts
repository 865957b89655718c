/**
 * Pure helpers of the run details' "Show producing cells" (issue 14, ADR-109): the reply of
 * `GET runs/{id}/slice?metric=KEY` (`app.slicing.slice_report`) turned into rows to show and into the notebook
 * "Open as new notebook" writes. No React, no fetching: tested with jest.
 */

/** The shapes of `GET runs/{id}/slice` (docs/openapi.yaml, `SliceReport`). */
export namespace SliceCells {
  /** One kept executed cell, its source as it ran. */
  export interface ICell {
    position: number;
    execution_count: number | null;
    cell_id: string | null;
    source: string;
    /** What the cell provides: names, `file:PATH`, `logs KEY`, `parameters`... */
    why: string[];
  }

  /** A kept cell whose effects the slicer could not fully see, and why. */
  export interface IUnsure {
    position: number;
    execution_count: number | null;
    reason: string;
  }

  /** One cell of the emitted (clean) slice; `position` null for the generated imports cell. */
  export interface IEmitted {
    code: string;
    position: number | null;
    execution_count: number | null;
    parameters: boolean;
  }

  /** The slice of one run for one metric (or variable). */
  export interface IReport {
    run: string;
    run_name: string;
    target: string;
    kind: 'metric' | 'variable';
    target_cell: number;
    parameters_cell: number | null;
    executed_cells: number;
    recorded: number | null;
    cells: ICell[];
    unsure: IUnsure[];
    code: string;
    title: string;
    emitted: IEmitted[];
    /** nbformat v4 JSON, each source one string. */
    notebook: INotebook;
  }

  /** The nbformat v4 notebook JSON the server emits (what JupyterLab's notebook model reads). */
  export interface INotebook {
    nbformat: number;
    nbformat_minor: number;
    metadata: Record<string, any>;
    cells: Array<{ cell_type: string; source: string | string[]; metadata?: Record<string, any>; [key: string]: any }>;
  }

  /** One row of the list: a kept cell with its execution label and the notes that apply to it. */
  export interface IRow {
    key: string;
    /** `In [7]`, or `In [ ]` when the kernel did not say. */
    label: string;
    source: string;
    why: string;
    /** The slicer's doubts about this cell (it is kept anyway). */
    unsure: string[];
    /** The cell that logged the metric (or last bound the name). */
    target: boolean;
    parameters: boolean;
  }
}

/** The endpoint of a run's slice for a metric the run logged. */
export function slicePath(runId: string, metric: string): string {
  return `runs/${encodeURIComponent(runId)}/slice?metric=${encodeURIComponent(metric)}`;
}

/** `In [n]` as JupyterLab labels an executed cell. */
export function executionLabel(count: number | null | undefined): string {
  return `In [${count ?? ' '}]`;
}

/** The kept cells, in the slice's order, each with its doubts attached (several reasons may name one cell). */
export function sliceRows(report: SliceCells.IReport): SliceCells.IRow[] {
  const doubts = new Map<number, string[]>();
  for (const item of report.unsure ?? []) {
    doubts.set(item.position, [...(doubts.get(item.position) ?? []), item.reason]);
  }
  return report.cells.map(cell => ({
    key: `${cell.position}`,
    label: executionLabel(cell.execution_count),
    source: cell.source,
    why: (cell.why ?? []).join(', '),
    unsure: doubts.get(cell.position) ?? [],
    target: cell.position === report.target_cell,
    parameters: cell.position === report.parameters_cell
  }));
}

/** One line above the list: how many of the executed cells produced the value. */
export function sliceSummary(report: SliceCells.IReport): string {
  const n = report.cells.length;
  const what = report.kind === 'metric' ? `metric ${report.target}` : `variable ${report.target}`;
  const doubtful = new Set((report.unsure ?? []).map(u => u.position)).size;
  const unsure = doubtful ? `; ${doubtful} kept because the analysis could not be sure` : '';
  return `${n} of ${report.executed_cells} executed cell${report.executed_cells === 1 ? '' : 's'} produced ${what}${unsure}`;
}

/**
 * The notebook "Open as new notebook" writes: the server's emitted notebook, or, from an older server without
 * one, a notebook built from the emitted cells (a markdown title, then one code cell each, parameters tagged).
 */
export function sliceNotebook(report: SliceCells.IReport): SliceCells.INotebook {
  const kernelspec = { name: 'python3', display_name: 'Python 3', language: 'python' };
  if (report.notebook && Array.isArray(report.notebook.cells)) {
    const nb = report.notebook;
    return {
      ...nb,
      metadata: { kernelspec, ...(nb.metadata ?? {}) },
      cells: nb.cells.map(cell => ({
        ...cell,
        source: Array.isArray(cell.source) ? cell.source.join('') : cell.source
      }))
    };
  }
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec },
    cells: [
      { cell_type: 'markdown', metadata: {}, source: report.title ?? `Slice for ${report.target}` },
      ...(report.emitted ?? []).map(cell => ({
        cell_type: 'code',
        metadata: cell.parameters ? { tags: ['parameters'] } : {},
        source: cell.code,
        outputs: [],
        execution_count: null
      }))
    ]
  };
}

/** The code cells' sources of a notebook, in order (what the browser test compares with the slice). */
export function codeSources(nb: SliceCells.INotebook): string[] {
  return nb.cells
    .filter(cell => cell.cell_type === 'code')
    .map(cell => (Array.isArray(cell.source) ? cell.source.join('') : cell.source));
}

/**
 * The code cells of a notebook that are in no slice of any metric of its latest run ("dead ends", issue 14):
 * `cells` are the notebook's cells (id and type), `reports` the slices of every metric the run logged. Nothing
 * is marked without a slice, or when no kept cell carries a cell id (a run that recorded none cannot be matched
 * to the notebook's cells).
 */
export function deadEndCells(
  cells: Array<{ id: string; type: string }>,
  reports: Array<SliceCells.IReport | null | undefined>
): string[] {
  const kept = new Set<string>();
  for (const report of reports) {
    for (const cell of report?.cells ?? []) {
      if (cell.cell_id) {
        kept.add(cell.cell_id);
      }
    }
  }
  if (kept.size === 0) {
    return [];
  }
  return cells.filter(cell => cell.type === 'code' && !kept.has(cell.id)).map(cell => cell.id);
}
