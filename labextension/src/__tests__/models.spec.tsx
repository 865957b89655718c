import * as React from 'react';
import { act } from 'react';

import { IModelsSource, ModelsView } from '../components/ModelsView';
import { historyRow, layoutLineage, modelPath, Models, shortHash } from '../modelsLogic';
import { mountPoint } from './dom';

const HOSTILE = '<img src=x onerror="window.__pwned=1">';

function version(v: string, extra: Partial<Models.IVersion> = {}): Models.IVersion {
  return {
    name: 'churn', version: v, artifact_hash: 'sha256:' + 'a'.repeat(64), format: 'pickle', flavor: 'pickle', size: 10,
    run_id: 'r'.repeat(32), parents: [], stage: 'none', aliases: [], created: 1_700_000_000, created_by: 'ana',
    lineage: { run_id: 'r'.repeat(32), data: [{ name: 'train', hash: 'xxh3_128:' + 'b'.repeat(32) }], params: {}, metrics: {} },
    lineage_gaps: [], ...extra
  };
}

function graph(): Models.ILineage {
  const parent: Models.ILineage = {
    model: version('1.0.0', { stage: 'production', aliases: ['champion'] }),
    run: { id: 'p'.repeat(32), name: 'fit-one', status: 'finished' },
    parents: []
  };
  const data = [{ name: 'train', hash: 'xxh3_128:' + 'c'.repeat(32) }, { name: HOSTILE, hash: 'xxh3_128:' + 'd'.repeat(32) }];
  return {
    model: version('1.1.0', { parents: ['churn:1.0.0'], lineage: { run_id: 'q', data, params: {}, metrics: {} } }),
    run: { id: 'q'.repeat(32), name: 'fit-two', status: 'finished' },
    parents: [parent]
  };
}

describe('modelsLogic', () => {
  it('encodes a reference in the path, colon and at-sign included', () => {
    expect(modelPath('churn:1.2.0', 'lineage')).toBe('models/churn%3A1.2.0/lineage');
    expect(modelPath('churn@champion', 'lineage')).toBe('models/churn%40champion/lineage');
    expect(modelPath('../x')).toBe('models/..%2Fx');
    expect(modelPath('churn', 'history')).toBe('models/churn/history');
  });

  it('shortens hashes like the CLI', () => {
    expect(shortHash('xxh3_128:' + '0123456789abcdef'.repeat(2))).toBe('xxh3_128:0123456789ab');
    expect(shortHash(null)).toBe('-');
  });

  it('lays out data -> run -> model with the parent block below and an arrow into the child', () => {
    const layout = layoutLineage(graph());
    const kinds = layout.nodes.map(n => `${n.kind}:${n.label}@${n.column},${n.row}`);
    expect(kinds).toEqual([
      'data:train@0,0', `data:${HOSTILE}@0,1`, 'run:fit-two@1,0', 'model:churn:1.1.0@2,0',
      'data:train@0,2', 'run:fit-one@1,2', 'model:churn:1.0.0@2,2'
    ]);
    expect(layout.rows).toBe(3);
    expect(layout.edges).toContainEqual({ from: 'data0', to: 'run' });
    expect(layout.edges).toContainEqual({ from: 'run', to: 'model' });
    expect(layout.edges).toContainEqual({ from: 'p0.model', to: 'model' });
    expect(layout.nodes.find(n => n.id === 'p0.model')?.detail).toBe('production, champion');
    expect(new Set(layout.nodes.map(n => n.id)).size).toBe(layout.nodes.length);
  });

  it('says so when a version has no data or its run is gone', () => {
    const bare: Models.ILineage = {
      model: version('2.0.0', { lineage: { run_id: 'gone1234xyz', data: [], params: {}, metrics: {} }, run_id: 'gone1234xyz' }),
      run: null,
      parents: []
    };
    const labels = layoutLineage(bare).nodes.map(n => n.label);
    expect(labels).toEqual(['no data recorded', 'gone1234 (deleted)', 'churn:2.0.0']);
  });

  it('turns a history event into the CLI columns', () => {
    const row = historyRow({ name: 'churn', version: '1.0.0', change: 'alias', label: 'champion', from_value: null,
                             to_value: '1.0.0', who: 'ana', at: 0, note: 'n', forced: true });
    expect(row.slice(1)).toEqual(['ana', '1.0.0', 'alias champion', '-', '1.0.0', 'n [forced]']);
  });
});

describe('ModelsView', () => {
  const dom = mountPoint();

  const source: IModelsSource = {
    list: async () => [{ name: HOSTILE, latest: '1.1.0', versions: 2, aliases: { champion: '1.0.0' }, stages: {}, updated: 0 }],
    versions: async () => [version('1.1.0'), version('1.0.0', { aliases: ['champion'] })],
    lineage: async ref => {
      expect(ref).toBe(`${HOSTILE}:1.1.0`);
      return graph();
    },
    history: async () => [{ name: HOSTILE, version: '1.0.0', change: 'alias', label: 'champion', from_value: null,
                            to_value: '1.0.0', who: 'ana', at: 0, note: HOSTILE, forced: false }],
    change: async () => Promise.reject(new Error('read-only in this spec'))
  };

  async function settle(): Promise<void> {
    for (let i = 0; i < 5; i++) {
      await act(async () => undefined);
    }
  }

  it('lists models, opens versions, history and the lineage picture, with hostile text kept as text', async () => {
    act(() => dom.root.render(<ModelsView source={source} />));
    await settle();
    const row = dom.host.querySelector('tr[data-model]') as HTMLElement;
    expect(row.textContent).toContain(HOSTILE);
    act(() => row.click());
    await settle();
    expect(Array.from(dom.host.querySelectorAll('tr[data-version]')).map(r => r.getAttribute('data-version'))).toEqual(['1.1.0', '1.0.0']);
    expect(dom.host.querySelector('.jp-Mlops-modelHistory')?.textContent).toContain(HOSTILE);
    act(() => (dom.host.querySelector('tr[data-version="1.1.0"] .jp-Mlops-lineageButton') as HTMLElement).click());
    await settle();
    const svg = dom.host.querySelector('svg.jp-Mlops-lineage') as SVGElement;
    expect(Array.from(svg.querySelectorAll('[data-kind]')).map(n => n.getAttribute('data-kind'))).toEqual(
      ['data', 'data', 'run', 'model', 'data', 'run', 'model']
    );
    expect(svg.textContent).toContain('fit-two');
    expect(svg.textContent).toContain('churn:1.1.0');
    expect(svg.querySelectorAll('path.jp-Mlops-lineageEdge.jp-mod-parent').length).toBe(1);
    expect(dom.host.querySelector('img')).toBeNull(); // no markup was parsed anywhere
    expect((window as any).__pwned).toBeUndefined();
  });

  it('shows a failed request as its one-line message', async () => {
    const failing = { ...source, list: async () => Promise.reject(new Error('no such model: nope')) };
    act(() => dom.root.render(<ModelsView source={failing} />));
    await settle();
    expect(dom.host.querySelector('.jp-Mlops-error')?.textContent).toBe('no such model: nope');
  });
});
