import * as React from 'react';
import { act } from 'react';

import { IModelsSource, ModelsView } from '../components/ModelsView';
import { changeRequests, modelPath, Models } from '../modelsLogic';
import { mountPoint } from './dom';

const FORM: Models.IChangeForm = { alias: '', stage: '', force: false, reason: '', note: '' };
const REFUSED = "refusing to give churn:1.1.0 alias 'challenger': lineage incomplete (no code recorded); pass --force";

describe('changeRequests', () => {
  it('makes the alias request first, then the stage, with force, reason and note on both', () => {
    expect(changeRequests({ alias: ' challenger ', stage: 'staging', force: true, reason: ' trial ', note: 'wk 3' })).toEqual({
      requests: [
        { what: 'alias', body: { alias: 'challenger', force: true, reason: 'trial', note: 'wk 3' } },
        { what: 'stage', body: { stage: 'staging', force: true, reason: 'trial', note: 'wk 3' } }
      ],
      problem: null
    });
    expect(changeRequests({ ...FORM, stage: 'archived' }).requests).toEqual([{ what: 'stage', body: { stage: 'archived' } }]);
  });

  it('says why a form cannot be sent', () => {
    expect(changeRequests(FORM)).toEqual({ requests: [], problem: 'Give an alias or choose a stage.' });
    expect(changeRequests({ ...FORM, alias: 'x', force: true, reason: '  ' }).problem).toBe(
      'Forcing needs a reason: it is recorded in the history.'
    );
  });

  it('posts to the version reference, encoded', () => {
    expect(modelPath('churn:1.1.0', 'alias')).toBe('models/churn%3A1.1.0/alias');
    expect(modelPath('churn@champion', 'stage')).toBe('models/churn%40champion/stage');
  });
});

describe('ModelsView changes', () => {
  const dom = mountPoint();
  const sent: [string, Models.IChangeRequest][] = [];
  let reloads = 0;

  function version(v: string, aliases: string[] = []): Models.IVersion {
    return {
      name: 'churn', version: v, artifact_hash: 'sha256:aa', format: 'pickle', flavor: 'pickle', size: 1, run_id: null,
      parents: [], stage: 'none', aliases, created: 0, created_by: 'ana',
      lineage: { run_id: null, data: [], params: {}, metrics: {} }, lineage_gaps: ['no code recorded']
    };
  }

  const source: IModelsSource = {
    list: async () => {
      reloads += 1;
      return [{ name: 'churn', latest: '1.1.0', versions: 2, aliases: {}, stages: {}, updated: 0 }];
    },
    versions: async () => [version('1.1.0', sent.length > 1 ? ['challenger'] : []), version('1.0.0')],
    lineage: async () => Promise.reject(new Error('unused')),
    history: async () => [],
    change: async (ref, request) => {
      sent.push([ref, request]);
      if (!request.body.force) {
        throw new Error(REFUSED);
      }
      return { name: 'churn', version: '1.1.0', change: 'alias', label: 'challenger', from_value: null,
               to_value: '1.1.0', who: 'ana', at: 0, note: 'forced', forced: true };
    }
  };

  async function settle(): Promise<void> {
    for (let i = 0; i < 5; i++) {
      await act(async () => undefined);
    }
  }

  function type(selector: string, value: string): void {
    const input = dom.host.querySelector(selector) as HTMLInputElement;
    const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!;
    act(() => {
      setter.call(input, value);
      input.dispatchEvent(new Event('input', { bubbles: true }));
    });
  }

  it('shows a refused promotion as the server says it, then forces it with a reason and reloads', async () => {
    act(() => dom.root.render(<ModelsView source={source} />));
    await settle();
    act(() => (dom.host.querySelector('tr[data-model]') as HTMLElement).click());
    await settle();
    act(() => (dom.host.querySelector('tr[data-version="1.1.0"] .jp-Mlops-changeButton') as HTMLElement).click());
    expect(dom.host.querySelector('.jp-Mlops-modelChange h3')?.textContent).toBe('Change churn:1.1.0');

    type('.jp-Mlops-aliasInput', 'challenger');
    act(() => (dom.host.querySelector('.jp-Mlops-applyChange') as HTMLElement).click());
    await settle();
    expect(dom.host.querySelector('.jp-Mlops-changeStatus')?.textContent).toBe(REFUSED);

    act(() => (dom.host.querySelector('.jp-Mlops-forceInput') as HTMLElement).click());
    act(() => (dom.host.querySelector('.jp-Mlops-applyChange') as HTMLElement).click());
    await settle();
    expect(dom.host.querySelector('.jp-Mlops-changeStatus')?.textContent).toBe(
      'Forcing needs a reason: it is recorded in the history.'
    );
    const before = reloads;
    type('.jp-Mlops-reasonInput', 'trial on new data');
    act(() => (dom.host.querySelector('.jp-Mlops-applyChange') as HTMLElement).click());
    await settle();
    expect(sent).toEqual([
      ['churn:1.1.0', { what: 'alias', body: { alias: 'challenger' } }],
      ['churn:1.1.0', { what: 'alias', body: { alias: 'challenger', force: true, reason: 'trial on new data' } }]
    ]);
    expect(dom.host.querySelector('.jp-Mlops-changeStatus')?.textContent).toBe('Saved');
    expect(reloads).toBe(before + 1);
    expect(dom.host.querySelector('tr[data-version="1.1.0"]')?.textContent).toContain('challenger');
  });
});
