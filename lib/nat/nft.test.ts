import { closeSync, existsSync, fstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CniError, ErrorCode } from '../cni/errors.ts';
import { nftApplyJson, nftList, parseNftListing, unnamedFile } from './nft.ts';

// A stand-in for nft: a shell script that records its arguments and stdin, then behaves as told.
const dir = mkdtempSync(join(tmpdir(), 'weft-nft-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fakeNft(body: string): readonly string[] {
  return ['sh', '-c', `printf '%s\\n' "$@" > ${dir}/args; cat > ${dir}/stdin; ${body}`, 'nft'];
}

async function rejection(promise: Promise<unknown>): Promise<CniError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(CniError);
  return err as CniError;
}

describe('nftApplyJson', () => {
  it('hands one JSON document to `nft -j -f FILE`', async () => {
    const command = ['sh', '-c', `printf '%s\\n' "$@" > ${dir}/args; cp "$3" ${dir}/script`, 'nft'];
    await nftApplyJson([{ add: { table: { family: 'inet', name: 'weft' } } }], { command });
    const [j, f, file] = readFileSync(join(dir, 'args'), 'utf8').split('\n');
    expect([j, f]).toEqual(['-j', '-f']);
    expect(JSON.parse(readFileSync(join(dir, 'script'), 'utf8'))).toEqual({
      nftables: [{ add: { table: { family: 'inet', name: 'weft' } } }],
    });
    expect(existsSync(file!)).toBe(false);
  });

  const table = [{ add: { table: { family: 'inet', name: 'weft' } } }];

  it('turns a failure into a firewall error carrying nft stderr', async () => {
    const err = await rejection(nftApplyJson(table, { command: fakeNft('echo "Error: syntax error" >&2; exit 1') }));
    expect(err.code).toBe(ErrorCode.FirewallFailure);
    expect(err.msg).toBe('nftables transaction failed (exit 1)');
    expect(err.details).toBe('Error: syntax error');
  });

  it('says clearly when the program is missing', async () => {
    const err = await rejection(nftApplyJson(table, { command: ['/nonexistent/weft/nft'] }));
    expect(err.code).toBe(ErrorCode.FirewallFailure);
    expect(err.msg).toBe('nftables transaction: /nonexistent/weft/nft not found');
  });

  it('kills nft that hangs', async () => {
    const err = await rejection(nftApplyJson(table, { command: ['sh', '-c', 'exec sleep 5', 'nft'], timeoutMs: 100 }));
    expect(err.code).toBe(ErrorCode.FirewallFailure);
    expect(err.msg).toMatch(/did not finish within 100 ms/);
  });
});

describe('nftList', () => {
  const listing = JSON.stringify({
    nftables: [
      { metainfo: { version: '1.0.6', json_schema_version: 1 } },
      { table: { family: 'inet', name: 'weft', handle: 1 } },
      { chain: { family: 'inet', table: 'weft', name: 'masq-a', handle: 2, type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept' } },
      { rule: { family: 'inet', table: 'weft', chain: 'masq-a', handle: 3, expr: [] } },
    ],
  });

  it('runs `nft -j list …` and keeps chains and rules', async () => {
    const result = await nftList(['chains', 'inet'], { command: fakeNft(`echo '${listing}'`) });
    expect(readFileSync(join(dir, 'args'), 'utf8')).toBe('-j\nlist\nchains\ninet\n');
    expect(result.chains.map((c) => [c.name, c.hook, c.prio])).toEqual([['masq-a', 'postrouting', 100]]);
    expect(result.rules.map((r) => [r.chain, r.handle])).toEqual([['masq-a', 3]]);
  });

  it('refuses output that is not nft JSON', () => {
    expect(() => parseNftListing('table inet weft {')).toThrow(CniError);
    expect(() => parseNftListing('{"tables": []}')).toThrow(/without "nftables"/);
  });
});

describe('unnamedFile', () => {
  for (const anonymous of [true, false]) {
    it(`leaves no name behind and reads back what was written (${anonymous ? 'O_TMPFILE' : 'named, then unlinked'})`, () => {
      const here = mkdtempSync(join(dir, 'scratch-'));
      const fd = unnamedFile(here, anonymous);
      try {
        expect(readdirSync(here)).toEqual([]);
        writeSync(fd, 'add table inet weft\n', 0);
        expect(readFileSync(`/proc/self/fd/${fd}`, 'utf8')).toBe('add table inet weft\n');
        expect(fstatSync(fd).mode & 0o777).toBe(0o600);
      } finally {
        closeSync(fd);
      }
    });
  }
});
