// The names weftd answers for itself, built from the endpoints of every node with no effects. Under the
// network's domain (default weft.internal):
//   <service>.<domain>                      A / AAAA of every endpoint of the service that receives traffic
//   <container>.<service>.<domain>          A / AAAA of one container, by its ID (a 64-character digest
//                                           by its short form, as `docker ps` shows it): SRV targets and
//                                           PTR answers name it
//   <container>.<domain>                    the same for a container that serves no service
//   _<port>._<proto>.<service>.<domain>     SRV (RFC 2782, the Kubernetes form) per named port and endpoint
// and PTR records for container addresses in the reverse zones of the overlay networks.
//
// Endpoints left out: those that receive no traffic (the same rule as xDS: `receivesTraffic`) and those of
// a node the node health view (daemon/health) does not find serving: xDS serves those unhealthy, DNS
// leaves them out. Negative answers follow RFC 2308 and 8020: NXDOMAIN for a name
// that does not exist (nor anything below it), NOERROR without answers for a name that does, each with the
// zone's SOA, whose short TTL bounds how long a resolver keeps the negative answer.
import type { Answer, SoaAnswer, SrvData } from 'dns-packet';
import { parseIp } from '../../lib/ip/address.ts';
import { netContains, type IpNet } from '../../lib/ip/cidr.ts';
import { receivesTraffic, type Endpoint } from '../../lib/weftd-api/endpoint.ts';
import type { NodeHealthView } from '../health/node-health.ts';
import { parseReverseName, reverseName, reverseZone } from './reverse-names.ts';

/** Seconds a record (and a negative answer) may be cached: a change is seen within a second or two. */
export const recordTtl = 1;
const shortIdLength = 12;

export interface ZoneOptions {
  /** The forward zone, lowercase without a trailing dot. */
  readonly domain: string;
  /** The overlay networks: their addresses' reverse names are answered here. */
  readonly networks: readonly IpNet[];
}

export type ZoneRcode = 'NOERROR' | 'NXDOMAIN';

export interface ZoneAnswer {
  readonly rcode: ZoneRcode;
  /** The next answer to the same question may differ: addresses are rotated. */
  readonly varies?: boolean;
  readonly answers: Answer[];
  readonly authorities: Answer[];
  readonly additionals: Answer[];
}


/** One record an endpoint contributes: its owner name, the zone apex holding it, and the value. */
export type EndpointRecord =
  | { readonly name: string; readonly apex: string; readonly kind: 'a' | 'aaaa' | 'ptr'; readonly value: string }
  | { readonly name: string; readonly apex: string; readonly kind: 'srv'; readonly value: SrvData };

const labelPattern = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * A container's label: its ID, lowercase, other characters as '-'; an ID too long for a label (Docker's,
 * Podman's and the CRI's are 64 hex digits) by its first 12 characters, the short form their tools show.
 */
export function containerLabel(containerId: string): string {
  const whole = containerId.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  const label = (whole.length > 63 ? whole.slice(0, shortIdLength) : whole).replace(/^-+|-+$/g, '');
  return label === '' ? 'c' : label;
}

/** The SRV owner label of a port name ("_grpc"); undefined when the name cannot be a label. */
function portLabel(name: string): string | undefined {
  const lower = name.toLowerCase();
  return labelPattern.test(lower) ? `_${lower}` : undefined;
}

/** The records of one endpoint: its service's and its container's addresses, PTRs, SRVs. */
function endpointRecords(endpoint: Endpoint, options: ZoneOptions): EndpointRecord[] {
  const { domain, networks } = options;
  const service = endpoint.service === undefined ? undefined : `${endpoint.service}.${domain}`;
  const container = `${containerLabel(endpoint.containerId)}.${service ?? domain}`;
  const records: EndpointRecord[] = [];
  for (const text of endpoint.addresses) {
    const address = parseIp(text);
    const kind = address.family === 4 ? 'a' : 'aaaa';
    if (service) records.push({ name: service, apex: domain, kind, value: text });
    records.push({ name: container, apex: domain, kind, value: text });
    const network = networks.find((net) => netContains(net, address));
    if (network) records.push({ name: reverseName(address), apex: reverseZone(network), kind: 'ptr', value: container });
  }
  for (const port of service ? endpoint.ports : []) {
    const label = portLabel(port.name);
    if (label) records.push({ name: `${label}._${port.protocol}.${service}`, apex: domain, kind: 'srv', value: { priority: 0, weight: 1, port: port.port, target: container } });
  }
  return records;
}

/** `name` and its ancestors up to (not including) `apex`. */
function* namesUpTo(name: string, apex: string): Generator<string> {
  for (let n = name; n !== apex && n.length > apex.length; n = n.slice(n.indexOf('.') + 1)) yield n;
}

export class Zone {
  /** The records by owner name, as the endpoints contributed them (a name's values are told apart when answering). */
  private readonly records = new Map<string, EndpointRecord[]>();
  /** Every name that exists: those with records and their ancestors inside the zone (RFC 8020). */
  private readonly existing = new Set<string>();
  private rotation = 0;

  /**
   * `memo` keeps each endpoint's records between builds (endpoints are immutable records): a rebuild after
   * one change then derives one endpoint's names, not every endpoint's.
   */
  constructor(private readonly options: ZoneOptions, private readonly serial: number, endpoints: Iterable<Endpoint>,
    health: Pick<NodeHealthView, 'isServing'>, memo = new WeakMap<Endpoint, readonly EndpointRecord[]>()) {
    for (const endpoint of endpoints) {
      if (!receivesTraffic(endpoint) || !health.isServing(endpoint.node)) continue;
      let records = memo.get(endpoint);
      if (!records) {
        records = endpointRecords(endpoint, options);
        memo.set(endpoint, records);
      }
      for (const record of records) this.add(record);
    }
  }

  private add(record: EndpointRecord): void {
    const list = this.records.get(record.name);
    if (list) {
      list.push(record);
      return;
    }
    this.records.set(record.name, [record]);
    for (const n of namesUpTo(record.name, record.apex)) this.existing.add(n);
  }

  /** The values of one kind at a name, each once (two containers may share a service name and a label). */
  private values(entry: readonly EndpointRecord[] | undefined, kind: 'a' | 'aaaa' | 'ptr'): string[] {
    const values = new Set<string>();
    for (const r of entry ?? []) if (r.kind === kind) values.add(r.value);
    return [...values];
  }

  private services(entry: readonly EndpointRecord[]): SrvData[] {
    const seen = new Set<string>();
    const out: SrvData[] = [];
    for (const r of entry) {
      if (r.kind !== 'srv' || seen.has(`${r.value.port} ${r.value.target}`)) continue;
      seen.add(`${r.value.port} ${r.value.target}`);
      out.push(r.value);
    }
    return out;
  }

  /** The answer to `name` (lowercase, no trailing dot) and `type`, or undefined when the name is not this zone's. */
  answer(name: string, type: string): ZoneAnswer | undefined {
    const apex = this.apexOf(name);
    if (apex === undefined) return undefined;
    const entry = this.records.get(name);
    if (!entry && !this.existing.has(name) && name !== apex) return this.negative('NXDOMAIN', apex);
    const answers: Answer[] = [];
    const additionals: Answer[] = [];
    const want = (t: string) => type === t || type === 'ANY';
    let varies = false;
    if (entry) {
      for (const [kind, recordType] of [['a', 'A'], ['aaaa', 'AAAA']] as const) {
        if (!want(recordType)) continue;
        const values = this.values(entry, kind);
        varies ||= values.length > 1;
        answers.push(...this.rotate(values).map((data) => ({ name, type: recordType, ttl: recordTtl, data })));
      }
      if (want('PTR')) answers.push(...this.values(entry, 'ptr').map((data) => ({ name, type: 'PTR' as const, ttl: recordTtl, data })));
      if (want('SRV')) {
        for (const data of this.services(entry)) {
          answers.push({ name, type: 'SRV', ttl: recordTtl, data });
          additionals.push(...this.addresses(data.target));
        }
      }
    }
    if (name === apex && want('SOA')) answers.push(this.soa(apex));
    if (answers.length === 0) return this.negative('NOERROR', apex);
    return { rcode: 'NOERROR', answers, authorities: [], additionals, varies };
  }

  /** The zone apex `name` falls in: the domain, or the reverse zone of a network holding its address or a container's. */
  private apexOf(name: string): string | undefined {
    const { domain, networks } = this.options;
    if (name === domain || name.endsWith(`.${domain}`)) return domain;
    const address = parseReverseName(name);
    const network = address && networks.find((net) => netContains(net, address));
    if (network) return reverseZone(network);
    // A partial reverse name is ours when a container's name lies below it.
    if (this.existing.has(name)) return networks.map(reverseZone).find((zone) => name.endsWith(`.${zone}`));
    return undefined;
  }

  private addresses(target: string): Answer[] {
    const entry = this.records.get(target);
    return [
      ...this.values(entry, 'a').map((data) => ({ name: target, type: 'A' as const, ttl: recordTtl, data })),
      ...this.values(entry, 'aaaa').map((data) => ({ name: target, type: 'AAAA' as const, ttl: recordTtl, data })),
    ];
  }

  /** Addresses in turn, so that clients taking the first one spread over the endpoints. */
  private rotate(list: readonly string[]): string[] {
    if (list.length < 2) return [...list];
    const start = this.rotation++ % list.length;
    return [...list.slice(start), ...list.slice(0, start)];
  }

  private soa(apex: string): SoaAnswer {
    const { domain } = this.options;
    return {
      name: apex, type: 'SOA', ttl: recordTtl,
      data: { mname: `ns.${domain}`, rname: `hostmaster.${domain}`, serial: this.serial, refresh: 60, retry: 10, expire: 3600, minimum: recordTtl },
    };
  }

  private negative(rcode: ZoneRcode, apex: string): ZoneAnswer {
    return { rcode, answers: [], authorities: [this.soa(apex)], additionals: [] };
  }
}
