#!/usr/bin/env bash
# A/B of HTTP servers that all listen on one port: each round starts every server afresh, in
# shuffled order, warms it for 2 s and measures it with wrk; prints each server's median req/s
# and the median over rounds of its ratio to the first server. For small steps (one option, one
# change) where bench/http/run.sh's four servers would take too long.
#
#   bash bench/http/compare.sh [--duration SECONDS] [--runs N] NAME=COMMAND...
#
# Each COMMAND must serve bench/http's redirect path on 127.0.0.1:$COMPARE_PORT (25381, the port
# bench/http/gslb.yaml health-checks). Examples (after npm run build):
#
#   bash bench/http/compare.sh --duration 3 --runs 11 \
#     'cap10k=node bench/http/floor-fastify.mjs 25381' \
#     'cap1000=FLOOR_OPTIONS={\"maxRequestsPerSocket\":1000} node bench/http/floor-fastify.mjs 25381'
#   bash bench/http/compare.sh 'floor=node bench/http/floor-fastify.mjs 25381' \
#     'gslb=node dist/src/cli/main.js serve -c bench/http/gslb.yaml --http 127.0.0.1:25381 --dns 127.0.0.1:0 --log-level warn'
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
COMPARE_PORT=25381
url="http://127.0.0.1:$COMPARE_PORT/pub/dists/bookworm/main/binary-amd64/Packages.xz?v=1"
declare -A res
for round in $(seq "$RUNS"); do
  for i in $(shuf -e $(seq 0 $((${#cmds[@]} - 1)))); do
    (cd "$root" && exec taskset -c 0 bash -c "exec env ${cmds[$i]}") > /dev/null 2>&1 & pids+=($!)
    p=$!
    until_302 "$url" "${names[$i]}"
    taskset -c 1 wrk -t1 -c50 -d2s -H 'Host: dl.example.test' "$url" > /dev/null
    res[$i]+="$(taskset -c 1 wrk -t1 -c50 -d"${DURATION}s" -H 'Host: dl.example.test' "$url" | awk '/Requests\/sec/ {print $2}') "
    kill "$p"; wait "$p" 2>/dev/null || true
  done
  echo "round $round/$RUNS done" >&2
done
echo "wrk -t1 -c50, ${DURATION}s per run, $RUNS rounds (fresh processes), node $(node -v), $(date -u +%Y-%m-%d)"
for i in $(seq 0 $((${#cmds[@]} - 1))); do
  ratio=$(paired "${res[$i]}" "${res[0]}")
  printf '%s: median %s req/s, %.3f x %s (median of per-round ratios); each round: %s\n' "${names[$i]}" "$(printf '%s' "${res[$i]}" | median)" "$ratio" "${names[0]}" "${res[$i]% }"
done
