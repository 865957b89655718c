import * as React from 'react';

/** Says what the badge means (its tooltip and accessible name). */
export const LOCAL_ONLY_TEXT = 'Local only: not yet pushed to the team store (jupyter-mlops sync push)';

/**
 * A small "local" badge for a run never synced with the configured remote (`local_only` in `GET runs`); nothing
 * for a synced run, or when no remote is configured (the field is then absent).
 */
export function LocalOnlyBadge(props: { run: { local_only?: boolean } }): JSX.Element | null {
  if (props.run.local_only !== true) {
    return null;
  }
  return (
    <span className="jp-Mlops-localBadge" title={LOCAL_ONLY_TEXT} aria-label={LOCAL_ONLY_TEXT} role="img">
      local
    </span>
  );
}
