import { LabIcon } from '@jupyterlab/ui-components';

/** A flask: the Experiments sidebar tab. */
export const experimentsIcon = new LabIcon({
  name: 'jupyter-mlops:experiments',
  svgstr: `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path class="jp-icon3" fill="#616161" d="M9 2h6v2h-1v5.2l5.6 9.3A2.3 2.3 0 0 1 17.6 22H6.4a2.3 2.3 0 0 1-2-3.5L10 9.2V4H9V2zm3 9.3L8.3 17h7.4L12 11.3z"/>
</svg>`
});
