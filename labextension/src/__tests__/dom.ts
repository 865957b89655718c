/** A fresh DOM node and React root for each spec of the calling file, removed after it. */
import { act } from 'react';
import { createRoot, Root } from 'react-dom/client';

(globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;

export interface IMountPoint {
  readonly host: HTMLDivElement;
  readonly root: Root;
}

export function mountPoint(): IMountPoint {
  const current: { host?: HTMLDivElement; root?: Root } = {};
  beforeEach(() => {
    current.host = document.createElement('div');
    document.body.appendChild(current.host);
    current.root = createRoot(current.host);
  });
  afterEach(() => {
    act(() => current.root!.unmount());
    current.host!.remove();
  });
  return {
    get host() {
      return current.host!;
    },
    get root() {
      return current.root!;
    }
  };
}
