# Shared by the demo scripts (sourced, not run): output, checks, the build, and the bookkeeping that lets a
# demo remove exactly what it made (namespaces, background programs, a scratch folder) on any exit,
# including Ctrl-C and failures. Every namespace name starts with "wtd" and ends with a random suffix.

demo_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
demo_suffix=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n' | cut -c1-5)
demo_scratch=""
demo_namespaces=()
demo_pids=()
# Logs of the programs started (demo_spawn): their last lines are shown when the demo fails.
demo_logs=()
# A clean PATH with node on it: what a runtime or service manager gives its children.
demo_path="$(dirname "$(command -v node || echo /usr/bin/node)"):/usr/sbin:/usr/bin:/sbin:/bin"

# Headings in bold on a terminal, plain in a log.
if [ -t 1 ]; then say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }; else say() { printf '\n== %s\n' "$*"; }; fi
die() { echo "demo: $*" >&2; exit 1; }

# Root, and the tools the demo needs on PATH.
demo_require() {
  [ "$(id -u)" = 0 ] || die "run as root (it makes network namespaces)"
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || die "$tool is missing (run .ci/setup, or install iproute2 nftables iputils-ping etcd-server)"
  done
}

demo_cleanup() {
  local status=$? pid ns i log
  set +e
  if [ "$status" != 0 ] && [ "$status" != 130 ]; then
    for log in "${demo_logs[@]}"; do
      [ -s "$log" ] && { echo "--- ${log#"$demo_scratch"/} (last lines)" >&2; tail -n 15 "$log" >&2; }
    done
  fi
  # Only the demo's jobs still running: a pid of one that ended may belong to another process by now.
  local running=() job
  for pid in "${demo_pids[@]}"; do
    for job in $(jobs -pr); do [ "$job" = "$pid" ] && running+=("$pid"); done
  done
  for pid in "${running[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${running[@]}"; do
    for i in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  done
  for ((i = ${#demo_namespaces[@]} - 1; i >= 0; i--)); do
    ns=${demo_namespaces[i]}
    [ -e "/run/netns/$ns" ] || continue
    # A weftd that did not stop in time leaves its plugin socket, named by the namespace's inode.
    rm -f "/run/weft/plugins/net-$(stat -L -c %i "/run/netns/$ns").sock"
    ip netns delete "$ns"
  done
  [ -n "$demo_scratch" ] && rm -rf "$demo_scratch"
}

# Whether dist/bin lacks an executable or is older than a source, the build script or the lockfile.
# (Not rebuilding a fresh build also keeps the demo from rewriting dist/bin under tests running beside it.)
demo_build_stale() {
  local bin
  for bin in bridge host-local overlay weft weftd; do [ -f "dist/bin/$bin" ] || return 0; done
  [ -n "$(find lib plugins daemon cli build.mjs package.json package-lock.json -newer dist/bin/weftd \
    \( -name '*.ts' -o -name '*.c' -o -name '*.mjs' -o -name '*.json' \) ! -name '*.test.ts' -print -quit)" ]
}

# Installs the clean-up on exit, makes the scratch folder, runs `npm ci` when node_modules is missing and
# builds when the build is missing or stale. Call once, before anything is made.
demo_start() {
  trap demo_cleanup EXIT
  trap 'exit 130' INT TERM HUP
  cd "$demo_repo"
  if [ ! -d node_modules ]; then say "npm ci"; npm ci; fi
  if demo_build_stale; then say "build"; node build.mjs; fi
  demo_scratch=$(mktemp -d /tmp/weft-demo-XXXXXX)
}

# demo_netns NAME...: new namespaces with loopback up, removed on exit (in reverse order).
demo_netns() {
  local ns
  for ns in "$@"; do
    ip netns add "$ns"
    demo_namespaces+=("$ns")
    ip -n "$ns" link set lo up
  done
}

# demo_spawn NS LOG PROGRAM ARGS...: runs PROGRAM in NS in the background with a clean environment, its
# output to LOG (shown if the demo fails); stopped on exit. Sets demo_spawned to its pid (ip netns exec and env exec, so it is the
# program's own).
demo_spawn() {
  local ns=$1 log=$2
  shift 2
  ip netns exec "$ns" env -i PATH="$demo_path" "$@" </dev/null >"$log" 2>&1 &
  demo_spawned=$!
  demo_pids+=("$demo_spawned")
  demo_logs+=("$log")
}

# demo_stop PID: SIGTERM, wait for it to exit, and forget it (so the exit clean-up never signals a later
# process that got the same pid).
demo_stop() {
  local pid kept=()
  kill -TERM "$1" 2>/dev/null && { wait "$1" 2>/dev/null || true; }
  for pid in "${demo_pids[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
  demo_pids=("${kept[@]}")
}

# demo_node NS ARGS...: node in NS with a clean environment (no NODE_EXTRA_CA_CERTS: ~90 ms less per start).
demo_node() {
  local ns=$1
  shift
  ip netns exec "$ns" env -i PATH="$demo_path" node "$@"
}

# demo_wait_http NS URL SECONDS [TEST [PID]]: waits until URL, fetched inside NS, answers 200 and TEST (a
# JavaScript expression over the body, `body`; empty for none) holds; fails after SECONDS, or at once when
# the program PID (the server) has exited.
demo_wait_http() {
  demo_node "$1" -e '
    const fs = require("fs");
    const [url, seconds, test, pid] = process.argv.slice(1);
    const holds = new Function("body", `return (${test || "true"});`);
    const exited = () => {
      try { return / Z /.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\)/, "")); } catch { return true; }
    };
    const deadline = Date.now() + Number(seconds) * 1000;
    (async () => {
      for (;;) {
        try {
          const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
          if (res.ok && holds(await res.text())) return;
        } catch {}
        if (pid && exited()) { console.error(`${url}: the server (pid ${pid}) exited`); process.exit(1); }
        if (Date.now() > deadline) { console.error(`${url}: not as expected within ${seconds} s`); process.exit(1); }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();' "$2" "$3" "${4:-}" "${5:-}"
}

# demo_wait_dad NS...: waits (up to 5 s) until no IPv6 address in the namespaces is tentative, so the first
# IPv6 packets are not held back by duplicate address detection.
demo_wait_dad() {
  local ns i
  for ns in "$@"; do
    for i in $(seq 100); do
      [ -z "$(ip -n "$ns" -6 addr show tentative)" ] && break
      sleep 0.05
    done
  done
}

# demo_conflist FROM TO TYPE PATCH: copies the network config list FROM to TO with the JSON object PATCH
# merged (deeply) into each plugin of type TYPE: a shipped config with its files moved for the demo.
demo_conflist() {
  node -e '
    const fs = require("fs");
    const [from, to, type, patch] = process.argv.slice(1);
    const merge = (into, add) => {
      for (const [key, value] of Object.entries(add)) {
        if (typeof value === "object" && value !== null && !Array.isArray(value) && typeof into[key] === "object") merge(into[key], value);
        else into[key] = value;
      }
    };
    const list = JSON.parse(fs.readFileSync(from, "utf8"));
    const plugins = list.plugins.filter((plugin) => plugin.type === type);
    if (plugins.length === 0) { console.error(`${from}: no plugin of type ${type}`); process.exit(1); }
    for (const plugin of plugins) merge(plugin, JSON.parse(patch));
    fs.writeFileSync(to, JSON.stringify(list, null, 2));' "$@"
}

# demo_weft NS [VAR=VALUE...] -- ARGS...: the built weft CLI inside NS, with only what a runtime gives a
# plugin: PATH, CNI_PATH and the VARs.
demo_weft() {
  local ns=$1 vars=()
  shift
  while [ "$1" != "--" ]; do vars+=("$1"); shift; done
  shift
  ip netns exec "$ns" env -i PATH="$demo_path" CNI_PATH="$demo_repo/dist/bin" "${vars[@]}" "$demo_repo/dist/bin/weft" "$@"
}

# demo_addr NS inet|inet6 [DEV]: the global address of DEV (eth0) in NS.
demo_addr() {
  ip -n "$1" -j addr show dev "${3:-eth0}" | node -e '
    const fam = process.argv[1];
    const [l] = JSON.parse(require("fs").readFileSync(0, "utf8"));
    process.stdout.write(l.addr_info.find((a) => a.family === fam && a.scope === "global").local);' "$2"
}

# demo_ping NS ADDRESS [LABEL]: two echo requests from NS, one line of outcome; fails when not both are
# answered within 5 s (a fresh path may need a neighbour resolution first).
demo_ping() {
  local out sent got rtt
  out=$(ip netns exec "$1" ping -n -c2 -i0.2 -w5 "$2" 2>&1) || true
  sent=$(sed -nE 's/^([0-9]+) packets transmitted.*/\1/p' <<<"$out")
  got=$(sed -nE 's/.* ([0-9]+) (packets )?received.*/\1/p' <<<"$out")
  rtt=$(sed -nE 's|^rtt [^=]*= [0-9.]+/([0-9.]+)/.*|\1|p' <<<"$out")
  if [ "${got:-0}" -lt 2 ]; then
    printf '%s → %s: NOT ANSWERED (%s of %s)\n%s\n' "${3:-$1}" "$2" "${got:-0}" "${sent:-?}" "$out" >&2
    return 1
  fi
  printf '%s → %s: %s/%s answered, avg %s ms\n' "${3:-$1}" "$2" "$got" "$sent" "$rtt"
}
