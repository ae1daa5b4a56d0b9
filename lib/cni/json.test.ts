import { describe, expect, it } from 'vitest';
import { parseJson, parseJsonObject } from './json.ts';
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
