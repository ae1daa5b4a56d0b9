#!/usr/bin/env bash
# The overlay end to end, the way a cluster would run it: three simulated hosts on one underlay segment,
# an etcd holding the subnet leases, weftd on every host (VXLAN data path and xDS server), and one container
# per host attached with the weft CLI through the overlay CNI plugin. The containers ping each other
# across hosts over VXLAN (IPv4 and IPv6), each node reports its peers and probes, and an independent ADS
# client prints the service endpoints weftd serves over xDS; a gRPC server in each container answers calls
# that a proxyless gRPC client (@grpc/grpc-js-xds) load-balances over them via xds:///web. A container on
# node-3, with the resolv.conf the plugin's result asks for (as Podman writes it), resolves `web` through
# weftd's DNS on its gateway and calls it with curl. Then everything is torn down.
#
#   sudo demo/overlay.sh       (runs `npm ci` if node_modules is missing, and `node build.mjs` if the
#                               build is missing or older than the sources)
#
# The network config is conf/net.d/20-weft-overlay.conflist as shipped, with its files moved per host. Nothing touches this machine's own network: the underlay, the etcd, the hosts and the containers are all
# namespaces made for the demo, removed by name on exit, also on Ctrl-C or failure; every file (etcd's
# data, the daemons' state, IPAM, the CLI's cache) is in a scratch folder removed with them.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

network=weft-overlay
service=web
port=8080
http_port=8081
etcd_address=192.0.2.100
underlay=wtdu$demo_suffix
etcd_ns=wtde$demo_suffix
hosts=(wtdh1$demo_suffix wtdh2$demo_suffix wtdh3$demo_suffix)
containers=(wtdc1$demo_suffix wtdc2$demo_suffix wtdc3$demo_suffix)
nodes=(node-1 node-2 node-3)
daemons=()
started=$SECONDS

demo_require ip ping node /usr/bin/etcd dig curl unshare
demo_start

say "underlay $underlay: etcd $etcd_ns ($etcd_address), hosts ${hosts[*]} (192.0.2.1-3)"
demo_netns "$underlay" "$etcd_ns" "${hosts[@]}" "${containers[@]}"
ip -n "$underlay" link add br0 type bridge
ip -n "$underlay" link set br0 up
cable() { # namespace, its end's name, the underlay end's name, address
  ip -n "$underlay" link add "$3" type veth peer name "$2" netns "$1"
  ip -n "$underlay" link set "$3" master br0 up
  ip -n "$1" addr add "$4/24" dev "$2"
  ip -n "$1" link set "$2" up
}
cable "$etcd_ns" ul0 etcd "$etcd_address"
for i in 0 1 2; do cable "${hosts[i]}" ul0 "h$((i + 1))" "192.0.2.$((i + 1))"; done

say "etcd on $etcd_address:2379"
mkdir -p "$demo_scratch/etcd"
demo_spawn "$etcd_ns" "$demo_scratch/etcd/etcd.log" /usr/bin/etcd --name demo --data-dir "$demo_scratch/etcd/data" \
  --listen-client-urls "http://$etcd_address:2379" --advertise-client-urls "http://$etcd_address:2379" \
  --listen-peer-urls "http://$etcd_address:2380" --initial-advertise-peer-urls "http://$etcd_address:2380" \
  --initial-cluster "demo=http://$etcd_address:2380" --heartbeat-interval 20 --election-timeout 200 --logger zap --log-level error
etcd_pid=$demo_spawned
demo_wait_http "$etcd_ns" "http://$etcd_address:2379/health" 15 'body.includes(`"health":"true"`)' "$etcd_pid"
echo "etcd healthy"

say "weftd on each host (network 10.244.0.0/16 + fd00:10:244::/56, VXLAN VNI 1, xDS on 127.0.0.1:18000)"
for i in 0 1 2; do
  dir=$demo_scratch/${nodes[i]}
  mkdir -p "$dir/state" "$dir/net.d"
  cat >"$dir/weftd.json" <<EOF
{
  "nodeName": "${nodes[i]}",
  "stateDir": "$dir/state",
  "subnetFile": "$dir/subnet.env",
  "store": { "type": "etcd", "endpoints": ["http://$etcd_address:2379"], "prefix": "/weft/network" },
  "underlay": { "interface": "ul0" },
  "listen": "127.0.0.1:9475",
  "logLevel": "warn",
  "api": { "socket": "$dir/weftd.sock", "overlayDataDir": "$dir/overlay" },
  "xds": { "listen": "127.0.0.1:18000" },
  "network": { "network": "10.244.0.0/16", "subnetLen": 24, "ipv6Network": "fd00:10:244::/56", "vni": 1 }
}
EOF
  # The shipped overlay network (as a runtime on this host would have it in /etc/cni/net.d), its files in
  # this host's folder: the three hosts share one file system here.
  demo_conflist conf/net.d/20-weft-overlay.conflist "$dir/net.d/20-weft-overlay.conflist" overlay \
    "{\"subnetFile\": \"$dir/subnet.env\", \"socket\": \"$dir/weftd.sock\", \"dataDir\": \"$dir/overlay\", \"ipamDataDir\": \"$dir/ipam\"}"
  demo_spawn "${hosts[i]}" "$dir/weftd.log" node "$demo_repo/dist/bin/weftd" --config "$dir/weftd.json"
  daemons+=("$demo_spawned")
done
for i in 0 1 2; do
  demo_wait_http "${hosts[i]}" http://127.0.0.1:9475/readyz 20 "" "${daemons[i]}"
  # The subnet file is what the overlay plugin reads on this host.
  echo "${nodes[i]} ready; its subnet file: $(grep -E '^WEFT_(SUBNET|IPV6_SUBNET|MTU)=' "$demo_scratch/${nodes[i]}/subnet.env" | tr '\n' ' ')"
done

# weft on host i: the host's network configs and result cache; the service and port the container serves
# (the overlay plugin registers it with weftd as an endpoint of that service).
host_weft() {
  local i=$1
  shift
  demo_weft "${hosts[i]}" NETCONFPATH="$demo_scratch/${nodes[i]}/net.d" WEFT_CACHE_DIR="$demo_scratch/${nodes[i]}/cache" \
    CNI_ARGS="WEFT_SERVICE=$service;WEFT_PORTS=grpc:$port,http:$http_port" -- "$@"
}

# in_container I ARGS...: ARGS in container I with the resolv.conf its result asked for bound over
# /etc/resolv.conf in a mount namespace of its own (this machine's file stays as it is).
in_container() {
  local i=$1
  shift
  ip netns exec "${containers[i]}" unshare -m sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' \
    "$demo_scratch/${nodes[i]}/resolv.conf" "$@"
}

for i in 0 1 2; do
  say "${nodes[i]}: weft add $network /run/netns/${containers[i]}"
  # The result's dns becomes the container's resolv.conf, as Podman's CNI backend writes it.
  host_weft "$i" add "$network" "/run/netns/${containers[i]}" | node -e '
    const result = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const ifaces = result.interfaces ?? [];
    for (const ip of result.ips ?? []) {
      const where = ip.interface === undefined ? "" : ` on ${ifaces[ip.interface].name} (${ifaces[ip.interface].mac})`;
      console.log(`${ip.address}${where}, gateway ${ip.gateway ?? "-"}`);
    }
    for (const r of result.routes ?? []) console.log(`route ${r.dst}${r.gw ? ` via ${r.gw}` : ""}`);
    const dns = result.dns ?? {};
    console.log(`dns: nameservers ${(dns.nameservers ?? []).join(" ")}, search ${(dns.search ?? []).join(" ")}`);
    require("fs").writeFileSync(process.argv[1], [...(dns.nameservers ?? []).map((n) => `nameserver ${n}`),
      `search ${(dns.search ?? []).join(" ")}`, ""].join("\n"));' "$demo_scratch/${nodes[i]}/resolv.conf"
done

# A gRPC server in each container, answering with its name: the service the endpoints stand for; and a
# plain HTTP server saying the same.
backends=() http_servers=()
for i in 0 1 2; do
  demo_spawn "${containers[i]}" "$demo_scratch/${nodes[i]}/backend.log" node test/netns/testing/xds-backend-process.mjs "${containers[i]} on ${nodes[i]}" "$port"
  backends+=("$demo_spawned")
  demo_spawn "${containers[i]}" "$demo_scratch/${nodes[i]}/http.log" node -e '
    require("http").createServer((req, res) => res.end(`hello from ${process.argv[1]}\n`)).listen(Number(process.argv[2]), "::");' \
    "${containers[i]} on ${nodes[i]}" "$http_port"
  backends+=("$demo_spawned")
  http_servers+=("$demo_spawned")
done

v4=() v6=()
for i in 0 1 2; do
  v4+=("$(demo_addr "${containers[i]}" inet)")
  v6+=("$(demo_addr "${containers[i]}" inet6)")
done

say "cross-host pings over VXLAN"
demo_wait_dad "${hosts[@]}" "${containers[@]}"
pings=0
for i in 0 1 2; do
  j=$(((i + 1) % 3))
  from="${containers[i]} (${nodes[i]})"
  demo_ping "${containers[i]}" "${v4[j]}" "$from"
  demo_ping "${containers[i]}" "${v6[j]}" "$from"
  pings=$((pings + 2))
done

# Every daemon serves the endpoints of all nodes (shared through etcd beside the leases); --expect waits
# for the last registration to spread.
say "xDS: the endpoints weftd serves (an independent ADS client)"
echo "weftd on ${nodes[0]}:"
demo_node "${hosts[0]}" demo/xds-view.mjs 127.0.0.1:18000 --expect 3
for i in 1 2; do
  echo "weftd on ${nodes[i]}: $(demo_node "${hosts[i]}" demo/xds-view.mjs 127.0.0.1:18000 --expect 3 --brief)"
done

say "gRPC: a proxyless client (@grpc/grpc-js-xds) on ${nodes[0]} calls xds:///$service through weftd's xDS"
for i in 0 1 2; do
  for _ in $(seq 100); do grep -q ready "$demo_scratch/${nodes[i]}/backend.log" && break; sleep 0.05; done
done
demo_node "${hosts[0]}" demo/grpc-calls.mjs 127.0.0.1:18000 "$service" 30 3

say "DNS: ${containers[2]} on ${nodes[2]} asks weftd on its gateway, then calls $service by name with curl"
echo "its resolv.conf (from the result): $(tr '\n' ' ' <"$demo_scratch/${nodes[2]}/resolv.conf")"
echo "dig +search $service: $(in_container 2 dig +search +short "$service" | sort | tr '\n' ' ')"
echo "dig _http._tcp.$service.weft.internal SRV:"
in_container 2 dig +short "_http._tcp.$service.weft.internal" SRV | sort | sed 's/^/  /'
name=$(in_container 2 dig +short -x "${v4[0]}")
echo "dig -x ${v4[0]} (${containers[0]} on ${nodes[0]}): $name"
for i in 0 1 2; do demo_wait_http "${containers[i]}" "http://127.0.0.1:$http_port/" 10 "" "${http_servers[i]}"; done
calls=0
for url in "http://$service:$http_port/" "http://${name%.}:$http_port/"; do
  answer=$(in_container 2 curl -sS -m 3 "$url")
  echo "curl $url → $answer"
  calls=$((calls + 1))
done
for pid in "${backends[@]}"; do demo_stop "$pid"; done

# weftd probes its peers every 5 s; the status is worth reading once each peer has been probed.
for i in 0 1 2; do
  demo_wait_http "${hosts[i]}" http://127.0.0.1:9475/status 10 'JSON.parse(body).peers.every((peer) => peer.probe)' "${daemons[i]}"
  say "${nodes[i]}: weft node-status"
  demo_weft "${hosts[i]}" -- node-status
done

for i in 0 1 2; do
  say "${nodes[i]}: weft del $network /run/netns/${containers[i]}"
  host_weft "$i" del "$network" "/run/netns/${containers[i]}"
  echo "deleted; eth0 left in ${containers[i]}: $(ip -n "${containers[i]}" -br link show dev eth0 2>/dev/null || echo none)"
done
say "xDS after DEL"
for i in 0 1 2; do echo "weftd on ${nodes[i]}: $(demo_node "${hosts[i]}" demo/xds-view.mjs 127.0.0.1:18000 --expect 0 --brief)"; done

say "stopping weftd and etcd; removing the demo's namespaces"
for pid in "${daemons[@]}"; do demo_stop "$pid"; done
demo_stop "$etcd_pid"
echo "overlay demo: 3 hosts, 3 containers, $pings/$pings cross-host pings answered, every node serving all 3 endpoints over xDS, gRPC calls answered on all 3 hosts, $service resolved by name and called over HTTP $calls times; done in $((SECONDS - started)) s"
