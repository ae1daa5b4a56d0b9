#!/usr/bin/env bash
# The bridge network from conf/ end to end, the way a user would drive it with cnitool: two containers
# (network namespaces made here) join the network through the weft CLI with the suite's own plugins, the
# results are printed, the containers ping each other and, through masquerade, an address in a simulated
# "outside" network; then everything is torn down.
#
#   sudo demo/bridge.sh        (runs `npm ci` if node_modules is missing, and `node build.mjs`)
#
# Nothing touches this machine's own network: the "host" is a namespace made for the demo too, cabled to
# the "outside" namespace; every namespace and file made here is removed by name on exit, also on Ctrl-C
# or failure. The network config is conf/10-weft-bridge.conflist as shipped, with its IPAM store (and the
# CLI's result cache) moved to a scratch folder so nothing is left in /var/lib/cni.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
conf="$repo/conf/10-weft-bridge.conflist"
network=weft-bridge
suffix=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n' | cut -c1-5)
host=wtdh$suffix
outside=wtdo$suffix
containers=(wtda$suffix wtdb$suffix)
scratch=""

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (it makes network namespaces)"
for tool in ip nft ping node; do command -v "$tool" >/dev/null || die "$tool is missing (run .ci/setup or install iproute2 nftables iputils-ping)"; done

cleanup() {
  set +e
  for ns in "${containers[@]}" "$outside" "$host"; do
    [ -e "/run/netns/$ns" ] && ip netns delete "$ns"
  done
  [ -n "$scratch" ] && rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

cd "$repo"
if [ ! -d node_modules ]; then say "npm ci"; npm ci; fi
say "build"
node build.mjs

scratch=$(mktemp -d /tmp/weft-demo-XXXXXX)
mkdir -p "$scratch/net.d" "$scratch/cache"
# The shipped config, its IPAM store in the scratch folder.
node -e '
  const [from, to, dataDir] = process.argv.slice(1);
  const list = JSON.parse(require("fs").readFileSync(from, "utf8"));
  for (const plugin of list.plugins) if (plugin.ipam && plugin.ipam.type === "host-local") plugin.ipam.dataDir = dataDir;
  require("fs").writeFileSync(to, JSON.stringify(list, null, 2));
' "$conf" "$scratch/net.d/10-weft-bridge.conflist" "$scratch/ipam"

# What a runtime gives a plugin: PATH and the CNI variables, nothing else.
weft() {
  ip netns exec "$host" env -i PATH="$(dirname "$(command -v node)"):/usr/sbin:/usr/bin:/sbin:/bin" \
    NETCONFPATH="$scratch/net.d" CNI_PATH="$repo/dist/bin" WEFT_CACHE_DIR="$scratch/cache" \
    "$repo/dist/bin/weft" "$@"
}

say "namespaces: host $host, outside $outside, containers ${containers[*]}"
for ns in "$host" "$outside" "${containers[@]}"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
# The host's uplink to the outside network (documentation addresses); the outside has no route back to
# the containers, so their packets can come back only if the host masquerades them.
ip -n "$host" link add up0 type veth peer name wan0 netns "$outside"
for side in "$host up0 192.0.2.1/24 2001:db8:ff::1/64" "$outside wan0 192.0.2.2/24 2001:db8:ff::2/64"; do
  read -r ns dev v4 v6 <<<"$side"
  ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$dev.accept_dad=0"
  ip -n "$ns" addr add "$v4" dev "$dev"
  ip -n "$ns" addr add "$v6" dev "$dev"
  ip -n "$ns" link set "$dev" up
done
# A fresh veth can take a moment before neighbour discovery answers.
for _ in 1 2 3 4 5 6 7 8 9 10; do
  ip netns exec "$host" ping -c1 -W1 2001:db8:ff::2 >/dev/null 2>&1 && break
done
# The outside counts the echo requests it gets from the host's address: the witness of masquerade.
ip netns exec "$outside" nft -f - <<'EOF'
add table inet witness
add counter inet witness from_host4
add counter inet witness from_host6
add chain inet witness in { type filter hook input priority 0; }
add rule inet witness in ip saddr 192.0.2.1 icmp type echo-request counter name from_host4
add rule inet witness in ip6 saddr 2001:db8:ff::1 icmpv6 type echo-request counter name from_host6
EOF

for ns in "${containers[@]}"; do
  say "weft add $network /run/netns/$ns"
  weft add "$network" "/run/netns/$ns"
done

a=${containers[0]}
b=${containers[1]}
addr() { ip -n "$1" -j addr show dev eth0 | node -e '
  const fam = process.argv[1];
  const [l] = JSON.parse(require("fs").readFileSync(0, "utf8"));
  process.stdout.write(l.addr_info.find((a) => a.family === fam && a.scope === "global").local);' "$2"; }
b4=$(addr "$b" inet)
b6=$(addr "$b" inet6)

say "$a pings $b ($b4, $b6)"
ip netns exec "$a" ping -c2 -i0.2 "$b4"
ip netns exec "$a" ping -c2 -i0.2 "$b6"
say "$a pings the outside (192.0.2.2, 2001:db8:ff::2) through masquerade"
ip netns exec "$a" ping -c2 -i0.2 192.0.2.2
ip netns exec "$a" ping -c2 -i0.2 2001:db8:ff::2
say "what the outside saw: echo requests from the host's address"
ip netns exec "$outside" nft list counters table inet witness | grep -E 'counter|packets'
say "the host: bridge, ports, masquerade chains"
ip -n "$host" -br addr show dev weft0
ip -n "$host" -br link show master weft0
ip netns exec "$host" nft list table inet weft | grep -E 'chain|masquerade'

for ns in "${containers[@]}"; do
  say "weft del $network /run/netns/$ns"
  weft del "$network" "/run/netns/$ns"
done
say "after DEL: no ports, no masquerade chains, no allocations"
ip -n "$host" -br link show master weft0
ip netns exec "$host" nft list table inet weft
ls "$scratch/ipam/$network" | grep -vE '^(lock|last_reserved_ip)' || true
say "done; removing the demo's namespaces"
