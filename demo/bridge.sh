#!/usr/bin/env bash
# The bridge network from conf/net.d/ end to end, the way a user would drive it with cnitool: two containers
# (network namespaces made here) join the network through the weft CLI with the suite's own plugins, the
# results are printed, the containers ping each other and, through masquerade, an address in a simulated
# "outside" network; then everything is torn down.
#
#   sudo demo/bridge.sh        (runs `npm ci` if node_modules is missing, and `node build.mjs` if the
#                               build is missing or older than the sources)
#
# Nothing touches this machine's own network: the "host" is a namespace made for the demo too, cabled to
# the "outside" namespace; every namespace and file made here is removed by name on exit, also on Ctrl-C
# or failure. The network config is conf/net.d/10-weft-bridge.conflist as shipped, with its IPAM store (and the
# CLI's result cache) moved to a scratch folder so nothing is left in /var/lib/cni.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

conf="$demo_repo/conf/net.d/10-weft-bridge.conflist"
network=weft-bridge
host=wtdh$demo_suffix
outside=wtdo$demo_suffix
containers=(wtda$demo_suffix wtdb$demo_suffix)

started=$SECONDS

demo_require ip nft ping node
demo_start

mkdir -p "$demo_scratch/net.d" "$demo_scratch/cache"
# The shipped config, its IPAM store in the scratch folder.
demo_conflist "$conf" "$demo_scratch/net.d/10-weft-bridge.conflist" bridge "{\"ipam\": {\"dataDir\": \"$demo_scratch/ipam\"}}"

weft() { demo_weft "$host" NETCONFPATH="$demo_scratch/net.d" WEFT_CACHE_DIR="$demo_scratch/cache" -- "$@"; }

say "namespaces: host $host, outside $outside, containers ${containers[*]}"
demo_netns "$host" "$outside" "${containers[@]}"
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
b4=$(demo_addr "$b" inet)
b6=$(demo_addr "$b" inet6)

demo_wait_dad "$host" "$outside" "${containers[@]}"
say "$a pings $b ($b4, $b6)"
demo_ping "$a" "$b4"
demo_ping "$a" "$b6"
say "$a pings the outside (192.0.2.2, 2001:db8:ff::2) through masquerade"
demo_ping "$a" 192.0.2.2
demo_ping "$a" 2001:db8:ff::2
say "what the outside saw: echo requests from the host's address"
ip netns exec "$outside" nft list counters table inet witness | grep -E 'counter|packets'
say "the host: bridge, ports, masquerade chains"
ip -n "$host" -br addr show dev weftbr0
ip -n "$host" -br link show master weftbr0
ip netns exec "$host" nft list table inet weft | grep -E 'chain|masquerade'

for ns in "${containers[@]}"; do
  say "weft del $network /run/netns/$ns"
  weft del "$network" "/run/netns/$ns"
done
say "after DEL: no ports, no masquerade chains, no allocations"
ip -n "$host" -br link show master weftbr0
ip netns exec "$host" nft list table inet weft
ls "$demo_scratch/ipam/$network" | grep -vE '^(lock|last_reserved_ip)' || true
say "done; removing the demo's namespaces"
echo "bridge demo: 2 containers, 4/4 pings answered (2 of them through masquerade); done in $((SECONDS - started)) s"
