#!/usr/bin/env bash
# A/B of HTTP servers: each round starts every server afresh (each on its own port, all pinned to
# core 0), warms each for 2 s, then measures SECONDS 1-s slices of each, taking the servers in turn
# in a new shuffled order per pass, so the VM's noisy spells fall on all of them alike. Prints each
# server's median req/s and the median over rounds of its ratio to the first server. For small
# steps (one option, one change) where bench/http/run.sh's four servers would take too long.
#
#   bash bench/http/compare.sh [--duration SECONDS] [--runs N] NAME=COMMAND...
#
# Each COMMAND runs with $PORT set to its own port and must serve bench/http's redirect path on
# 127.0.0.1:$PORT (single-quote it so $PORT is not expanded too early). Examples (after npm run build):
#
#   bash bench/http/compare.sh --duration 4 --runs 11 \
#     'cap10k=node bench/http/floor-fastify.mjs $PORT' \
#     'cap1000=FLOOR_OPTIONS={\"maxRequestsPerSocket\":1000} node bench/http/floor-fastify.mjs $PORT'
#   bash bench/http/compare.sh 'floor=node bench/http/floor-fastify.mjs $PORT' \
#     'gslb=node dist/src/cli/main.js serve -c bench/http/gslb.yaml --http 127.0.0.1:$PORT --dns 127.0.0.1:0 --log-level warn'
names=()
cmds=()
args=()
for a in "$@"; do
  case "$a" in
    *=*) names+=("${a%%=*}"); cmds+=("${a#*=}") ;;
    *) args+=("$a") ;;
  esac
done
source "$(dirname "$0")/../lib.sh" "${args[@]}"
need wrk taskset curl shuf -- "apt-get install wrk curl coreutils"
[ "${#cmds[@]}" -ge 2 ] || { echo "usage: $0 [--duration S] [--runs N] NAME=COMMAND NAME=COMMAND..." >&2; exit 2; }
hold_port 25389 # bench/http/gslb.yaml checks its members on this port
url() { echo "http://127.0.0.1:$((25391 + $1))/pub/dists/bookworm/main/binary-amd64/Packages.xz?v=1"; }
all=$(seq 0 $((${#cmds[@]} - 1)))
declare -A res launcher
for round in $(seq "$RUNS"); do
  urls=()
  for i in $all; do
    (cd "$root" && export PORT=$((25391 + i)) && exec taskset -c 0 bash -c "exec env ${cmds[$i]}") > /dev/null 2>&1 & pids+=($!)
    launcher[$i]=$!
    urls+=("$(url "$i")")
    until_302 "${urls[$i]}" "${names[$i]}"
  done
  measure_round "${urls[@]}"
  for i in $all; do
    res[$i]+="${round_rps[$i]} "
    kill "${launcher[$i]}"; wait "${launcher[$i]}" 2>/dev/null || true
  done
  echo "round $round/$RUNS done" >&2
done
echo "wrk -t1 -c50, ${DURATION} 1-s slices per server per round, $RUNS rounds (fresh processes), node $(node -v), $(date -u +%Y-%m-%d)"
for i in $all; do
  ratio=$(paired "${res[$i]}" "${res[0]}")
  printf '%s: median %s req/s, %.3f x %s (median of per-round ratios, 95%% interval %s); each round: %s\n' "${names[$i]}" \
    "$(printf '%s' "${res[$i]}" | median)" "$ratio" "${names[0]}" "$(ratios "${res[$i]}" "${res[0]}" | median_ci)" "${res[$i]% }"
done
