/**
 * Pure logic of the Models view: the wire types of `GET models...` (the JSON of `jupyter-mlops models ...
 * --format json`, docs/openapi.yaml) and the layout of a version's lineage picture. No DOM, no requests: the
 * jest specs cover all of it.
 */

/** Namespace of the model registry's wire types. */
export namespace Models {
  /** One registered model (`models list`). */
  export interface ISummary {
    name: string;
    latest: string;
    versions: number;
    aliases: Record<string, string>;
    stages: Record<string, string>;
    updated: number;
  }

  /** One version with its effective lineage and why it is incomplete (`models show`). */
  export interface IVersion {
    name: string;
    version: string;
    artifact_hash: string;
    format: string;
    flavor: string;
    size: number;
    run_id: string | null;
    parents: string[];
    stage: string;
    aliases: string[];
    created: number;
    created_by: string;
    lineage: {
      run_id: string | null;
      data: { name: string; hash: string; path?: string | null }[];
      code_hash?: string | null;
      notebook_hash?: string | null;
      env_hash?: string | null;
      params: Record<string, unknown>;
      metrics: Record<string, number | null>;
    };
    lineage_gaps: string[];
  }

  /** A version's lineage graph (`models lineage`). */
  export interface ILineage {
    model: IVersion;
    run: { id: string; name: string; status: string } | null;
    parents: ILineage[];
  }

  /** One alias or stage change (`models history`). */
  export interface IEvent {
    name: string;
    version: string;
    change: 'alias' | 'stage';
    label: string;
    from_value: string | null;
    to_value: string | null;
    who: string;
    at: number;
    note: string;
    forced: boolean;
  }

  /** The Models view's "Change" form for one version: an alias and/or a stage, forced with a reason or not. */
  export interface IChangeForm {
    alias: string;
    stage: '' | 'staging' | 'production' | 'archived';
    force: boolean;
    reason: string;
    note: string;
  }

  /** One `POST models/{ref}/alias|stage` to make. */
  export interface IChangeRequest {
    what: 'alias' | 'stage';
    body: Record<string, unknown>;
  }
}

/** `NAME:VERSION`, the reference every `models` endpoint takes for one version. */
export function versionRef(name: string, version: string): string {
  return `${name}:${version}`;
}

/** The REST path of a model endpoint; the reference is URL-encoded (`:` and `@` included). */
export function modelPath(ref: string, what: '' | 'lineage' | 'history' | 'alias' | 'stage' = ''): string {
  const base = `models/${encodeURIComponent(ref)}`;
  return what ? `${base}/${what}` : base;
}

/**
 * The requests a Change form makes, alias first then stage (as `jupyter-mlops models alias ... --stage` does), or
 * why it cannot be sent: nothing to change, or force without a reason (the server refuses both too; saying so
 * here spares a round trip). The alias's own rules (characters, `latest` reserved) are the server's.
 */
export function changeRequests(form: Models.IChangeForm): { requests: Models.IChangeRequest[]; problem: string | null } {
  const alias = form.alias.trim();
  const reason = form.reason.trim();
  if (!alias && !form.stage) {
    return { requests: [], problem: 'Give an alias or choose a stage.' };
  }
  if (form.force && !reason) {
    return { requests: [], problem: 'Forcing needs a reason: it is recorded in the history.' };
  }
  const extra: Record<string, unknown> = form.force ? { force: true, reason } : {};
  if (form.note.trim()) {
    extra.note = form.note.trim();
  }
  const requests: Models.IChangeRequest[] = [];
  if (alias) {
    requests.push({ what: 'alias', body: { alias, ...extra } });
  }
  if (form.stage) {
    requests.push({ what: 'stage', body: { stage: form.stage, ...extra } });
  }
  return { requests, problem: null };
}

/** A short content hash for a box: `algo:abcdef123456`. */
export function shortHash(digest: string | null | undefined): string {
  if (!digest) {
    return '-';
  }
  const [algorithm, hex] = digest.includes(':') ? digest.split(':', 2) : ['', digest];
  return algorithm ? `${algorithm}:${hex.slice(0, 12)}` : hex.slice(0, 20);
}

export type NodeKind = 'data' | 'run' | 'model';

/** A box of the lineage picture; `label` and `detail` are plain text (rendered as SVG text, never markup). */
export interface ILineageNode {
  id: string;
  kind: NodeKind;
  label: string;
  detail: string;
  column: number;
  row: number;
}

/** An arrow from one box to another (data -> run, run -> model, parent model -> child model). */
export interface ILineageEdge {
  from: string;
  to: string;
}

export interface ILineageLayout {
  nodes: ILineageNode[];
  edges: ILineageEdge[];
  rows: number;
  columns: number;
}

/**
 * Lay out a lineage graph on a grid: data in column 0, the run in column 1, the model in column 2. A parent
 * version is drawn as its own data -> run -> model block below, with an arrow from the parent model to the child.
 * Node ids are unique even when a parent is shared (each appearance is its own block: the graph is a tree here).
 */
export function layoutLineage(graph: Models.ILineage): ILineageLayout {
  const nodes: ILineageNode[] = [];
  const edges: ILineageEdge[] = [];
  let nextRow = 0;
  const place = (g: Models.ILineage, path: string): string => {
    const top = nextRow;
    const v = g.model;
    const data = v.lineage.data;
    const modelId = `${path}model`;
    const runId = `${path}run`;
    const rows = Math.max(data.length, 1);
    const middle = top + Math.floor((rows - 1) / 2);
    data.forEach((d, i) => {
      const id = `${path}data${i}`;
      nodes.push({ id, kind: 'data', label: d.name, detail: shortHash(d.hash), column: 0, row: top + i });
      edges.push({ from: id, to: runId });
    });
    if (data.length === 0) {
      nodes.push({ id: `${path}data-none`, kind: 'data', label: 'no data recorded', detail: '', column: 0, row: top });
    }
    const runLabel = g.run ? g.run.name : v.run_id ? `${v.run_id.slice(0, 8)} (deleted)` : 'no run';
    const runDetail = g.run ? `${g.run.id.slice(0, 8)} · ${g.run.status}` : '';
    nodes.push({ id: runId, kind: 'run', label: runLabel, detail: runDetail, column: 1, row: middle });
    const badges = [v.stage !== 'none' ? v.stage : '', ...v.aliases].filter(Boolean).join(', ');
    nodes.push({ id: modelId, kind: 'model', label: versionRef(v.name, v.version), detail: badges, column: 2, row: middle });
    edges.push({ from: runId, to: modelId });
    nextRow = top + rows;
    g.parents.forEach((parent, i) => {
      const parentModel = place(parent, `${path}p${i}.`);
      edges.push({ from: parentModel, to: modelId });
    });
    return modelId;
  };
  place(graph, '');
  return { nodes, edges, rows: nextRow, columns: 3 };
}

/** One row of the history table: plain strings, in the order of the CLI's `models history` columns. */
export function historyRow(e: Models.IEvent): string[] {
  const change = e.change === 'alias' ? `alias ${e.label}` : 'stage';
  const note = e.note + (e.forced ? ' [forced]' : '');
  return [formatTime(e.at), e.who || '-', e.version, change, e.from_value ?? '-', e.to_value ?? '-', note || '-'];
}

/** `YYYY-MM-DD HH:MM` in local time, as the CLI prints. */
export function formatTime(at: number): string {
  const d = new Date(at * 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
