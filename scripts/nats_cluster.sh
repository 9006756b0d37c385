#!/usr/bin/env bash
# A private NATS JetStream server or cluster for the sync transport's tests,
# benchmarks and the cluster demo: every node listens on 127.0.0.1 only, on
# free ports picked at the first start and kept for restarts, with its
# JetStream store, config, log and pid file under DIR/nI/. Nothing
# system-wide. Every wait polls with a deadline; nothing sleeps for a fixed
# time to stand in for readiness.
#
# Usage: scripts/nats_cluster.sh <command> DIR [args...]
#   start DIR [N]     writes the configs of N nodes (default 3; 1 = a single
#                     server, no cluster) at the first start, starts every node
#                     that is not running and waits until each reports
#                     JetStream healthy (/healthz) and, for N > 1, knows the
#                     meta leader (/jsz); prints NATS_URLS=...
#   stop DIR          SIGTERM to every node, SIGKILL after the deadline
#   kill DIR I        SIGKILL node I (1-based) and wait until it is gone
#   restart DIR I     start node I again (same ports and store) and wait
#                     until it is healthy
#   urls DIR [I]      client URLs of every node (comma-separated), or node I's
#   status DIR        one line per node; exit 0 if all run, 3 otherwise
#   destroy DIR       stop, then remove DIR
#
# Environment: RUVECTOR_NATS_SERVER (default: nats-server on PATH),
# RUVECTOR_NATS_TIMEOUT (seconds each wait may take, default 30).
# Exit codes: 0 ok, 1 failure, 2 usage, 3 not all running (status),
# 77 nats-server not found (callers treat it as "skip").
set -euo pipefail

die() { echo "nats_cluster.sh: $*" >&2; exit 1; }
usage() { sed -n '9,26p' "$0" >&2; exit 2; }

[[ $# -ge 2 ]] || usage
cmd=$1
dir=$2
shift 2

server=${RUVECTOR_NATS_SERVER:-$(command -v nats-server || true)}
if [[ -z $server || ! -x $server ]]; then
  echo "nats_cluster.sh: nats-server not found (install the Debian package nats-server: scripts/setup.sh)" >&2
  exit 77
fi
timeout_s=${RUVECTOR_NATS_TIMEOUT:-30}
[[ $timeout_s =~ ^[0-9]+$ && $timeout_s -gt 0 ]] || die "RUVECTOR_NATS_TIMEOUT must be a positive integer"

# The path goes into config files: keep it plain.
[[ $dir == /* ]] || dir=$PWD/$dir
[[ $dir =~ ^[A-Za-z0-9_./-]+$ ]] || die "directory '$dir' must match [A-Za-z0-9_./-]+"
ports_file=$dir/ports  # one line per node: client cluster monitor

now_ms() { date +%s%3N; }

port_in_use() {
  local port=$1
  if command -v ss >/dev/null 2>&1; then
    [[ -n $(ss -Htan "( sport = :$port )" 2>/dev/null) ]] && return 0
  fi
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
  return 1
}

# Prints `count` distinct free ports.
pick_ports() {
  local count=$1 picked=() port i
  for ((i = 0; i < 1000 && ${#picked[@]} < count; ++i)); do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    [[ " ${picked[*]} " == *" $port "* ]] && continue
    port_in_use "$port" || picked+=("$port")
  done
  (( ${#picked[@]} == count )) || die "no free ports found"
  echo "${picked[*]}"
}

node_count() { [[ -f $ports_file ]] && wc -l <"$ports_file" || echo 0; }
# field F (1 client, 2 cluster, 3 monitor) of node I
node_port() { sed -n "$1p" "$ports_file" | cut -d' ' -f"$2"; }
node_dir() { echo "$dir/n$1"; }

check_node_index() {
  local i=$1 n
  n=$(node_count)
  [[ $i =~ ^[0-9]+$ ]] && (( i >= 1 && i <= n )) || die "node '$i' is not in 1..$n (is $dir started?)"
}

write_configs() {
  local n=$1 i j ports routes
  mkdir -p "$dir"
  : >"$ports_file.tmp"
  read -r -a ports <<<"$(pick_ports $((3 * n)))"
  for ((i = 0; i < n; ++i)); do
    echo "${ports[3 * i]} ${ports[3 * i + 1]} ${ports[3 * i + 2]}" >>"$ports_file.tmp"
  done
  mv "$ports_file.tmp" "$ports_file"
  for ((i = 1; i <= n; ++i)); do
    local nd
    nd=$(node_dir "$i")
    mkdir -p "$nd/js"
    {
      echo "# written by scripts/nats_cluster.sh"
      echo "server_name: n$i"
      echo "listen: \"127.0.0.1:$(node_port "$i" 1)\""
      echo "http: \"127.0.0.1:$(node_port "$i" 3)\""
      echo "pid_file: \"$nd/nats.pid\""
      # Room for a 1 MiB message plus headers.
      echo "max_payload: 2097152"
      echo "jetstream {"
      echo "  store_dir: \"$nd/js\""
      echo "  max_memory_store: 67108864"
      echo "  max_file_store: 1073741824"
      echo "}"
      if (( n > 1 )); then
        routes=()
        for ((j = 1; j <= n; ++j)); do
          (( j == i )) || routes+=("\"nats-route://127.0.0.1:$(node_port "$j" 2)\"")
        done
        echo "cluster {"
        echo "  name: ruvector"
        echo "  listen: \"127.0.0.1:$(node_port "$i" 2)\""
        echo "  routes: [$(IFS=,; echo "${routes[*]}")]"
        echo "}"
      fi
    } >"$nd/nats.conf"
  done
}

# Pid of node I if its process is alive (not a zombie), else empty.
node_pid() {
  local nd pid state
  nd=$(node_dir "$1")
  [[ -f $nd/nats.pid ]] || return 0
  pid=$(<"$nd/nats.pid")
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  [[ -r /proc/$pid/cmdline ]] || return 0
  # The pid must still be this node's server (pids are reused).
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$nd/nats.conf" || return 0
  state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null || true)
  [[ $state == Z || -z $state ]] && return 0
  echo "$pid"
}

http_get() {  # port path
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" &&
    printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" "$1" >&3 && cat <&3' "$1" "$2" 2>/dev/null || true
}

# True when node I reports JetStream healthy and (in a cluster) a meta leader.
node_ready() {
  local i=$1 mon
  mon=$(node_port "$i" 3)
  http_get "$mon" /healthz | grep -q '"status": *"ok"' || return 1
  if (( $(node_count) > 1 )); then
    http_get "$mon" /jsz | tr -d '\n' | grep -Eq '"meta_cluster": *\{[^}]*"leader": *"[^"]+"' || return 1
  fi
  return 0
}

launch_node() {
  local i=$1 nd
  nd=$(node_dir "$i")
  [[ -n $(node_pid "$i") ]] && return 0
  rm -f "$nd/nats.pid"
  echo "=== start $(date -u +%FT%TZ)" >>"$nd/nats.log"
  # setsid: the server outlives this script and its caller's process group.
  setsid "$server" -c "$nd/nats.conf" >>"$nd/nats.log" 2>&1 </dev/null &
}

# Waits until every node in "$@" is ready; fails with the logs' tails.
wait_ready() {
  local deadline i pending
  deadline=$(( $(now_ms) + timeout_s * 1000 ))
  while :; do
    pending=()
    for i in "$@"; do
      node_ready "$i" || pending+=("$i")
    done
    (( ${#pending[@]} == 0 )) && return 0
    if (( $(now_ms) > deadline )); then
      for i in "${pending[@]}"; do
        echo "nats_cluster.sh: node $i not ready after ${timeout_s}s; log tail:" >&2
        tail -n 8 "$(node_dir "$i")/nats.log" >&2 || true
      done
      exit 1
    fi
    sleep 0.05  # polling interval, not a wait for readiness
  done
}

wait_gone() {  # pid...
  local deadline pid alive
  deadline=$(( $(now_ms) + timeout_s * 1000 ))
  while :; do
    alive=0
    for pid in "$@"; do
      if [[ -r /proc/$pid/status ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status"; then
        alive=1
      fi
    done
    (( alive == 0 )) && return 0
    (( $(now_ms) > deadline )) && return 1
    sleep 0.05
  done
}

print_urls() {
  local n i urls=()
  n=$(node_count)
  (( n > 0 )) || die "no nodes recorded in $dir (is it started?)"
  for ((i = 1; i <= n; ++i)); do urls+=("nats://127.0.0.1:$(node_port "$i" 1)"); done
  (IFS=,; echo "${urls[*]}")
}

start_all() {
  local n=${1:-3} i nodes=()
  [[ $n =~ ^[0-9]+$ ]] && (( n >= 1 && n <= 9 )) || die "node count '$n' must be in 1..9"
  if [[ -f $ports_file ]]; then
    (( $(node_count) == n )) || die "$dir holds a cluster of $(node_count) nodes, not $n"
  else
    write_configs "$n"
  fi
  for ((i = 1; i <= n; ++i)); do
    launch_node "$i"
    nodes+=("$i")
  done
  wait_ready "${nodes[@]}"
  echo "NATS_URLS=$(print_urls)"
}

stop_all() {
  local n i pid pids=()
  n=$(node_count)
  for ((i = 1; i <= n; ++i)); do
    pid=$(node_pid "$i")
    [[ -n $pid ]] || continue
    kill -TERM "$pid" 2>/dev/null || true
    pids+=("$pid")
  done
  (( ${#pids[@]} == 0 )) && return 0
  if ! wait_gone "${pids[@]}"; then
    kill -KILL "${pids[@]}" 2>/dev/null || true
    wait_gone "${pids[@]}" || die "nodes did not exit: ${pids[*]}"
  fi
}

case $cmd in
  start) start_all "$@" ;;
  stop) [[ -f $ports_file ]] && stop_all; exit 0 ;;
  kill)
    [[ $# -eq 1 ]] || usage
    check_node_index "$1"
    pid=$(node_pid "$1")
    [[ -n $pid ]] || die "node $1 is not running"
    kill -KILL "$pid"
    wait_gone "$pid" || die "node $1 (pid $pid) did not exit after SIGKILL"
    ;;
  restart)
    [[ $# -eq 1 ]] || usage
    check_node_index "$1"
    launch_node "$1"
    wait_ready "$1"
    ;;
  urls)
    if [[ $# -eq 1 ]]; then
      check_node_index "$1"
      echo "nats://127.0.0.1:$(node_port "$1" 1)"
    else
      print_urls
    fi
    ;;
  status)
    n=$(node_count)
    (( n > 0 )) || { echo "not started"; exit 3; }
    all=0
    for ((i = 1; i <= n; ++i)); do
      pid=$(node_pid "$i")
      if [[ -n $pid ]]; then echo "n$i running pid $pid client $(node_port "$i" 1)"
      else echo "n$i stopped"; all=3; fi
    done
    exit $all
    ;;
  destroy)
    if [[ -d $dir ]]; then
      [[ -f $ports_file ]] && stop_all
      rm -rf "$dir"
    fi
    ;;
  *) usage ;;
esac
