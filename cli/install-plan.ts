// What `weft install` writes into a CNI config directory, decided before anything is written: each shipped
// network's file name, cniVersion and subnets, and which network the runtimes reading the directory take
// as their default, before and after. Pure: install.ts gathers what the directory and the host hold.
//
// Runtimes find networks two ways. containerd (`ctr run --cni` and the CRI plugin) and CRI-O (unless its
// cni_default_network names one) take the first file in name order; Podman, nerdctl and cnitool ask for a
// network by name. So a file's name decides whether installing it takes over the machine's default
// network: weft's files sort after the current first file unless `--default NETWORK` asks for one to
// come first. In an empty directory the first of weft's is the default whatever its name; the report
// says so.
import { CniError, ErrorCode } from '../lib/cni/errors.ts';
import type { JsonObject, JsonValue } from '../lib/json/json-value.ts';
import { formatCidr, netsOverlap, parseCidr, type IpNet } from '../lib/ip/cidr.ts';

/** A network config already in the target directory. */
export interface PresentConfig {
  readonly file: string;
  /** Its "name"; absent when the file does not parse. */
  readonly network?: string;
  /** Its "cniVersion": a kept config from an older install may say one the runtime refuses. */
  readonly cniVersion?: string;
  readonly subnets: readonly IpNet[];
}

/** A shipped network config (conf/*.conflist), parsed. */
export interface Template {
  /** Its file name in conf/, e.g. 10-weft-bridge.conflist. */
  readonly file: string;
  readonly conf: JsonObject;
}

/** A route of the host's main table: a subnet something on the machine already uses. */
export interface HostRoute {
  readonly dst: IpNet;
  readonly device: string;
}

export interface InstallChoices {
  readonly cniVersion: string;
  /** The shipped network to make the directory's default (its file sorts first). */
  readonly defaultNetwork?: string;
  /** Subnets for the bridge network instead of the shipped ones (one range set each). */
  readonly subnets?: readonly string[];
  /** Replace configs that define a shipped network's name. */
  readonly force: boolean;
}

export interface PlannedConfig {
  readonly file: string;
  readonly network: string;
  readonly conf: JsonObject;
  readonly subnets: readonly IpNet[];
}

export interface NamedFile {
  readonly file: string;
  readonly network?: string;
}

export interface InstallPlan {
  readonly write: readonly PlannedConfig[];
  /** Files replaced by a config written under another name (--force). */
  readonly remove: readonly string[];
  /** Configs left as they are: they define a shipped network's name. */
  readonly kept: readonly PresentConfig[];
  /** The first file, which containerd and CRI-O take as the default network; none in an empty directory. */
  readonly defaultBefore?: NamedFile;
  readonly defaultAfter?: NamedFile;
}

// Priorities tried in turn: a default network's file must sort before every other, any other's after the
// directory's first file.
const DEFAULT_PRIORITIES = ['10', '05', '00'];
const OTHER_PRIORITIES = ['90', '95', '99'];

function invalid(msg: string, details?: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, msg, details);
}

function asObject(value: JsonValue | undefined): JsonObject | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
}

function asArray(value: JsonValue | undefined): JsonValue[] {
  return Array.isArray(value) ? value : [];
}

/** The plugin objects of a config list, or the single plugin of a `.conf`. */
function pluginsOf(conf: JsonObject): JsonObject[] {
  return conf.plugins === undefined ? [conf] : asArray(conf.plugins).flatMap((p) => {
    const plugin = asObject(p);
    return plugin ? [plugin] : [];
  });
}

/** The subnets a config's IPAM gives out: host-local's `ranges` and its older `subnet`. */
export function configSubnets(conf: JsonObject): IpNet[] {
  const texts = pluginsOf(conf).flatMap((plugin) => {
    const ipam = asObject(plugin.ipam);
    if (!ipam) return [];
    const ranges = asArray(ipam.ranges).flatMap((set) => asArray(set)).map((range) => asObject(range)?.subnet);
    return [...ranges, ipam.subnet];
  });
  return texts.flatMap((text) => (typeof text === 'string' ? tryCidr(text) : []));
}

function tryCidr(text: string): IpNet[] {
  try {
    return [parseCidr(text)];
  } catch {
    return [];
  }
}

/** The template's config as it will be written: the chosen cniVersion and, for a bridge with IPAM, subnets. */
function render(template: Template, choices: InstallChoices): JsonObject {
  const conf: JsonObject = { ...template.conf, cniVersion: choices.cniVersion };
  if (!choices.subnets || !pluginsOf(conf).some((plugin) => plugin.type === 'bridge' && asObject(plugin.ipam))) return conf;
  const ranges = choices.subnets.map((subnet) => [{ subnet: formatCidr(parseSubnet(subnet)) }]);
  conf.plugins = pluginsOf(conf).map((plugin) => {
    const ipam = asObject(plugin.ipam);
    if (plugin.type !== 'bridge' || !ipam) return plugin;
    const { subnet: _old, gateway: _gateway, ...rest } = ipam;
    return { ...plugin, ipam: { ...rest, ranges } };
  });
  return conf;
}

function parseSubnet(text: string): IpNet {
  const [net] = tryCidr(text);
  if (!net) throw invalid(`--subnet ${text}: not a CIDR subnet`);
  return net;
}

/** The bridge devices a config names: routes through them are its own (from an earlier install). */
function bridgeDevices(conf: JsonObject): string[] {
  return pluginsOf(conf).flatMap((plugin) => (plugin.type === 'bridge' && typeof plugin.bridge === 'string' ? [plugin.bridge] : []));
}

/** Refuses subnets that overlap another network in the directory or a route of the host. */
function checkSubnets(planned: PlannedConfig, others: readonly PresentConfig[], routes: readonly HostRoute[]): void {
  const own = bridgeDevices(planned.conf);
  for (const subnet of planned.subnets) {
    const clash = (other: IpNet) => netsOverlap(subnet, other);
    const config = others.find((other) => other.subnets.some(clash));
    const route = routes.find((r) => r.dst.prefix > 0 && !own.includes(r.device) && clash(r.dst));
    const what = config
      ? `network ${config.network ?? '?'} (${config.file}) uses ${formatCidr(config.subnets.find(clash)!)}`
      : route && `the host routes ${formatCidr(route.dst)} to ${route.device}`;
    if (what) throw invalid(`subnet ${formatCidr(subnet)} of ${planned.network} collides: ${what}`, 'choose another with --subnet CIDR');
  }
}

/** The template's file name without its priority: 10-weft-bridge.conflist → weft-bridge.conflist. */
function baseName(file: string): string {
  return file.replace(/^\d+-/, '');
}

/** A file name for `base` that sorts first among `others` (first: true) or after their first. */
function chooseName(base: string, others: readonly string[], first: boolean): string {
  const sorted = [...others].sort();
  for (const priority of first ? DEFAULT_PRIORITIES : OTHER_PRIORITIES) {
    const name = `${priority}-${base}`;
    // With nothing else in the directory, any name is first: the report says it is the default.
    if (sorted.length === 0 || (first ? name < sorted[0]! : name > sorted[0]!)) return name;
  }
  throw invalid(`no file name for ${base} sorts ${first ? 'before' : 'after'} ${sorted[0]}`, 'rename that file, or place the config by hand');
}

function firstFile(files: readonly NamedFile[]): NamedFile | undefined {
  return [...files].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))[0];
}

/** Which shipped networks to write, which files defining them to keep, and which to replace. */
function sortOut(present: readonly PresentConfig[], templates: readonly Template[], force: boolean) {
  const kept: PresentConfig[] = [];
  const replaced: string[] = [];
  const pending: Template[] = [];
  for (const template of templates) {
    const existing = present.filter((p) => p.network === template.conf.name);
    if (existing.length > 0 && !force) kept.push(...existing);
    else {
      replaced.push(...existing.map((p) => p.file));
      pending.push(template);
    }
  }
  return { kept, replaced, pending };
}

/** Refuses choices that cannot be carried out: a network weft does not ship, or one that stays as it is. */
function checkChoices(templates: readonly Template[], kept: readonly PresentConfig[], choices: InstallChoices): void {
  const names = templates.map((t) => String(t.conf.name));
  const { defaultNetwork, subnets } = choices;
  if (defaultNetwork !== undefined && !names.includes(defaultNetwork)) {
    throw invalid(`--default ${defaultNetwork}: weft ships no such network`, `it ships ${names.join(', ')}`);
  }
  if (subnets?.length === 0) throw invalid('--subnet needs a CIDR subnet');
  const bridgeKept = kept.some((k) => templates.some((t) => t.conf.name === k.network && bridgeDevices(t.conf).length > 0));
  if (subnets && bridgeKept) throw invalid('--subnet: the bridge network exists and is kept', 'add --force to replace it');
  if (kept.some((k) => k.network === defaultNetwork)) {
    throw invalid(`--default ${defaultNetwork}: the network exists and is kept where it is`, 'add --force to replace it');
  }
}

export function planInstall(present: readonly PresentConfig[], templates: readonly Template[], routes: readonly HostRoute[], choices: InstallChoices): InstallPlan {
  const { kept, replaced, pending } = sortOut(present, templates, choices.force);
  checkChoices(templates, kept, choices);
  const others = present.filter((p) => !replaced.includes(p.file));
  // The default network's file is named first, so the others can sort after it.
  const isDefault = (t: Template) => Number(t.conf.name === choices.defaultNetwork);
  const write: PlannedConfig[] = [];
  for (const template of [...pending].sort((a, b) => isDefault(b) - isDefault(a))) {
    const conf = render(template, choices);
    const network = String(conf.name);
    const taken = [...others.map((o) => o.file), ...write.map((w) => w.file)];
    const planned = { file: chooseName(baseName(template.file), taken, network === choices.defaultNetwork), network, conf, subnets: configSubnets(conf) };
    checkSubnets(planned, [...others, ...write], routes);
    write.push(planned);
  }
  const remove = replaced.filter((file) => !write.some((w) => w.file === file));
  const defaultBefore = firstFile(present);
  const defaultAfter = firstFile([...others, ...write]);
  return { write, remove, kept, ...(defaultBefore && { defaultBefore }), ...(defaultAfter && { defaultAfter }) };
}
