// CNI_ARGS: "K=V;K=V" pairs (SPEC.md section 2), read as the reference's types.LoadArgs does. Each plugin
// declares the keys it knows with a parser per key; a key it does not know is an error unless the caller
// sent IgnoreUnknown=1 (or true), which Kubernetes and Podman always do. Every failure is code 4 and names
// CNI_ARGS.
//
//   const cniArgs = parseCniArgs(args.args, { IP: (v) => v.split(',').map(parseIp), ...K8S_ARGS });
//   cniArgs.IP            // IpAddress[] | undefined (a bad address is a code-4 error naming the pair)

import { CniError, ErrorCode } from './errors.ts';
import { quoteList } from './version.ts';

/** Turns one value into what the plugin wants; throws (any Error) when the text is not acceptable. */
export type ArgParser<T> = (value: string) => T;
export type ArgsSchema = Readonly<Record<string, ArgParser<unknown>>>;
export type ParsedArgs<S extends ArgsSchema> = { -readonly [K in keyof S]?: ReturnType<S[K]> } & { IgnoreUnknown: boolean };

/** The reference's boolean text: 1/true/0/false, any case. */
export function parseArgBoolean(value: string): boolean {
  switch (value.toLowerCase()) {
    case '1':
    case 'true':
      return true;
    case '0':
    case 'false':
      return false;
  }
  throw new TypeError(`boolean unmarshal error: invalid input ${value.toLowerCase()}`);
}

/** The keys Kubernetes (and CRI runtimes) send with every call, as plain strings. */
export const K8S_ARGS = {
  K8S_POD_NAMESPACE: String,
  K8S_POD_NAME: String,
  K8S_POD_INFRA_CONTAINER_ID: String,
  K8S_POD_UID: String,
} as const satisfies ArgsSchema;

function invalid(details: string, cause?: unknown): CniError {
  return new CniError(ErrorCode.InvalidEnvironment, 'invalid CNI_ARGS', details, { cause });
}

/**
 * Parses CNI_ARGS against `schema`. Keys match exactly (case-sensitive); a later pair overrides an
 * earlier one; `IgnoreUnknown` is always known.
 */
export function parseCniArgs<S extends ArgsSchema>(text: string, schema: S): ParsedArgs<S> {
  const parsed: Record<string, unknown> = { IgnoreUnknown: false };
  if (text === '') return parsed as ParsedArgs<S>;
  const unknown: string[] = [];
  for (const pair of text.split(';')) {
    const parts = pair.split('=');
    if (parts.length !== 2) throw invalid(`invalid pair ${JSON.stringify(pair)}`);
    const [key, value] = parts as [string, string];
    const parser = key === 'IgnoreUnknown' ? parseArgBoolean : Object.hasOwn(schema, key) ? schema[key] : undefined;
    if (!parser) {
      unknown.push(pair);
      continue;
    }
    try {
      parsed[key] = parser(value);
    } catch (err) {
      throw invalid(`error parsing value of pair ${JSON.stringify(pair)}: ${(err as Error).message}`, err);
    }
  }
  if (unknown.length > 0 && !parsed.IgnoreUnknown) throw invalid(`unknown args ${quoteList(unknown)}`);
  return parsed as ParsedArgs<S>;
}
