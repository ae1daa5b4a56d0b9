// The endpoints the overlay plugin saved with its attachments (lib/weftd-api/saved-attachment.ts): weftd
// registers them again when it starts, so endpoints registered while it was down or before a restart are
// served without waiting for the containers to be re-added. A file that does not hold a valid endpoint is
// logged and skipped: one bad file must not keep the others from being served.
import { join } from 'node:path';
import { parseSaved, savedFiles } from '../../lib/weftd-api/saved-attachment.ts';
import { readBoundedFile } from '../../lib/files/bounded-read.ts';
import type { Logger } from '../log.ts';
import { parseEndpoint, type Endpoint } from '../../lib/weftd-api/endpoint.ts';

export async function savedEndpoints(dataDir: string, node: string, log: Logger): Promise<Endpoint[]> {
  const endpoints: Endpoint[] = [];
  for (const file of await savedFiles(dataDir)) {
    const path = join(dataDir, file);
    try {
      const saved = parseSaved(readBoundedFile(path));
      if (saved.endpoint) endpoints.push(parseEndpoint({ ...saved.endpoint, node }));
    } catch (err) {
      // ENOENT: DEL removed it meanwhile.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn('skipping a saved overlay attachment', { path, error: err });
    }
  }
  return endpoints;
}
