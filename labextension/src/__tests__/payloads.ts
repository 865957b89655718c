/** Payloads shaped like jupyter_mlops/server/schemas.py replies (see docs/openapi.yaml). */
import { Mlops } from '../tokens';

export function run(id: string, extra: Partial<Mlops.IRun> = {}): Mlops.IRun {
  return {
    id,
    name: `run-${id}`,
    experiment: 'churn',
    status: 'finished',
    start_time: 1700000000,
    end_time: 1700000060,
    heartbeat: 1700000060,
    duration: 60,
    notebook_path: 'train.ipynb',
    git_commit: null,
    git_dirty: null,
    code_hash: null,
    notebook_hash: null,
    env_hash: null,
    note: '',
    reproduction_of: null,
    tags: [],
    params: { lr: 0.1 },
    metrics: { auc: 0.9 },
    flags: {},
    data_inputs: [],
    artifacts: [],
    ...extra
  };
}

/** A `GET runs` reply for rows [offset, offset + limit) of `total` runs named by their index. */
export function page(offset: number, limit: number, total: number): Mlops.IRunsPage {
  const runs = [];
  for (let i = offset; i < Math.min(total, offset + limit); i++) {
    runs.push(run(String(i)));
  }
  return { runs, total, offset, limit };
}
