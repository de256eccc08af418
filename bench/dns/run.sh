#!/usr/bin/env bash
# DNS benchmark: gslb against NSD (Debian package) on the same static zone, in one run, plus
# gslb answering the same-sized answer from a health-checked, weighted pool.
#
#   bash bench/dns/run.sh [--duration SECONDS] [--runs N]
#
# Each server is pinned to core 0 and dnsperf to core 1. For each server and query set:
#   1. N saturation runs (dnsperf -c 20 -q 500); the median qps is the result;
#   2. one run at 80% of that median (-Q), per-query latencies from dnsperf -v → p50/p99 and loss;
#   3. peak RSS of the server process (VmHWM).
# Prints a markdown table and the gslb/NSD ratio. The geo case sends 10,000 queries with a different
# ECS /24 each (dnsperf -B binary input, built by bench/dns/geo-setup.ts). Loopback only; every run is bounded by -l.
# Needs: nsd, dnsperf, dig (apt-get install nsd dnsperf dnsutils), and `npm run build` done.
source "$(dirname "$0")/../lib.sh" "$@"
NSD_PORT=25353
GSLB_PORT=25354

need nsd dnsperf dig taskset -- "apt-get install nsd dnsperf dnsutils"

wait_ready() { # port name
  for _ in $(seq 50); do
    dig @127.0.0.1 -p "$1" +time=1 +tries=1 +short www.bench.test >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "$2 did not start" >&2; exit 1
}

start_nsd() {
  cat > "$tmp/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.1@$NSD_PORT
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "$here"
  pidfile: "$tmp/nsd.pid"
  database: ""
  zonelistfile: "$tmp/zone.list"
  xfrdfile: "$tmp/xfrd.state"
  logfile: "$tmp/nsd.log"
  verbosity: 0
  # NSD rate-limits 200 qps per /24 by default; one load generator on 127.0.0.1 would hit it.
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: bench.test
  zonefile: bench.test.zone
EOF
  taskset -c 0 nsd -d -c "$tmp/nsd.conf" &
  pids+=($!)
  wait_ready "$NSD_PORT" nsd
  # nsd -d forks a server child; measure the process that answers.
  server_pid=$(pgrep -P "$!" nsd | tail -n 1 || echo "$!")
  [ -n "$server_pid" ] || server_pid=$!
}

start_gslb() { # [config file]
  taskset -c 0 node "$root/dist/src/cli/main.js" serve -c "${1:-$here/gslb.yaml}" --dns "127.0.0.1:$GSLB_PORT" --log-level warn &
  pids+=($!)
  server_pid=$!
  wait_ready "$GSLB_PORT" gslb
}

# A query file ending in .bin is in dnsperf's binary format (-B): the geo case's per-query ECS.
binary() { case "$1" in *.bin) echo -B ;; esac; }

saturate() { # port queryfile → qps lost%
  taskset -c 1 dnsperf -s 127.0.0.1 -p "$1" -d "$2" $(binary "$2") -l "$DURATION" -c 20 -q 500 -T 1 2>/dev/null |
    awk '/Queries per second/ {q=$4} /Queries lost/ {gsub(/[()%]/,"",$4); l=$4} END {printf "%.0f %s\n", q, l}'
}

fixed_rate() { # port queryfile rate → p50_ms p99_ms lost%
  taskset -c 1 dnsperf -s 127.0.0.1 -p "$1" -d "$2" $(binary "$2") -l "$DURATION" -c 20 -q 500 -T 1 -Q "$3" -v 2>/dev/null > "$tmp/verbose.txt"
  local lost
  lost=$(awk '/Queries lost/ {gsub(/[()%]/,"",$4); print $4}' "$tmp/verbose.txt")
  awk '$1 == ">" {print $NF}' "$tmp/verbose.txt" | sort -g > "$tmp/lat.txt"
  awk -v lost="$lost" '{a[NR]=$1} END {
    if (NR == 0) { print "- - " lost; exit }
    p50=a[int(NR*0.50)>0?int(NR*0.50):1]; p99=a[int(NR*0.99)>0?int(NR*0.99):1]
    printf "%.3f %.3f %s\n", p50*1000, p99*1000, lost }' "$tmp/lat.txt"
}

rows=()
declare -A result
measure() { # label port queryfile
  local label="$1" port="$2" qfile="$3" all="" lostmax=0
  for _ in $(seq "$RUNS"); do
    read -r q l < <(saturate "$port" "$qfile")
    all+="$q"$'\n'
    lostmax=$(awk -v a="$lostmax" -v b="$l" 'BEGIN {print (b > a) ? b : a}')
  done
  local med
  med=$(printf '%s' "$all" | median)
  local rate=$(( med * 8 / 10 ))
  read -r p50 p99 lost80 < <(fixed_rate "$port" "$qfile" "$rate")
  local rss
  rss=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$server_pid/status" 2>/dev/null || echo "?")
  result[$label]=$med
  rows+=("| $label | $med | $(printf '%s' "$all" | tr '\n' ' ' | sed 's/ $//') | $lostmax% | $rate | $lost80% | $p50 | $p99 | $rss |")
}

start_nsd
measure "NSD $(nsd -v 2>&1 | awk 'NR==1 {print $3}') (static A)" "$NSD_PORT" "$here/queries-static.txt"
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true

# The geo case's database and 10,000 ECS queries (bench/dns/geo-setup.ts); the config names the database.
mkdir -p /tmp/gslb-bench-dns-geo
node "$root/dist/bench/dns/geo-setup.js" /tmp/gslb-bench-dns-geo

start_gslb
measure "gslb (static A)" "$GSLB_PORT" "$here/queries-static.txt"
# Same answer size, chosen per query from a health-checked weighted pool (gslb.yaml).
dig @127.0.0.1 -p "$GSLB_PORT" +short www.pool.bench.test | grep -q 192.0.2.13 && { echo "pool health filtering is not working" >&2; exit 1; }
measure "gslb (pool: health-filtered, weighted)" "$GSLB_PORT" "$here/queries-pool.txt"
dig @127.0.0.1 -p "$GSLB_PORT" +short +subnet=10.0.16.0/24 geo.pool.bench.test | grep -q '^192\.0\.2\.3[12]$' || { echo "geo placement is not working" >&2; exit 1; }
measure "gslb (geo pool, ECS from 10,000 client /24s)" "$GSLB_PORT" /tmp/gslb-bench-dns-geo/queries-geo.bin
gslb_pid=$server_pid
kill "$gslb_pid"; wait "$gslb_pid" 2>/dev/null || true

# The same server with metrics off (metrics.enabled: false): what counting per query costs.
sed -e "s#^zones: zones/#zones: $here/zones/#" "$here/gslb.yaml" > "$tmp/gslb-nometrics.yaml"
echo 'metrics: { enabled: false }' >> "$tmp/gslb-nometrics.yaml"
start_gslb "$tmp/gslb-nometrics.yaml"
measure "gslb (static A), metrics off" "$GSLB_PORT" "$here/queries-static.txt"
measure "gslb (geo pool, ECS), metrics off" "$GSLB_PORT" /tmp/gslb-bench-dns-geo/queries-geo.bin
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true

# Response rate limiting (dns.rate_limit): off; and on for loopback (not exempt) at a rate dnsperf
# never reaches, so every query pays for its bucket without being limited. The static case above
# runs with the defaults, where loopback is exempt: each query pays for the exemption check only.
for rrl in "off:{ responses_per_second: 0 }" "on every query:{ responses_per_second: 1000000, exempt: [] }"; do
  sed -e "s#^zones: zones/#zones: $here/zones/#" "$here/gslb.yaml" > "$tmp/gslb-rrl.yaml"
  echo "dns: { rate_limit: ${rrl#*:} }" >> "$tmp/gslb-rrl.yaml"
  start_gslb "$tmp/gslb-rrl.yaml"
  measure "gslb (static A), RRL ${rrl%%:*}" "$GSLB_PORT" "$here/queries-static.txt"
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
done

nsd_label=$(for k in "${!result[@]}"; do echo "$k"; done | grep '^NSD')
# The metrics-off runs are compared with their metrics-on twins below, not with NSD.
echo "dnsperf $(dnsperf -h 2>&1 | awk '/Version/ {print $2}'), ${DURATION}s per run, $RUNS saturation runs each, node $(node -v), $(date -u +%Y-%m-%d)"
echo
echo "| server (case) | qps, median | qps, each run | max loss at saturation | 80% rate (qps) | loss at 80% | p50 ms at 80% | p99 ms at 80% | peak RSS MiB |"
echo "|---|---|---|---|---|---|---|---|---|"
for r in "${rows[@]}"; do echo "$r"; done
echo
for k in "${!result[@]}"; do
  [ "$k" = "$nsd_label" ] && continue
  case "$k" in *"metrics off"|*"RRL "*) continue ;; esac
  awk -v a="${result[$k]}" -v b="${result[$nsd_label]}" -v k="$k" 'BEGIN {printf "ratio %s / NSD: %.2f\n", k, a/b}'
done
pool_label="gslb (pool: health-filtered, weighted)"
awk -v a="${result[$pool_label]}" -v b="${result["gslb (static A)"]}" 'BEGIN {printf "ratio gslb pool / gslb static: %.2f (issue 3: within 10%%, i.e. >= 0.90)\n", a/b}'
geo_label="gslb (geo pool, ECS from 10,000 client /24s)"
awk -v a="${result[$geo_label]}" -v b="${result["gslb (static A)"]}" 'BEGIN {printf "ratio gslb geo / gslb static: %.2f (issue 11: >= 0.85)\n", a/b}'
awk -v a="${result["gslb (static A)"]}" -v b="${result["gslb (static A), metrics off"]}" 'BEGIN {printf "ratio static, metrics on / off: %.2f (issue 12: >= 0.95)\n", a/b}'
awk -v a="${result[$geo_label]}" -v b="${result["gslb (geo pool, ECS), metrics off"]}" 'BEGIN {printf "ratio geo, metrics on / off: %.2f (issue 12: >= 0.95)\n", a/b}'
awk -v a="${result["gslb (static A)"]}" -v b="${result["gslb (static A), RRL off"]}" 'BEGIN {printf "ratio static, RRL defaults (loopback exempt) / off: %.2f\n", a/b}'
awk -v a="${result["gslb (static A), RRL on every query"]}" -v b="${result["gslb (static A), RRL off"]}" 'BEGIN {printf "ratio static, RRL on every query / off: %.2f\n", a/b}'
