// JSON text read at the contract's edges (stdin, a plugin's stdout, CAP_ARGS), failing as a CniError with the
// caller's code and message and the parser's own words as details.

import { CniError } from './errors.ts';
import type { JsonObject, JsonValue } from '../json/json-value.ts';

function kindOf(value: JsonValue): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'a list' : typeof value;
}

export function parseJson(text: string, code: number, msg: string): JsonValue {
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
