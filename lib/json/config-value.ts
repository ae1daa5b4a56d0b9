// Typed reads from a JSON network config, each failure a code-7 CniError that names the field by its
// path ("ipam.ranges[0][1].subnet") and says what was expected and what came. Plugins read their own
// fields with it so every plugin words bad input the same way.
//
//   const ipam = new ConfigValue(raw).field('ipam');
//   const subnet = ipam.field('subnet').optionalCidr();      // undefined when absent
//   const ranges = ipam.field('ranges').optionalList() ?? [];

import { CniError, ErrorCode } from '../cni/errors.ts';
import type { JsonObject, JsonValue } from './json-value.ts';
import { tryParseIp, formatIp } from '../ip/address.ts';
import { tryParseCidr, formatCidr } from '../ip/cidr.ts';
import { interfaceNameProblem } from '../netlink/interface-name.ts';

export interface IntegerRange {
  min?: number;
  max?: number;
}

function describe(value: JsonValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `string ${JSON.stringify(value)}`;
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** The error a bad field raises: code 7 for a config; a delegate's result reads with code 6 instead. */
export interface FieldError {
  code: number;
  msg: string;
}

export const INVALID_CONFIG: FieldError = { code: ErrorCode.InvalidNetworkConfig, msg: 'invalid network config' };

export class ConfigValue {
  /** `value` undefined means the field is absent. `path` is '' for the whole config. */
  constructor(
    readonly value: JsonValue | undefined,
    readonly path: string = '',
    readonly error: FieldError = INVALID_CONFIG,
  ) {}

  private child(value: JsonValue | undefined, path: string): ConfigValue {
    return new ConfigValue(value, path, this.error);
  }

  get present(): boolean {
    return this.value !== undefined;
  }

  /** A code-7 error about this field. */
  invalid(problem: string): CniError {
    return new CniError(this.error.code, this.error.msg, `"${this.path}" ${problem}`);
  }

  private expected(what: string): CniError {
    return this.invalid(`must be ${what}, got ${describe(this.value as JsonValue)}`);
  }

  private required(): JsonValue {
    if (this.value === undefined) throw new CniError(this.error.code, this.error.msg, `missing "${this.path}"`);
    return this.value;
  }

  /**
   * A member of this object (absent when this value is absent). A member that is null is absent too, as
   * Go's encoding/json (the reference plugins, runtimes writing configs from structs) reads it.
   */
  field(key: string): ConfigValue {
    const path = this.path === '' ? key : `${this.path}.${key}`;
    if (this.value === undefined) return this.child(undefined, path);
    const object = this.object();
    return this.child(Object.hasOwn(object, key) && object[key] !== null ? object[key] : undefined, path);
  }

  object(): JsonObject {
    const value = this.required();
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw this.expected('an object');
    return value;
  }

  optionalObject(): JsonObject | undefined {
    return this.present ? this.object() : undefined;
  }

  string(): string {
    const value = this.required();
    if (typeof value !== 'string') throw this.expected('a string');
    return value;
  }

  optionalString(): string | undefined {
    return this.present ? this.string() : undefined;
  }

  /** A string that must not be empty. */
  nonEmptyString(): string {
    const value = this.string();
    if (value === '') throw this.invalid('must not be empty');
    return value;
  }

  boolean(): boolean {
    const value = this.required();
    if (typeof value !== 'boolean') throw this.expected('true or false');
    return value;
  }

  optionalBoolean(): boolean | undefined {
    return this.present ? this.boolean() : undefined;
  }

  integer(range: IntegerRange = {}): number {
    const value = this.required();
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw this.expected('an integer');
    if (range.min !== undefined && value < range.min) throw this.invalid(`must be at least ${range.min}, got ${value}`);
    if (range.max !== undefined && value > range.max) throw this.invalid(`must be at most ${range.max}, got ${value}`);
    return value;
  }

  optionalInteger(range?: IntegerRange): number | undefined {
    return this.present ? this.integer(range) : undefined;
  }

  list(): ConfigValue[] {
    const value = this.required();
    if (!Array.isArray(value)) throw this.expected('a list');
    return value.map((item, index) => this.child(item, `${this.path}[${index}]`));
  }

  optionalList(): ConfigValue[] | undefined {
    return this.present ? this.list() : undefined;
  }

  optionalStringList(): string[] | undefined {
    return this.optionalList()?.map((item) => item.string());
  }

  /** The members of an object whose values must all be booleans (`capabilities`). */
  optionalBooleanMap(): Record<string, boolean> | undefined {
    if (!this.present) return undefined;
    const map: Record<string, boolean> = {};
    for (const key of Object.keys(this.object())) map[key] = this.field(key).boolean();
    return map;
  }

  /** An IP address, returned in canonical text (RFC 5952 for IPv6). */
  ip(): string {
    const ip = tryParseIp(this.string());
    if (!ip) throw this.expected('an IP address');
    return formatIp(ip);
  }

  optionalIp(): string | undefined {
    return this.present ? this.ip() : undefined;
  }

  /** A CIDR with its host part kept ("10.1.0.5/24"), returned in canonical text. */
  cidr(): string {
    const net = tryParseCidr(this.string());
    if (!net) throw this.expected('a CIDR such as 10.1.0.0/16');
    return formatCidr(net);
  }

  optionalCidr(): string | undefined {
    return this.present ? this.cidr() : undefined;
  }

  /** A file's path: a NUL cannot be in one. */
  filePath(): string {
    const path = this.string();
    if (path.includes('\0')) throw this.invalid(`must be a path without NUL bytes, got ${JSON.stringify(path)}`);
    return path;
  }

  optionalFilePath(): string | undefined {
    return this.present ? this.filePath() : undefined;
  }

  /**
   * An absolute path, or `fallback` when absent (or empty, as the reference reads its dataDir): a relative
   * one would be relative to wherever the runtime happens to run the plugin.
   */
  absoluteFilePath(fallback: string): string {
    const path = this.present ? this.filePath() || fallback : fallback;
    if (!path.startsWith('/')) throw this.invalid(`must be an absolute path, got ${JSON.stringify(path)}`);
    return path;
  }

  /** A name the kernel takes for an interface (lib/netlink/interface-name.ts). */
  interfaceName(): string {
    const name = this.string();
    const problem = interfaceNameProblem(name);
    if (problem) throw this.invalid(`must be an interface name (${problem.msg}), got ${JSON.stringify(name)}`);
    return name;
  }
}
