// A stored endpoint read back: the stores keep each one under its node and container ID, and a reader
// trusts an entry only when its JSON is a valid endpoint that agrees with where it is stored.
import { parseEndpoint, type Endpoint } from '../../lib/weftd-api/endpoint.ts';
import type { JsonValue } from '../../lib/json/json-value.ts';
import type { InvalidEndpoint } from './store.ts';

/** The endpoint stored as `value` under `<node>/<containerId>` (the entry's `key`), or what is wrong with it. */
export function endpointFromEntry(key: string, node: string, containerId: string, value: JsonValue): Endpoint | InvalidEndpoint {
  let endpoint: Endpoint;
  try {
    endpoint = parseEndpoint(value);
  } catch (err) {
    return { key, problem: (err as Error).message };
  }
  if (endpoint.node !== node || endpoint.containerId !== containerId) return { key, problem: 'node or containerId differs from where it is stored' };
  return endpoint;
}
