/**
 * Pure logic of the run details' Reproduce panel: the wire types of `POST runs/{id}/reproduce` and
 * `GET jobs/{id}` (docs/openapi.yaml; the result is `Reproduction.to_dict()`, what `jupyter-mlops reproduce
 * --format json` prints) and what the panel shows of a job. No DOM, no requests: the jest specs cover all of it.
 */

/** Namespace of the reproduce job's wire types. */
export namespace Reproduce {
  /** The panel's options (the CLI's `--as-executed` and `--allow-changed-data`). */
  export interface IOptions {
    as_executed: boolean;
    allow_changed_data: boolean;
  }

  /** Where a reproduction is: `cell` of `cells` while executing (0 while the kernel starts). */
  export interface IProgress {
    phase: 'verifying' | 'executing' | 'judging' | 'done';
    cell: number | null;
    cells: number | null;
  }

  /** One metric of the verdict. */
  export interface IMetricVerdict {
    key: string;
    original: number | null;
    reproduced: number | null;
    difference: number | null;
    status: 'exact' | 'within' | 'diverged' | 'missing' | 'new';
    tolerance: string | null;
  }

  /** `Reproduction.to_dict()`. */
  export interface IResult {
    run: string;
    mode: 'top-to-bottom' | 'as-executed';
    outcome: 'reproduced' | 'compared' | 'diverged' | 'refused' | 'failed';
    exit_code: number;
    reason: string;
    reproduction: string | null;
    overrides: Record<string, unknown>;
    parameters: Record<string, unknown>;
    caveats: string[];
    verification: {
      data: { name: string; path: string | null; status: string; old_hash: string | null; new_hash: string | null }[];
      env: { recorded: boolean; python: (string | null)[] | null; packages: unknown[]; differs: boolean };
      git: Record<string, unknown>;
    };
    metrics: IMetricVerdict[];
  }

  export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

  /** A background job (`GET jobs/{id}` → `{job}`). */
  export interface IJob {
    id: string;
    run: string;
    state: JobState;
    progress: IProgress | null;
    result: IResult | null;
    error: { code: string; message: string } | null;
    created: number;
    finished: number | null;
    cancel_requested: boolean;
  }
}

/** The REST path that starts a reproduction of a run. */
export function reproducePath(runId: string): string {
  return `runs/${encodeURIComponent(runId)}/reproduce`;
}

/** The REST path of a job (GET polls it, DELETE cancels it). */
export function jobPath(jobId: string): string {
  return `jobs/${encodeURIComponent(jobId)}`;
}

/** Whether the job may still change (the panel keeps polling and disables Reproduce meanwhile). */
export function isActive(job: Pick<Reproduce.IJob, 'state'> | null | undefined): boolean {
  return job?.state === 'queued' || job?.state === 'running';
}

/** One line for the progress indicator. */
export function progressText(job: Pick<Reproduce.IJob, 'state' | 'progress' | 'cancel_requested'>): string {
  const stopping = job.cancel_requested && isActive(job) ? ' (stopping after this cell…)' : '';
  if (job.state === 'queued') {
    return 'Queued…';
  }
  const progress = job.progress;
  if (!progress || progress.phase === 'verifying') {
    return `Verifying data, environment and git…${stopping}`;
  }
  if (progress.phase === 'executing') {
    if (!progress.cell) {
      return `Starting a fresh kernel…${stopping}`;
    }
    return `Executing cell ${progress.cell} of ${progress.cells ?? '?'}…${stopping}`;
  }
  return progress.phase === 'judging' ? 'Comparing metrics…' : 'Done';
}

/** The progress bar's fill in [0, 1]: verifying ~5%, the cells in between, judging ~95%. */
export function progressFraction(progress: Reproduce.IProgress | null): number {
  if (!progress || progress.phase === 'verifying') {
    return 0.05;
  }
  if (progress.phase === 'executing') {
    const cells = Math.max(progress.cells ?? 1, 1);
    return 0.05 + 0.9 * (Math.min(progress.cell ?? 0, cells) / cells);
  }
  return progress.phase === 'judging' ? 0.95 : 1;
}

/** How the verdict reads: a headline and a tone (the badge's colour). */
export function verdictHeadline(result: Pick<Reproduce.IResult, 'outcome' | 'mode'>): {
  text: string;
  tone: 'good' | 'neutral' | 'bad';
} {
  const mode = result.mode === 'as-executed' ? 'replaying the recorded cell sequence' : 'top to bottom';
  switch (result.outcome) {
    case 'reproduced':
      return { text: `Reproduced (${mode})`, tone: 'good' };
    case 'compared':
      return { text: `Compared, not a reproduction (${mode})`, tone: 'neutral' };
    case 'diverged':
      return { text: `Diverged (${mode})`, tone: 'bad' };
    case 'refused':
      return { text: 'Refused: could not run', tone: 'bad' };
    default:
      return { text: `Failed (${mode})`, tone: 'bad' };
  }
}

/** What a finished job shows when it has no verdict (failed, or cancelled before the kernel ran). */
export function jobProblem(job: Pick<Reproduce.IJob, 'state' | 'error' | 'result'>): string | null {
  if (job.state === 'failed') {
    return job.error?.message ?? 'the reproduction failed';
  }
  if (job.state === 'cancelled' && !job.result) {
    return 'Cancelled before the notebook ran.';
  }
  return null;
}

/** A metric value of the verdict: 12 significant digits, as the CLI prints them (ADR-052), so a tiny drift shows. */
export function verdictValue(value: number | null | undefined): string {
  if (value === null || value === undefined) {
    return '—';
  }
  if (Number.isInteger(value)) {
    return String(value);
  }
  const abs = Math.abs(value);
  return abs !== 0 && (abs < 1e-4 || abs >= 1e12) ? value.toExponential(11).replace(/\.?0+e/, 'e') : String(Number(value.toPrecision(12)));
}

/** The verdict's metric table: original, reproduced and status per metric, in the server's order. */
export function metricRows(result: Pick<Reproduce.IResult, 'metrics'>): { key: string; original: string; reproduced: string; status: string }[] {
  return result.metrics.map(m => ({
    key: m.key,
    original: verdictValue(m.original),
    reproduced: verdictValue(m.reproduced),
    status: m.status === 'within' && m.tolerance ? `within ${m.tolerance}` : m.status
  }));
}

/** The lines under the headline: why it was refused or failed, and what makes it not a reproduction. */
export function verdictNotes(result: Pick<Reproduce.IResult, 'reason' | 'caveats'>): string[] {
  return [...(result.reason ? [result.reason] : []), ...result.caveats];
}
