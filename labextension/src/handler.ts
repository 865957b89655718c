import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { rememberWholeFloats } from './logic';
import { Mlops } from './tokens';

/**
 * Call the jupyter_mlops REST API: the only place that talks to the server.
 *
 * `ServerConnection.makeRequest` adds the token and the XSRF header, so PATCH passes the server's XSRF check.
 *
 * @param endPoint path under `<base_url>/jupyter-mlops/api/`, with its query string
 * @param init fetch options (method, body)
 * @returns the decoded JSON reply
 * @throws {Mlops.ResponseError} with the server's `{code, message}` when the reply is not 2xx, or a
 *   network error message when the server cannot be reached
 */
export async function requestAPI<T>(endPoint = '', init: RequestInit = {}): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'jupyter-mlops', 'api', endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new Mlops.ResponseError(`cannot reach the Jupyter server: ${String(error)}`, 0, 'NETWORK');
  }
  const text = await response.text();
  let data: any = null;
  if (text.length > 0) {
    try {
      data = JSON.parse(text, rememberWholeFloats as (key: string, value: unknown) => unknown);
    } catch {
      data = { message: text.slice(0, 200) };
    }
  }
  if (!response.ok) {
    throw new Mlops.ResponseError(
      data?.message ?? response.statusText,
      response.status,
      data?.code ?? 'HTTP_ERROR',
      typeof data?.position === 'number' ? data.position : null
    );
  }
  return data as T;
}
