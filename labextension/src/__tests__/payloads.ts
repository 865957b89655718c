/** Payloads shaped like jupyter_mlops/server/schemas.py replies (see docs/openapi.yaml). */
import { SliceCells } from '../sliceCellsLogic';
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

/** `GET runs/{id}/slice?metric=total` of tests/integration/server_slicing.py's run, as the server replies. */
export function sliceReport(extra: Partial<SliceCells.IReport> = {}): SliceCells.IReport {
  const kept: Array<[number, number, string, string[]]> = [
    [0, 1, 'factor = 3', ['factor']],
    [1, 2, '%track start', ['<run>']],
    [5, 6, 'values = [1, 2, 3]', ['values']],
    [6, 7, 'values.append(4)', ['values']],
    [7, 8, "exec(''.join(['side', ' = 1']))", ['<run>', 'values']],
    [8, 9, 'total = sum(values) * factor\n%track metric total=total', ['logs total']]
  ];
  const emitted: SliceCells.IEmitted[] = [
    { code: 'factor = 3', position: 0, execution_count: 1, parameters: true },
    { code: 'import jupyter_mlops as mlops', position: null, execution_count: null, parameters: false },
    { code: 'mlops.start_run()', position: 1, execution_count: 2, parameters: false },
    { code: 'values = [1, 2, 3]', position: 5, execution_count: 6, parameters: false },
    { code: 'values.append(4)', position: 6, execution_count: 7, parameters: false },
    { code: "exec(''.join(['side', ' = 1']))", position: 7, execution_count: 8, parameters: false },
    { code: "total = sum(values) * factor\nmlops.log_metrics({'total': total})", position: 8, execution_count: 9, parameters: false }
  ];
  const title = "Slice of run 'sliced' (abcdef01) for metric 'total': 6 of 9 executed cells";
  return {
    run: 'abcdef01'.padEnd(32, '0'),
    run_name: 'sliced',
    target: 'total',
    kind: 'metric',
    target_cell: 8,
    parameters_cell: 0,
    executed_cells: 9,
    recorded: 30,
    cells: kept.map(([position, count, source, why]) => ({ position, execution_count: count, cell_id: null, source, why })),
    unsure: [{ position: 7, execution_count: 8, reason: '`exec` of code built at run time' }],
    code: '',
    title,
    emitted,
    notebook: {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
      cells: [
        { cell_type: 'markdown', metadata: {}, source: title },
        ...emitted.map(cell => ({ cell_type: 'code', metadata: {}, source: cell.code, outputs: [], execution_count: null }))
      ]
    },
    ...extra
  };
}
