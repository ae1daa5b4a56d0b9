// nf_tables over nfnetlink (linux/netfilter/nf_tables.h): the messages that declare tables, chains and
// rules, and the batch that makes several of them one kernel transaction. What the `nft` tool sends,
// without starting it: a plugin's firewall change is then one send on a socket instead of a process that
// first reads the whole ruleset into its cache.
//
// Only what weft's own chains need is here: base chains, and rules built from a small set of expressions
// that all work on register 1 (load, mask, compare) and end in a verdict or masquerade. Every integer
// nf_tables takes is big-endian; the rules are encoded as nft 1.0 encodes the same text, so `nft list`
// prints them back as that text.
import { attrEntries, Attrs, MessageWriter, type Message } from './codec.ts';
import { checkLinkName } from './link.ts';
import { NLM_F_APPEND, NLM_F_CREATE, NLM_F_DUMP } from './rtnetlink.ts';
import type { Request } from './socket.ts';

const NFNL_SUBSYS_NFTABLES = 10;
const NFNL_MSG_BATCH_BEGIN = 0x10;
const NFNL_MSG_BATCH_END = 0x11;

const NFT_MSG_NEWTABLE = 0;
const NFT_MSG_NEWCHAIN = 3;
const NFT_MSG_GETCHAIN = 4;
const NFT_MSG_DELCHAIN = 5;
const NFT_MSG_NEWRULE = 6;
const NFT_MSG_GETRULE = 7;
const NFT_MSG_DELRULE = 8;

const NFTA_TABLE_NAME = 1;
const NFTA_CHAIN_TABLE = 1;
const NFTA_CHAIN_NAME = 3;
const NFTA_CHAIN_HOOK = 4;
const NFTA_CHAIN_POLICY = 5;
const NFTA_CHAIN_TYPE = 7;
const NFTA_CHAIN_USERDATA = 12;
const NFTA_HOOK_HOOKNUM = 1;
const NFTA_HOOK_PRIORITY = 2;
const NFTA_HOOK_DEV = 3;
const NFTA_RULE_TABLE = 1;
const NFTA_RULE_CHAIN = 2;
const NFTA_RULE_HANDLE = 3;
const NFTA_RULE_EXPRESSIONS = 4;
const NFTA_RULE_USERDATA = 7;
const NFTA_LIST_ELEM = 1;
const NFTA_EXPR_NAME = 1;
const NFTA_EXPR_DATA = 2;
const NFTA_DATA_VALUE = 1;
const NFTA_DATA_VERDICT = 2;
const NFTA_VERDICT_CODE = 1;
const NFTA_VERDICT_CHAIN = 2;
// iptables-nft's matches (`-m comment`) are xtables extensions inside a `match` expression.
const NFTA_MATCH_NAME = 1;
const NFTA_MATCH_INFO = 3;
const NFT_JUMP = -3;
const NFT_GOTO = -4;

// Expression attributes, in the order of each expression's enum.
const NFTA_META_DREG = 1;
const NFTA_META_KEY = 2;
const NFTA_PAYLOAD_DREG = 1;
const NFTA_PAYLOAD_BASE = 2;
const NFTA_PAYLOAD_OFFSET = 3;
const NFTA_PAYLOAD_LEN = 4;
const NFTA_BITWISE_SREG = 1;
const NFTA_BITWISE_DREG = 2;
const NFTA_BITWISE_LEN = 3;
const NFTA_BITWISE_MASK = 4;
const NFTA_BITWISE_XOR = 5;
const NFTA_CMP_SREG = 1;
const NFTA_CMP_OP = 2;
const NFTA_CMP_DATA = 3;
const NFTA_MASQ_FLAGS = 1;
const NFTA_IMMEDIATE_DREG = 1;
const NFTA_IMMEDIATE_DATA = 2;

const NFT_REG_VERDICT = 0;
const NFT_REG_1 = 1;
// nft's userdata TLV for a comment, on a chain or a rule (libnftnl's NFTNL_UDATA_{CHAIN,RULE}_COMMENT).
const UDATA_COMMENT = 0;
const NF_NAT_RANGE_PROTO_RANDOM_FULLY = 1 << 4;

export type NftFamily = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev';
const familyNumbers: Record<NftFamily, number> = { inet: 1, ip: 2, arp: 3, netdev: 5, bridge: 7, ip6: 10 };
const familyNames = new Map(Object.entries(familyNumbers).map(([name, n]) => [n, name as NftFamily]));

export type NftHook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress' | 'egress';
const inetHooks: Partial<Record<NftHook, number>> = { prerouting: 0, input: 1, forward: 2, output: 3, postrouting: 4, ingress: 5 };
const netdevHooks: Partial<Record<NftHook, number>> = { ingress: 0, egress: 1 };

/** What makes a chain a base chain: hooked into the stack (on `device`, for netdev hooks). */
export interface NftBaseChain {
  readonly type: 'filter' | 'nat' | 'route';
  readonly hook: NftHook;
  readonly priority: number;
  readonly device?: string;
}

/**
 * One expression. Loads (meta, payload) write register 1; bitwise and cmp work on it; a verdict or
 * masquerade ends the rule.
 */
export type NftExpr =
  | { readonly meta: 'nfproto' | 'iiftype' }
  | { readonly payload: { readonly base: 'link' | 'network' | 'transport'; readonly offset: number; readonly length: number } }
  | { readonly bitwise: { readonly mask: Uint8Array; readonly xor: Uint8Array } }
  | { readonly cmp: { readonly op: 'eq' | 'neq'; readonly data: Uint8Array } }
  | { readonly masq: { readonly fullyRandom?: boolean } }
  | { readonly verdict: 'accept' | 'drop' | 'return' };

const metaKeys = { iiftype: 8, nfproto: 15 } as const;
const payloadBases = { link: 0, network: 1, transport: 2 } as const;
const cmpOps = { eq: 0, neq: 1 } as const;
// NF_DROP, NF_ACCEPT, NFT_RETURN.
const verdictCodes = { drop: 0, accept: 1, return: -5 } as const;

function message(type: number, flags: number, family: number, resId = 0): MessageWriter {
  // struct nfgenmsg: family, version (NFNETLINK_V0), resource id (big-endian).
  return new MessageWriter(type, flags).u8(family).u8(0).u8(resId >> 8).u8(resId & 0xff);
}

function nftMessage(msg: number, flags: number, family: NftFamily): MessageWriter {
  return message((NFNL_SUBSYS_NFTABLES << 8) | msg, flags, familyNumbers[family]);
}

function request(w: MessageWriter, operation: () => string): Request {
  return { message: w.finish(), operation };
}

/** `changes` as one transaction: the kernel applies all of them or none (NetlinkSocket.transaction). */
export function nftTransaction(changes: readonly Request[]): Request[] {
  const edge = (type: number, what: string): Request =>
    request(message(type, 0, 0, NFNL_SUBSYS_NFTABLES), () => `nftables transaction (${what})`);
  return [edge(NFNL_MSG_BATCH_BEGIN, 'commit'), ...changes, edge(NFNL_MSG_BATCH_END, 'end')];
}

/** `add table`: creates the table, or leaves an existing one as it is. */
export function nftAddTable(family: NftFamily, table: string): Request {
  const w = nftMessage(NFT_MSG_NEWTABLE, NLM_F_CREATE, family).attrString(NFTA_TABLE_NAME, table);
  return request(w, () => `add table ${family} ${table}`);
}

function hookNumber(family: NftFamily, hook: NftHook): number {
  const n = (family === 'netdev' ? netdevHooks : inetHooks)[hook];
  if (n === undefined) throw new RangeError(`no ${hook} hook in the ${family} family`);
  return n;
}

/** nft's encoding of a comment (at most 255 bytes: its length travels in one byte). */
function commentUserdata(comment: string): Buffer {
  const text = Buffer.from(comment, 'utf8');
  if (text.length > 254) throw new RangeError('nftables comment longer than 254 bytes');
  return Buffer.concat([Buffer.from([UDATA_COMMENT, text.length + 1]), text, Buffer.alloc(1)]);
}

/** The comment in nft's userdata TLVs, if any. */
function userdataComment(bytes: Buffer | undefined): string | undefined {
  for (let at = 0; bytes && at + 2 <= bytes.length; at += 2 + bytes[at + 1]!) {
    const [type, length] = [bytes[at]!, bytes[at + 1]!];
    if (type !== UDATA_COMMENT || at + 2 + length > bytes.length) continue;
    const text = bytes.subarray(at + 2, at + 2 + length);
    const nul = text.indexOf(0);
    return text.toString('utf8', 0, nul < 0 ? text.length : nul);
  }
  return undefined;
}

/**
 * `add chain`: creates the chain, or leaves an existing one as it is. `base` hooks it (given for an
 * existing base chain, it must match how that chain is hooked); without it, the chain is a regular one.
 */
export function nftAddChain(family: NftFamily, table: string, chain: string, base?: NftBaseChain, comment?: string): Request {
  const w = nftMessage(NFT_MSG_NEWCHAIN, NLM_F_CREATE, family).attrString(NFTA_CHAIN_TABLE, table).attrString(NFTA_CHAIN_NAME, chain);
  if (base) {
    w.nest(NFTA_CHAIN_HOOK, () => {
      w.attrBe32(NFTA_HOOK_HOOKNUM, hookNumber(family, base.hook)).attrBe32(NFTA_HOOK_PRIORITY, base.priority);
      if (base.device !== undefined) w.attrString(NFTA_HOOK_DEV, checkLinkName(base.device));
    });
    w.attrString(NFTA_CHAIN_TYPE, base.type);
  }
  if (comment !== undefined) w.attrBytes(NFTA_CHAIN_USERDATA, commentUserdata(comment));
  return request(w, () => `add chain ${family} ${table} ${chain}${base ? ` (${base.type} hook ${base.hook}${base.device ? ` device ${base.device}` : ''})` : ''}`);
}

/** `delete chain`, its rules with it. Fails when there is no such chain. */
export function nftDeleteChain(family: NftFamily, table: string, chain: string): Request {
  const w = nftMessage(NFT_MSG_DELCHAIN, 0, family).attrString(NFTA_CHAIN_TABLE, table).attrString(NFTA_CHAIN_NAME, chain);
  return request(w, () => `delete chain ${family} ${table} ${chain}`);
}

/** `flush chain`: removes every rule of the chain. */
export function nftFlushChain(family: NftFamily, table: string, chain: string): Request {
  const w = nftMessage(NFT_MSG_DELRULE, 0, family).attrString(NFTA_RULE_TABLE, table).attrString(NFTA_RULE_CHAIN, chain);
  return request(w, () => `flush chain ${family} ${table} ${chain}`);
}

function dataValue(w: MessageWriter, type: number, bytes: Uint8Array): void {
  w.nest(type, () => w.attrBytes(NFTA_DATA_VALUE, bytes));
}

function writeExpr(w: MessageWriter, expr: NftExpr): void {
  const element = (name: string, fill: () => void): void => {
    w.nest(NFTA_LIST_ELEM, () => {
      w.attrString(NFTA_EXPR_NAME, name);
      w.nest(NFTA_EXPR_DATA, fill);
    });
  };
  if ('meta' in expr) {
    element('meta', () => w.attrBe32(NFTA_META_DREG, NFT_REG_1).attrBe32(NFTA_META_KEY, metaKeys[expr.meta]));
  } else if ('payload' in expr) {
    const { base, offset, length } = expr.payload;
    element('payload', () =>
      w.attrBe32(NFTA_PAYLOAD_DREG, NFT_REG_1).attrBe32(NFTA_PAYLOAD_BASE, payloadBases[base]).attrBe32(NFTA_PAYLOAD_OFFSET, offset).attrBe32(NFTA_PAYLOAD_LEN, length),
    );
  } else if ('bitwise' in expr) {
    const { mask, xor } = expr.bitwise;
    if (mask.length !== xor.length) throw new RangeError('bitwise mask and xor differ in length');
    element('bitwise', () => {
      w.attrBe32(NFTA_BITWISE_SREG, NFT_REG_1).attrBe32(NFTA_BITWISE_DREG, NFT_REG_1).attrBe32(NFTA_BITWISE_LEN, mask.length);
      dataValue(w, NFTA_BITWISE_MASK, mask);
      dataValue(w, NFTA_BITWISE_XOR, xor);
    });
  } else if ('cmp' in expr) {
    element('cmp', () => {
      w.attrBe32(NFTA_CMP_SREG, NFT_REG_1).attrBe32(NFTA_CMP_OP, cmpOps[expr.cmp.op]);
      dataValue(w, NFTA_CMP_DATA, expr.cmp.data);
    });
  } else if ('masq' in expr) {
    element('masq', () => {
      if (expr.masq.fullyRandom) w.attrBe32(NFTA_MASQ_FLAGS, NF_NAT_RANGE_PROTO_RANDOM_FULLY);
    });
  } else {
    element('immediate', () => {
      w.attrBe32(NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
      w.nest(NFTA_IMMEDIATE_DATA, () => w.nest(NFTA_DATA_VERDICT, () => w.attrBe32(NFTA_VERDICT_CODE, verdictCodes[expr.verdict])));
    });
  }
}

/** `add rule`: appends a rule made of `exprs`, with an optional comment, to the chain. */
export function nftAddRule(family: NftFamily, table: string, chain: string, exprs: readonly NftExpr[], comment?: string): Request {
  const w = nftMessage(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, family).attrString(NFTA_RULE_TABLE, table).attrString(NFTA_RULE_CHAIN, chain);
  w.nest(NFTA_RULE_EXPRESSIONS, () => {
    for (const expr of exprs) writeExpr(w, expr);
  });
  if (comment !== undefined) w.attrBytes(NFTA_RULE_USERDATA, commentUserdata(comment));
  return request(w, () => `add rule to ${family} ${table} ${chain}${comment === undefined ? '' : ` (${comment})`}`);
}

/** `delete rule … handle N`. */
export function nftDeleteRule(family: NftFamily, table: string, chain: string, handle: bigint): Request {
  const w = nftMessage(NFT_MSG_DELRULE, 0, family).attrString(NFTA_RULE_TABLE, table).attrString(NFTA_RULE_CHAIN, chain);
  const be64 = Buffer.alloc(8);
  be64.writeBigUInt64BE(handle);
  w.attrBytes(NFTA_RULE_HANDLE, be64);
  return request(w, () => `delete rule ${family} ${table} ${chain} handle ${handle}`);
}

/** A dump of every chain of `family`, or of every family (all tables): `parseChains` reads the answer. */
export function nftListChains(family?: NftFamily): Request {
  return request(message((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETCHAIN, NLM_F_DUMP, family ? familyNumbers[family] : 0), () => `list chains ${family ?? ''}`.trim());
}

/** A dump of the rules of one chain (the kernel filters): `parseRules` reads the answer. */
export function nftListChainRules(family: NftFamily, table: string, chain: string): Request {
  const w = nftMessage(NFT_MSG_GETRULE, NLM_F_DUMP, family).attrString(NFTA_RULE_TABLE, table).attrString(NFTA_RULE_CHAIN, chain);
  return request(w, () => `list chain ${family} ${table} ${chain}`);
}

/** A dump of every rule of every family: `parseRules` reads the answer. */
export function nftListRules(): Request {
  return request(message((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETRULE, NLM_F_DUMP, 0), () => 'list rules');
}

export interface NftChainInfo {
  readonly family: NftFamily;
  readonly table: string;
  readonly name: string;
  /** Base chains only. */
  readonly type?: string;
  readonly hook?: NftHook;
  readonly priority?: number;
  readonly policy?: 'accept' | 'drop';
}

export interface NftRuleInfo {
  readonly family: NftFamily;
  readonly table: string;
  readonly chain: string;
  readonly handle: bigint;
  readonly comment?: string;
  /** The chain the rule's verdict jumps (or goes) to. */
  readonly jumpTo?: string;
  /** The comment of an iptables-nft rule (`-m comment --comment`), an xtables match rather than nft's own. */
  readonly xtComment?: string;
}

/** A dumped object's family (nfgenmsg's first byte) and its attributes (after the 4-byte nfgenmsg). */
function readObject(m: Message): { family: NftFamily | undefined; attrs: Attrs } {
  return { family: familyNames.get(m.body[0]!), attrs: new Attrs(m.body, 4) };
}

function hookName(family: NftFamily, n: number): NftHook | undefined {
  const hooks = family === 'netdev' ? netdevHooks : inetHooks;
  return (Object.keys(hooks) as NftHook[]).find((name) => hooks[name] === n);
}

export function parseChains(messages: readonly Message[]): NftChainInfo[] {
  return messages.flatMap((m) => {
    const { family, attrs } = readObject(m);
    const table = attrs.string(NFTA_CHAIN_TABLE);
    const name = attrs.string(NFTA_CHAIN_NAME);
    if (family === undefined || table === undefined || name === undefined) return [];
    const hook = attrs.nested(NFTA_CHAIN_HOOK);
    const hookNumber = hook?.be32(NFTA_HOOK_HOOKNUM);
    const priority = hook?.be32(NFTA_HOOK_PRIORITY, true);
    const policy = attrs.be32(NFTA_CHAIN_POLICY);
    const type = attrs.string(NFTA_CHAIN_TYPE);
    return [{
      family,
      table,
      name,
      ...(type !== undefined && { type }),
      ...(hookNumber !== undefined && { hook: hookName(family, hookNumber) }),
      ...(priority !== undefined && { priority }),
      ...(policy !== undefined && { policy: policy === 1 ? 'accept' as const : 'drop' as const }),
    }];
  });
}

/** What parseRules reads from a rule's expressions: where its verdict jumps, and an iptables comment. */
function readExpressions(list: Buffer | undefined): { jumpTo?: string; xtComment?: string } {
  const found: { jumpTo?: string; xtComment?: string } = {};
  for (const [type, element] of list ? attrEntries(list) : []) {
    if (type !== NFTA_LIST_ELEM) continue;
    const expr = new Attrs(element, 0);
    const data = expr.nested(NFTA_EXPR_DATA);
    const name = expr.string(NFTA_EXPR_NAME);
    if (name === 'immediate') {
      const verdict = data?.nested(NFTA_IMMEDIATE_DATA)?.nested(NFTA_DATA_VERDICT);
      const code = verdict?.be32(NFTA_VERDICT_CODE, true);
      const chain = verdict?.string(NFTA_VERDICT_CHAIN);
      if ((code === NFT_JUMP || code === NFT_GOTO) && chain !== undefined) found.jumpTo = chain;
    } else if (name === 'match' && data?.string(NFTA_MATCH_NAME) === 'comment') {
      // struct xt_comment_info: the text, NUL-padded.
      const info = data.bytes(NFTA_MATCH_INFO);
      if (info) found.xtComment = info.toString('utf8', 0, info.includes(0) ? info.indexOf(0) : info.length);
    }
  }
  return found;
}

export function parseRules(messages: readonly Message[]): NftRuleInfo[] {
  return messages.flatMap((m) => {
    const { family, attrs } = readObject(m);
    const table = attrs.string(NFTA_RULE_TABLE);
    const chain = attrs.string(NFTA_RULE_CHAIN);
    const handle = attrs.be64(NFTA_RULE_HANDLE);
    if (family === undefined || table === undefined || chain === undefined || handle === undefined) return [];
    const comment = userdataComment(attrs.bytes(NFTA_RULE_USERDATA));
    return [{ family, table, chain, handle, ...(comment !== undefined && { comment }), ...readExpressions(attrs.bytes(NFTA_RULE_EXPRESSIONS)) }];
  });
}
