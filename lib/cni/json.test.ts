import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, nestsDeeperThan, parseJson, parseJsonObject } from './json.ts';
import { catchCniError } from './testing/catch-cni-error.ts';

describe('parseJson / parseJsonObject', () => {
  it('parses JSON', () => {
    expect(parseJson('[1,"a",null]', 6, 'x')).toEqual([1, 'a', null]);
    expect(parseJsonObject('{"a":{"b":true}}', 6, 'x')).toEqual({ a: { b: true } });
  });

  it("fails with the caller's code and message and the parser's words", () => {
    const err = catchCniError(() => parseJson('{"a":', 4, 'invalid CAP_ARGS'));
    expect(err.code).toBe(4);
    expect(err.msg).toBe('invalid CAP_ARGS');
    expect(err.details).toMatch(/JSON/);
  });

  it.each([
    ['[]', 'a list'],
    ['null', 'null'],
    ['"s"', 'string'],
    ['1', 'number'],
    ['true', 'boolean'],
  ])('refuses %s where an object is needed', (text, kind) => {
    expect(catchCniError(() => parseJsonObject(text, 6, 'm')).details).toBe(`expected a JSON object, got ${kind}`);
  });
});

describe('nesting depth', () => {
  const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

  it('parses nesting up to the limit', () => {
    expect(parseJson(nested(MAX_JSON_DEPTH), 6, 'm')).toBeInstanceOf(Array);
  });

  it('refuses nesting past the limit with the caller\'s code, as the Go reference does', () => {
    const err = catchCniError(() => parseJsonObject(`{"a":${nested(MAX_JSON_DEPTH)}}`, 6, 'error unmarshall network config'));
    expect(err).toMatchObject({ code: 6, msg: 'error unmarshall network config' });
    expect(err.details).toMatch(/^exceeded max depth/);
  });

  it('refuses 10 MB of brackets (5 million levels) without parsing them', () => {
    const err = catchCniError(() => parseJson(`${'['.repeat(5_000_000)}${']'.repeat(5_000_000)}`, 6, 'm'));
    expect(err.details).toMatch(/^exceeded max depth/);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ s: `\\"${'['.repeat(MAX_JSON_DEPTH + 1)}`, t: '{'.repeat(MAX_JSON_DEPTH + 1) });
    expect(nestsDeeperThan(text, MAX_JSON_DEPTH)).toBe(false);
    expect(parseJsonObject(text, 6, 'm')).toHaveProperty('s');
  });
});
