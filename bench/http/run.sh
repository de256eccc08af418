#!/usr/bin/env bash
# HTTP redirect benchmark: gslb's full decision against nginx `return 302` and a bare fastify
# redirect, in one run.
#
#   bash bench/http/run.sh [--duration SECONDS] [--runs N]
#
# Each server is pinned to core 0 and wrk to core 1 (1 thread, 50 connections, keep-alive).
# Every round starts the four servers afresh (two processes running the same code differ by up to
# 10% on this kind of VM, so a server measured N times in one process would carry that process's
# luck into every run), warms each for 2 s, then measures SECONDS 1-s slices of each, taking the
# servers in turn in a new shuffled order per pass: the VM's noisy spells, which last seconds to
# minutes, then fall on all four alike instead of on whichever server was running.
# A fourth server, the floor (floor-fastify.mjs), is fastify with gslb's options writing gslb's
# headers without deciding anything: it splits the gap between gslb and bare fastify in two.
# Reported per server: median req/s (every round shown), median CPU per request, p50/p99 of the
# median round (the median over its slices), non-3xx count, peak RSS; and the median over rounds of
# the per-round ratios (for gslb / bare fastify with its 95% confidence interval).
# Needs: nginx (nginx-light), wrk (apt-get install nginx-light wrk), and `npm run build` done.
source "$(dirname "$0")/../lib.sh" "$@"
NGINX_PORT=25380
GSLB_PORT=25381
FASTIFY_PORT=25382
FLOOR_PORT=25384
URL_PATH="/pub/dists/bookworm/main/binary-amd64/Packages.xz?v=1"
need nginx wrk taskset curl shuf -- "apt-get install nginx-light wrk curl coreutils"
hold_port 25389 # bench/http/gslb.yaml checks its members on this port

cat > "$tmp/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / { return 302 https://m1.example.net/debian\$request_uri; }
  }
}
CONF

labels=("nginx $(nginx -v 2>&1 | sed 's/.*nginx\///') (return 302)"
  "bare fastify $(node -p "require('$root/node_modules/fastify/package.json').version") redirect"
  "gslb (weighted pool, health-filtered, Link alternates)"
  "floor: fastify with gslb's options and response, no decision")
ports=("$NGINX_PORT" "$FASTIFY_PORT" "$GSLB_PORT" "$FLOOR_PORT")

start_server() { # index → launcher[i], server_pid[i] (the process doing the work)
  case "$1" in
    0) taskset -c 0 nginx -c "$tmp/nginx.conf" -p "$tmp" & pids+=($!) ;;
    1) taskset -c 0 node "$here/bare-fastify.mjs" "$FASTIFY_PORT" > /dev/null & pids+=($!) ;;
    2) taskset -c 0 node "$root/dist/src/cli/main.js" serve -c "$here/gslb.yaml" --http "127.0.0.1:$GSLB_PORT" \
         --dns 127.0.0.1:0 --log-level warn & pids+=($!) ;;
    3) taskset -c 0 node "$here/floor-fastify.mjs" "$FLOOR_PORT" > /dev/null & pids+=($!) ;;
  esac
  launcher[$1]=$!
  until_302 "http://127.0.0.1:${ports[$1]}$URL_PATH" "${labels[$1]}"
  server_pid[$1]=${launcher[$1]}
  [ "$1" = 0 ] && server_pid[0]=$(pgrep -P "$(cat "$tmp/nginx.pid")" | head -n 1)
  if [ "$1" = 2 ] && curl -s -o /dev/null -D - -H 'Host: dl.example.test' "http://127.0.0.1:$GSLB_PORT$URL_PATH" | grep -qi '^location: https://d\.'; then
    echo "health filtering is not working" >&2; exit 1
  fi
  return 0
}

stop_server() {
  kill "${launcher[$1]}" 2>/dev/null || true
  wait "${launcher[$1]}" 2>/dev/null || true
}

declare -A runs cpus lat rss launcher server_pid
for round in $(seq "$RUNS"); do
  for i in 0 1 2 3; do start_server "$i"; done
  measure_round "http://127.0.0.1:${ports[0]}$URL_PATH" "http://127.0.0.1:${ports[1]}$URL_PATH" \
    "http://127.0.0.1:${ports[2]}$URL_PATH" "http://127.0.0.1:${ports[3]}$URL_PATH"
  for i in 0 1 2 3; do
    runs[$i]+="${round_rps[$i]} "
    cpus[$i]+="${round_cpu[$i]} "
    lat[$i]+="${round_rps[$i]} ${round_p50[$i]} ${round_p99[$i]} ${round_bad[$i]}"$'\n'
    rss[$i]=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/${server_pid[$i]}/status" 2>/dev/null || echo "?")
    stop_server "$i"
  done
  echo "round $round/$RUNS done" >&2
done

rows=()
declare -A result cpu
for i in 0 1 3 2; do
  med=$(printf '%s' "${runs[$i]}" | median)
  c=$(printf '%s' "${cpus[$i]}" | median)
  read -r _ p50 p99 bad < <(printf '%s' "${lat[$i]}" | awk -v m="$med" '$1 == m' | head -n 1)
  result[$i]=$med
  cpu[$i]=$c
  rows+=("| ${labels[$i]} | $med | ${runs[$i]% } | $c | $p50 | $p99 | $bad | ${rss[$i]} |")
done

echo "wrk $(wrk --version 2>&1 | awk 'NR==1 {print $2}') -t1 -c50, ${DURATION} 1-s slices per server per round, $RUNS rounds (fresh processes), node $(node -v), $(date -u +%Y-%m-%d); path $URL_PATH"
echo
echo "| server | req/s, median | req/s, each round | CPU µs per request, median | p50 ms | p99 ms | non-3xx | peak RSS MiB |"
echo "|---|---|---|---|---|---|---|---|"
for r in "${rows[@]}"; do echo "$r"; done
echo
printf 'ratio gslb / bare fastify, req/s: %.2f of medians, %.2f median of per-round ratios, 95%% interval %s (issue 4 target: >= 0.90)\n' \
  "$(awk -v g="${result[2]}" -v f="${result[1]}" 'BEGIN {print g/f}')" "$(paired "${runs[2]}" "${runs[1]}")" "$(ratios "${runs[2]}" "${runs[1]}" | median_ci)"
printf 'ratio bare fastify / gslb, CPU per request: %.2f median of per-round ratios\n' "$(paired "${cpus[1]}" "${cpus[2]}")"
printf 'ratio gslb / nginx, req/s: %.2f median of per-round ratios\n' "$(paired "${runs[2]}" "${runs[0]}")"
printf 'ratio floor / bare fastify, req/s: %.2f median of per-round ratios (hardening and the bigger response)\n' "$(paired "${runs[3]}" "${runs[1]}")"
printf 'ratio gslb / floor, req/s: %.2f median of per-round ratios (the decision)\n' "$(paired "${runs[2]}" "${runs[3]}")"
