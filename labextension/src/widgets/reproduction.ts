import * as React from 'react';

import { isActive, Reproduce } from '../reproduceLogic';

/** The requests of a reproduction (RunsModel's `reproduce`, `getJob`, `cancelJob`); a fake in the jest specs. */
export interface IReproduceSource {
  start(runId: string, options: Reproduce.IOptions): Promise<Reproduce.IJob>;
  get(jobId: string): Promise<Reproduce.IJob>;
  cancel(jobId: string): Promise<Reproduce.IJob>;
}

/** What the Reproduce panel of one run needs: its job, the last request error, and the actions. */
export interface IReproduction {
  job: Reproduce.IJob | null;
  error: string | null;
  start: (options: Reproduce.IOptions) => void;
  cancel: () => void;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The reproduction jobs started from this view, one per run, each polled every `intervalMs` while it is queued or
 * running and the run is shown. Switching to another run keeps the job: coming back resumes polling it.
 * `onFinished` is called once with each job that stops being active (the container reloads the runs then).
 */
export function useReproduction(
  source: IReproduceSource,
  runId: string | null,
  onFinished?: (job: Reproduce.IJob) => void,
  intervalMs = 1000
): IReproduction {
  const [jobs, setJobs] = React.useState<Record<string, Reproduce.IJob>>({});
  const [errors, setErrors] = React.useState<Record<string, string | null>>({});
  const job = runId ? jobs[runId] ?? null : null;
  const keep = (id: string, next: Reproduce.IJob) => setJobs(all => ({ ...all, [id]: next }));
  const fail = (id: string, error: unknown) => setErrors(all => ({ ...all, [id]: message(error) }));

  React.useEffect(() => {
    if (!runId || !job || !isActive(job)) {
      return;
    }
    let current = true;
    const timer = window.setTimeout(() => {
      source
        .get(job.id)
        .then(next => {
          keep(runId, next);
          if (!isActive(next)) {
            onFinished?.(next);
          }
        })
        .catch(error => {
          // The job is gone (server restarted, dropped): stop polling and say why.
          if (current) {
            keep(runId, { ...job, state: 'failed', error: { code: 'CLIENT_ERROR', message: message(error) } });
          }
        });
    }, intervalMs);
    return () => {
      current = false;
      window.clearTimeout(timer);
    };
  }, [source, runId, job, intervalMs]);

  return {
    job,
    error: runId ? errors[runId] ?? null : null,
    start: options => {
      if (!runId) {
        return;
      }
      setErrors(all => ({ ...all, [runId]: null }));
      source
        .start(runId, options)
        .then(next => keep(runId, next))
        .catch(error => fail(runId, error));
    },
    cancel: () => {
      if (runId && job) {
        source
          .cancel(job.id)
          .then(next => keep(runId, next))
          .catch(error => fail(runId, error));
      }
    }
  };
}
