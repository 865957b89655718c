/**
 * Wire types of the jupyter_mlops REST API, mirroring `jupyter_mlops/server/schemas.py`
 * (documented in `docs/openapi.yaml`), and the typed error every request throws.
 */

/** Namespace of the wire types. */
export namespace Mlops {
  export type RunStatus = 'running' | 'finished' | 'failed' | 'crashed';

  /** A dataset a run read or wrote. */
  export interface IDataInput {
    name: string;
    hash: string;
    kind: string;
    path: string | null;
    size: number | null;
    schema: {
      columns?: { name: string; dtype: string }[];
      rows?: number;
      shape?: number[];
    } | null;
    role: string;
  }

  /** A file stored with a run. */
  export interface IArtifact {
    path: string;
    hash: string;
    size: number;
  }

  /** One run (`Run.to_dict()`). */
  export interface IRun {
    id: string;
    name: string;
    experiment: string;
    status: RunStatus;
    start_time: number;
    end_time: number | null;
    heartbeat: number | null;
    duration: number | null;
    notebook_path: string | null;
    git_commit: string | null;
    git_dirty: boolean | null;
    code_hash: string | null;
    notebook_hash: string | null;
    env_hash: string | null;
    note: string;
    reproduction_of: string | null;
    tags: string[];
    params: Record<string, unknown>;
    metrics: Record<string, number | null>;
    flags: Record<string, boolean>;
    /**
     * For each raised flag that could be traced, the saved notebook's cells (1-based, markdown counted) behind it;
     * `out_of_order` lists them in the order they ran. Absent on older servers.
     */
    flag_cells?: Record<string, number[]>;
    /** Metric points and params the writer had to drop (absent on servers that do not count them). */
    logging_errors?: number;
    data_inputs: IDataInput[];
    artifacts: IArtifact[];
    /** With a remote configured: true for a run never synced with it (not yet pushed). Absent without a remote. */
    local_only?: boolean;
  }

  /** One run of a sweep (`GET sweeps/{id}` row). */
  export interface ISweepRow {
    run_id: string;
    name: string;
    point: number | null;
    status: string;
    params: Record<string, unknown>;
    metrics: Record<string, number>;
    value: number | null;
  }

  /** `GET sweeps/{id}?metric=KEY:max` reply: the varying params, every metric, rows best first. */
  export interface ISweepTable {
    sweep: string;
    filter: string;
    params: string[];
    metrics: string[];
    metric: { key: string; goal: 'max' | 'min' } | null;
    best: string | null;
    rows: ISweepRow[];
  }

  /** `GET runs` reply. */
  export interface IRunsPage {
    runs: IRun[];
    total: number;
    offset: number;
    limit: number | null;
  }

  /** One executed cell of a code snapshot. */
  export interface ICodeCell {
    index: number;
    execution_count?: number | null;
    source: string;
    cell_id?: string | null;
  }

  /** `GET runs/{id}` reply. */
  export interface IRunDetail {
    run: IRun;
    env: {
      python?: string;
      platform?: string;
      packages?: Record<string, string>;
      [key: string]: unknown;
    } | null;
    code: { cells: ICodeCell[] } | null;
  }

  /** `PATCH runs/{id}` body. */
  export interface IRunPatch {
    tags?: string[];
    note?: string;
    name?: string;
  }

  /**
   * One added, removed or changed cell, as the notebook diff engine reports it: the same record in the compare's
   * code section, in `GET diff` and in `jupyter-mlops diff --format json` (docs/hygiene.md, ADR-042). Indices
   * count the cells of the compared notebooks from 0 (for runs: executed cells in execution order).
   */
  export interface ICellChange {
    change: 'added' | 'removed' | 'changed';
    a_index: number | null;
    b_index: number | null;
    cell_type: string;
    a_source: string | null;
    b_source: string | null;
    /** Unified diff of the sources, without `---`/`+++` headers; "" when the sources are equal. */
    source_diff: string;
    outputs_changed: boolean;
    output_changes: unknown[];
    attachment_changes: unknown[];
    metadata_changes: { key: string; old: unknown; new: unknown }[];
    other_changes: { key: string; old: unknown; new: unknown }[];
  }

  /** `GET diff?a=&b=` response: `NotebookDiff.to_dict()`. */
  export interface IDiff {
    a: string;
    b: string;
    identical: boolean;
    summary: { parameters?: { name: string; change: string; old: unknown; new: unknown }[] };
    changes: ICellChange[];
    metadata_changes: { key: string; old: unknown; new: unknown }[];
    diff: unknown[];
  }

  export interface IParamRow {
    key: string;
    values: unknown[];
    differs: boolean;
  }

  export interface IMetricRow {
    key: string;
    values: (number | null)[];
    deltas: (number | null)[];
    best: number | null;
    goal: 'max' | 'min';
  }

  /** A metric on one slice across the compared runs: a metrics row plus the slice's label and dimensions. */
  export interface ISliceRow extends IMetricRow {
    slice: string;
    dims: Record<string, string>;
  }

  export interface IDataChange {
    run: string;
    hash_changed: boolean;
    size: (number | null)[];
    rows: (number | null)[];
    columns_added: string[];
    columns_removed: string[];
    dtype_changes: { column: string; from: string; to: string }[];
  }

  export interface IDataRow {
    name: string;
    values: ({ hash: string; size: number | null; schema: unknown } | null)[];
    differs: boolean;
    changes: IDataChange[];
  }

  export interface IPackageRow {
    name: string;
    values: (string | null)[];
    change: string;
  }

  /**
   * One of the project's own modules whose recorded version differs from the baseline's (ADR-102):
   * `source_diff` is a unified diff with `--- a/PATH` / `+++ b/PATH` headers, "" when a side's source is not
   * stored (then `note` says why).
   */
  export interface IModuleChange {
    change: 'added' | 'removed' | 'changed';
    name: string;
    path: string;
    a_hash: string | null;
    b_hash: string | null;
    source_diff: string;
    note?: string;
  }

  /** One artifact of two runs, diffed by kind (`GET artifact-diff`, ADR-104). */
  export interface IArtifactDiff {
    name: string;
    kind: 'text' | 'image' | 'table' | 'json' | 'binary';
    status: 'identical' | 'changed' | 'added' | 'removed';
    hashes: (string | null)[];
    sizes: (number | null)[];
    /** The kind's summary (docs/compare-json.md, "Artifact diffs"); null unless changed and diffed. */
    diff: Record<string, any> | null;
    /** One line saying why a changed artifact could not be diffed (too large, binary as text, bad JSON...). */
    error: string | null;
    /** With `images=1`: the image diff's PNGs, base64. */
    images?: { overlay?: string; side_by_side?: string };
  }

  /** `GET artifact-diff` reply: `jupyter-mlops diff-artifact A B --format json`. */
  export interface IArtifactDiffs {
    a: string;
    b: string;
    artifacts: IArtifactDiff[];
  }

  /** `GET compare` reply: `Comparison.to_dict()` plus Vega-Lite specs keyed by metric. */
  export interface IComparison {
    baseline: string;
    runs: IRun[];
    params: IParamRow[];
    /** Per run: its cell changes, then its local-module changes (ADR-102; absent from older servers). */
    code: { run: string; cells: ICellChange[]; modules?: IModuleChange[] }[];
    data: IDataRow[];
    env: { python: (string | null)[]; packages: IPackageRow[] };
    metrics: IMetricRow[];
    flags: { run: string; flags: Record<string, boolean>; cells?: Record<string, number[]> }[];
    /** Metrics logged on slices of the data (ADR-070); absent from servers older than it. */
    slices?: ISliceRow[];
    charts: Record<string, object>;
    params_charts: Record<string, object>;
  }

  /** `GET settings` reply. */
  export interface IServerSettings {
    version: string;
    store: string;
  }

  /**
   * The error every API call throws: the server's one-line message and its stable code
   * (`INVALID_FILTER`, `NOT_FOUND`, ...), plus the filter position when there is one.
   */
  export class ResponseError extends Error {
    constructor(
      message: string,
      readonly status: number,
      readonly code: string = 'HTTP_ERROR',
      readonly position: number | null = null
    ) {
      super(message);
      this.name = 'ResponseError';
    }
  }
}

/** Plugin and widget ids, shared by index.ts and the browser tests. */
export const PLUGIN_ID = 'jupyter-mlops:plugin';
export const SIDEBAR_ID = 'jupyter-mlops-sidebar';
