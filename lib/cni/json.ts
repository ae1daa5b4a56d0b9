// JSON text read at the contract's edges (stdin, a plugin's stdout, CAP_ARGS), failing as a CniError with the
// caller's code and message and the parser's own words as details.

import { CniError } from './errors.ts';
import type { JsonObject, JsonValue } from '../json/json-value.ts';

function kindOf(value: JsonValue): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'a list' : typeof value;
}

// The Go reference's limit (encoding/json's maxNestingDepth). V8 parses nesting millions of levels deep, taking
// seconds over a few megabytes of brackets; a scan of the bytes refuses that in milliseconds.
export const MAX_JSON_DEPTH = 10_000;

/** Whether arrays and objects in `text` nest deeper than `limit`; brackets inside strings do not count. */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

export function parseJson(text: string, code: number, msg: string): JsonValue {
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) throw new CniError(code, msg, `exceeded max depth: arrays and objects nest deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return JSON.parse(text) as JsonValue;
  } catch (err) {
    throw new CniError(code, msg, (err as Error).message);
  }
}

/** Text that must hold a JSON object. */
export function parseJsonObject(text: string, code: number, msg: string): JsonObject {
  const value = parseJson(text, code, msg);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CniError(code, msg, `expected a JSON object, got ${kindOf(value)}`);
  }
  return value;
}
