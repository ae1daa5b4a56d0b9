// The entry of every weft plugin executable: build.mjs bundles a plugin's code, hashes it, and embeds both
// here, so the executable stays one file. The code then runs with a compile cache (code-cache.ts).
import { runDirectory } from '../run-dir.ts';
import { runCached } from './code-cache.ts';

declare const __WEFT_PLUGIN_NAME__: string;
declare const __WEFT_PLUGIN_CODE__: string;
declare const __WEFT_PLUGIN_CODE_HASH__: string;

runCached(
  { source: __WEFT_PLUGIN_CODE__, hash: __WEFT_PLUGIN_CODE_HASH__, name: __WEFT_PLUGIN_NAME__, filename: __filename },
  {
    dir: process.env.WEFT_CODE_CACHE === 'off' ? undefined : `${runDirectory}/code-cache`,
    command: process.env.CNI_COMMAND,
    require,
  },
);
