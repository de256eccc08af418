#!/usr/bin/env bash
# Interop checks with real DNS tools against the bundled zones: dig, kdig, and an unbound resolver
# that resolves example.test through a stub-zone pointing at gslb. Runs itself inside a private
# network namespace (unshare --net) so that no tool can send a packet off this machine.
# Also runs the docker-compose topology (deploy/compose/) as processes on 127.53.0.X.
# Needs: dnsutils (dig), knot-dnsutils (kdig), unbound, mmdb-bin, prometheus (promtool), haproxy, redis-server, curl; root for unshare. Exit 1 on any failure.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"

if [ "${GSLB_INTEROP_NETNS:-}" != 1 ]; then
  exec unshare --net env GSLB_INTEROP_NETNS=1 bash "$0" "$@"
fi
ip link set lo up

tmp="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
fails=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1: $2"; fails=$((fails + 1)); }
expect() { # name command pattern [tries]: with tries, the command runs again every 0.1 s until it matches
  local out
  for _ in $(seq "${4:-1}"); do out="$(eval "$2" 2>&1 || true)"; grep -Eq -- "$3" <<<"$out" && break; [ "${4:-1}" = 1 ] || sleep 0.1; done
  if grep -Eq -- "$3" <<<"$out"; then pass "$1"; else fail "$1" "expected /$3/ in: $(head -c 400 <<<"$out")"; fi
}

PORT=5300
node "$root/dist/src/cli/main.js" serve -c "$root/gslb.yaml" --dns "127.0.0.1:$PORT" --log-level error &
pids+=($!)
for _ in $(seq 50); do dig @127.0.0.1 -p $PORT +time=1 +tries=1 example.test SOA >/dev/null 2>&1 && break; sleep 0.1; done

D="dig @127.0.0.1 -p $PORT +norec +time=2 +tries=1"
K="kdig @127.0.0.1 -p $PORT +norec +time=2 +retry=0"
expect "dig A www"               "$D www.example.test A"                 "status: NOERROR.*|flags: qr aa"
expect "dig A www from the pool" "$D +short www.example.test A"          "^127\.0\.1\.[12]$"
expect "dig A via CNAME to pool" "$D +short dl.example.test A"           "^127\.0\.1\.[12]$"
expect "dig NXDOMAIN + SOA"      "$D nope.example.test"                  "status: NXDOMAIN"
expect "dig NODATA has SOA"      "$D www.example.test TXT"               "IN[[:space:]]+SOA"
expect "dig referral AA=0"       "$D host.lab.example.test"              "flags: qr;"
expect "dig REFUSED outside"     "$D www.example.org"                    "status: REFUSED"
expect "dig TCP"                 "$D +tcp +short example.test MX"        "^10 mail\.example\.test\.$"
expect "dig EDNS version 1"      "$D +edns=1 +noednsnegotiation www.example.test" "status: BADVERS"
expect "dig ECS echo, geo scope" "$D +subnet=198.51.100.0/24 www.example.test" "CLIENT-SUBNET: 198\.51\.100\.0/24/24"
expect "dig ECS IPv6 /56 echo"   "$D +subnet=2001:db8:0:100::/56 www.example.test" "CLIENT-SUBNET: 2001:db8:0:100::/56/[1-9]"
expect "dig ECS no geo: scope 0" "$D +subnet=198.51.100.0/24 example.test MX" "CLIENT-SUBNET: 198\.51\.100\.0/24/0"
expect "dig geo: Frankfurt"      "$D +subnet=127.0.1.0/24 www.example.test" "www\.example\.test\..*A[[:space:]]+127\.0\.1\.[12]"
expect "dig geo: New York"       "$D +subnet=127.0.2.0/24 www.example.test" "www\.example\.test\..*A[[:space:]]+127\.0\.2\.[12]"
expect "dig geo: Tokyo, IPv6 ECS" "$D +subnet=2001:db8:3::/48 www.example.test" "www\.example\.test\..*A[[:space:]]+127\.0\.3\.[12]"
expect "kdig geo: scope 24"      "$K +subnet=127.0.2.0/24 www.example.test" "127\.0\.2\.0/24/24"
expect "dig 0x20 case kept"      "$D WwW.ExAmPlE.tEsT"                   "^WwW\.ExAmPlE\.tEsT\."
expect "dig AXFR refused"        "$D +tcp example.test AXFR"             "Transfer failed|REFUSED"
expect "kdig A"                  "$K www.example.test"                   "status: NOERROR"
expect "kdig TCP"                "$K +tcp mail.example.test AAAA"        "2001:db8::25"
expect "kdig NSID names the node" "$K +nsid www.example.test"             'NSID: .*"gslb-demo"'
expect "dig NSID names the node"  "$D +nsid www.example.test"             'NSID: .*\("gslb-demo"\)'
expect "dig CH TXT id.server"     "$D +short CH TXT id.server"            '^"gslb-demo"$'
expect "dig CH TXT version.bind"  "$D CH TXT version.bind"                "status: REFUSED"
expect "dig +cookie: good"        "$D +cookie www.example.test"           "COOKIE: [0-9a-f]{48} \(good\)"
expect "kdig +cookie"             "$K +cookie www.example.test"           "COOKIE: [0-9A-F]{48}"
# A server cookie that is not ours: BADCOOKIE, then dig retries with the fresh one and is answered.
BAD=0102030405060708aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
expect "dig wrong cookie: BADCOOKIE" "$D +cookie=$BAD +nobadcookie www.example.test" "status: BADCOOKIE"
expect "dig wrong cookie: retried"   "$D +cookie=$BAD www.example.test"   "BADCOOKIE, retrying"
expect "dig wrong cookie: answered"  "$D +cookie=$BAD www.example.test"   "status: NOERROR"
expect "dig cookie over TCP"      "$D +tcp +cookie=$BAD www.example.test" "status: NOERROR"
expect "dig cookie 7 bytes: FORMERR" "$D +nocookie +ednsopt=10:01020304050607 www.example.test" "status: FORMERR"
expect "dig NOTIFY: NOTIMP"       "$D +opcode=notify example.test SOA"    "opcode: NOTIFY, status: NOTIMP"
expect "kdig wildcard"           "$K a.b.apps.example.test"              "192\.0\.2\.80"

# Metrics: promtool lints a scrape, and a real Prometheus scrapes the admin listener and sees a
# counter move through its own HTTP API.
expect "promtool check metrics"  "curl -s http://127.0.0.1:8081/metrics | promtool check metrics && echo lint-ok" "^lint-ok$"
cat > "$tmp/prometheus.yml" <<PROM
global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: gslb
    static_configs: [{ targets: ["127.0.0.1:8081"] }]
PROM
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/prom-data" --web.listen-address=127.0.0.1:9099 --log.level=warn >"$tmp/prometheus.log" 2>&1 &
pids+=($!)
prom_query() { { curl -s "http://127.0.0.1:9099/api/v1/query" --data-urlencode "query=$1" || true; } | sed -n 's/.*"value":\[[^,]*,"\([^"]*\)"\].*/\1/p'; }
up=""
for _ in $(seq 150); do up=$(prom_query 'up{job="gslb"}'); [ "$up" = 1 ] && break; sleep 0.2; done
if [ "$up" = 1 ]; then pass "prometheus: target up"; else fail "prometheus: target up" "up=$up; $(tail -c 300 "$tmp/prometheus.log")"; fi
before=$(prom_query 'sum(gslb_dns_queries_total)'); before=${before:-0}
for _ in $(seq 30); do dig @127.0.0.1 -p $PORT +short www.example.test >/dev/null; done
after=$before
for _ in $(seq 100); do after=$(prom_query 'sum(gslb_dns_queries_total)'); after=${after:-0}; awk -v a="$after" -v b="$before" 'BEGIN {exit !(a >= b + 30)}' && break; sleep 0.2; done
if awk -v a="$after" -v b="$before" 'BEGIN {exit !(a >= b + 30)}'; then pass "prometheus: gslb_dns_queries_total moved ($before → $after)"; else fail "prometheus: counter moved" "before=$before after=$after"; fi

# libmaxminddb's mmdblookup, an independent reader, reads the demo database gslb built.
expect "mmdblookup demo db"      "mmdblookup --file $root/geo/demo-city.mmdb --ip 127.0.2.9 city names en" "New York"
expect "mmdblookup IPv4-mapped"  "mmdblookup --file $root/geo/demo-city.mmdb --ip ::ffff:127.0.3.9 country iso_code" "JP"

# unbound as a real resolver with a stub zone pointing at us.
cat > "$tmp/unbound.conf" <<CONF
server:
  interface: 127.0.0.1@5399
  port: 5399
  do-ip6: no
  do-daemonize: no
  use-syslog: no
  logfile: ""
  username: ""
  chroot: ""
  directory: "$tmp"
  pidfile: "$tmp/unbound.pid"
  do-not-query-localhost: no
  module-config: "iterator"
  local-zone: "test." nodefault
  qname-minimisation: no
  verbosity: 1
remote-control:
  control-enable: no
stub-zone:
  name: "example.test"
  stub-addr: 127.0.0.1@$PORT
CONF
unbound -c "$tmp/unbound.conf" &
pids+=($!)
for _ in $(seq 50); do dig @127.0.0.1 -p 5399 +time=1 +tries=1 example.test SOA >/dev/null 2>&1 && break; sleep 0.1; done
R="dig @127.0.0.1 -p 5399 +time=3 +tries=1"
expect "unbound A from the pool" "$R +short www.example.test"            "^127\.0\.1\.[12]$"
expect "unbound CNAME chain"     "$R dl.example.test A"                  "www\.example\.test\..*IN[[:space:]]+A[[:space:]]+127\.0\.1\.[12]"
expect "unbound MX"              "$R +short example.test MX"             "^10 mail\.example\.test\.$"
expect "unbound NXDOMAIN"        "$R nope.example.test"                  "status: NXDOMAIN"
expect "unbound wildcard"        "$R +short x.apps.example.test"         "^192\.0\.2\.80$"
expect "unbound SRV"             "$R +short _sip._tcp.example.test SRV"  "^10 5 5060 mail\.example\.test\.$"

# unbound with ECS (subnetcache): it sends each client's /24 to gslb and caches per scope, so
# clients in different cities get different sites through one resolver.
sed -e "s/5399/5398/g" -e 's/module-config: "iterator"/module-config: "subnetcache iterator"\n  send-client-subnet: 127.0.0.1\n  max-client-subnet-ipv4: 24/' \
  -e "s#$tmp/unbound.pid#$tmp/unbound-ecs.pid#" "$tmp/unbound.conf" > "$tmp/unbound-ecs.conf"
unbound -c "$tmp/unbound-ecs.conf" &
pids+=($!)
for _ in $(seq 50); do dig @127.0.0.1 -p 5398 +time=1 +tries=1 example.test SOA >/dev/null 2>&1 && break; sleep 0.1; done
E="dig @127.0.0.1 -p 5398 +time=3 +tries=1 +short"
expect "unbound ECS: Frankfurt client" "$E -b 127.0.1.5 www.example.test" "^127\.0\.1\.[12]$"
expect "unbound ECS: New York client"  "$E -b 127.0.2.5 www.example.test" "^127\.0\.2\.[12]$"
expect "unbound ECS: Tokyo client"     "$E -b 127.0.3.5 www.example.test" "^127\.0\.3\.[12]$"
expect "unbound ECS: cached per /24"   "$E -b 127.0.1.6 www.example.test" "^127\.0\.1\.[12]$"

# The docker-compose topology (docker-compose.yml, docs/docker.md) as processes: its configurations
# with 10.53.0.X rewritten to 127.53.0.X, three HAProxy farms of two backends each (the backends
# their "server" lines name), Redis, two gslb nodes checking the farms' stats, and unbound with the
# stub zone.
c="$tmp/compose"
cp -r "$root/deploy/compose" "$c"
find "$c" -type f \( -name '*.yaml' -o -name '*.cfg' -o -name '*.conf' \) -exec sed -i 's/10\.53\.0\./127.53.0./g' {} +
sed -i -e "s#database: ../../geo/demo-city.mmdb#database: $root/geo/demo-city.mmdb#" "$c/gslb.yaml"
# A service's lines in docker-compose.yml, up to the blank line that ends them.
service() { sed -n "/^  $1:\$/,/^\$/p" "$root/docker-compose.yml"; }
# One copy of gslb.yaml per node, as each container sees it: the node name is the container's host
# name, the state file its own volume. ns2's listen flags are those of its compose command.
nodes=()
for svc in gslb gslb2; do
  name="$(service "$svc" | sed -n 's/^ *hostname: *//p')"
  nodes+=("$name")
  sed -e "s#state_file: /var/lib/gslb/state.json#state_file: $tmp/compose-state-$name.json#" \
    -e "s/^cluster:\$/cluster:\n  node: $name/" "$c/gslb.yaml" > "$c/gslb-$name.yaml"
done
ns2_flags="$(service gslb2 | sed -n 's#^ *command: .*"/etc/gslb/gslb.yaml", \(.*\)\]$#\1#p' | tr -d '",' | sed 's/10\.53\.0\./127.53.0./g')"
redis_at="$(sed -n 's#^  redis: redis://\([0-9.]*\):\([0-9]*\)/.*#\1 \2#p' "$c/gslb.yaml")"
read -r redis_host redis_port <<<"$redis_at"
redis-server --bind "$redis_host" --port "$redis_port" --save "" --appendonly no --protected-mode no >"$c/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ "$(redis-cli -h "$redis_host" -p "$redis_port" ping 2>/dev/null)" = PONG ] && break; sleep 0.1; done
declare -A backend_pid
for cfg in "$c"/haproxy/*.cfg; do
  while read -r name addr port; do
    node "$root/examples/backend.mjs" "$addr" "$port" >/dev/null &
    pids+=($!); backend_pid[$name]=$!
  done < <(awk '$1 == "server" { split($3, a, ":"); print $2, a[1], a[2] }' "$cfg")
done
for cfg in "$c"/haproxy/*.cfg; do haproxy -f "$cfg" -db >"$cfg.log" 2>&1 & pids+=($!); done
node "$root/dist/src/cli/main.js" serve -c "$c/gslb-${nodes[0]}.yaml" --admin 127.0.0.1:8083 --log-level error &
pids+=($!)
# shellcheck disable=SC2086 # the flags are words
node "$root/dist/src/cli/main.js" serve -c "$c/gslb-${nodes[1]}.yaml" $ns2_flags --admin 127.0.0.1:8084 --log-level error &
pids+=($!)
unbound -c "$c/unbound.conf" &
pids+=($!)
# Each farm of pool "all" as gslb's admin API shows it: NAME=WEIGHT, or NAME=out when not served.
farms() { { curl -s http://127.0.0.1:8083/v1/pools || true; } | node -e 'let s = ""; process.stdin.on("data", d => { s += d }).on("end", () => {
  try { console.log(JSON.parse(s).pools.find(p => p.name === "all").members.map(m => `${m.name}=${m.eligible ? m.weight : "out"}`).join(" ")) } catch { console.log("no answer") } })'; }
expect_farms() { # name wanted: polls the admin API for at most 15 s
  local got=""
  for _ in $(seq 150); do got="$(farms)"; [ "$got" = "$2" ] && break; sleep 0.1; done
  if [ "$got" = "$2" ]; then pass "$1"; else fail "$1" "expected $2, got $got"; fi
}
expect_farms "compose: every farm up at full weight" "fra=100 nyc=100 tok=100"
for _ in $(seq 50); do dig @127.53.0.3 +time=1 +tries=1 example.test SOA >/dev/null 2>&1 && break; sleep 0.1; done
U="dig @127.53.0.3 +time=3 +tries=1 +short"
G="dig @127.53.0.2 +norec +time=2 +tries=1 +short"
expect "compose: unbound → gslb: www is a farm" "$U www.example.test"        "^127\.53\.0\.11$"
expect "compose: unbound → gslb: all is a farm" "$U all.example.test"        "^127\.53\.0\.(11|21|31)$"
expect "compose: unbound → gslb: dl is gslb"    "$U dl.example.test"         "^127\.53\.0\.2$"
expect "compose: gslb, a Tokyo client (ECS)"    "$G +subnet=127.0.3.0/24 www.example.test" "^127\.53\.0\.31$"
expect "compose: gslb, a New York client (ECS)" "$G +subnet=127.0.2.0/24 www.example.test" "^127\.53\.0\.21$"
# The second node, ns2 (service gslb2): both nodes reach Redis and count each other; a drain made on
# ns1 is in ns2's answers, and so is the ready that ends it.
cluster() { { curl -s "http://$1/v1/status" || true; } | node -e 'let s = ""; process.stdin.on("data", d => { s += d }).on("end", () => {
  try { const c = JSON.parse(s).cluster; console.log(`${c.node} redis=${c.redis.up ? "up" : "down"} fresh=${c.nodes.filter(n => n.fresh).map(n => n.node).sort().join(",")}`) } catch { console.log("no answer") } })'; }
both="$(printf '%s\n' "${nodes[@]}" | sort | paste -sd,)"
expect "compose: ns1 reaches Redis, counts both nodes" "cluster 127.0.0.1:8083" "^${nodes[0]} redis=up fresh=$both$" 100
expect "compose: ns2 reaches Redis, counts both nodes" "cluster 127.0.0.1:8084" "^${nodes[1]} redis=up fresh=$both$" 100
ns2_dns="$(sed -n 's/.*--dns \([0-9.]*\):53.*/\1/p' <<<"$ns2_flags")"
N2="dig @$ns2_dns +norec +time=2 +tries=1 +short"
expect "compose: ns2 answers www"                 "$N2 www.example.test"   "^127\.53\.0\.11$"
expect "compose: unbound → ns2.example.test is ns2" "$U ns2.example.test"  "^${ns2_dns//./\\.}$"
ADMIN="node $root/dist/src/cli/main.js admin"
expect "compose: drain www/fra on ns1"            "$ADMIN drain www/fra --note interop --admin 127.0.0.1:8083 && echo done" "^done$"
expect "compose: ns2 answers without fra (≤ 3 s)" "$N2 www.example.test" "^127\.53\.0\.21$" 30
expect "compose: ready www/fra on ns1"            "$ADMIN ready www/fra --admin 127.0.0.1:8083 && echo done" "^done$"
expect "compose: ns2 answers fra again (≤ 3 s)"   "$N2 www.example.test" "^127\.53\.0\.11$" 30
DL="curl -s --max-time 3 --resolve dl.example.test:80:127.53.0.2 http://dl.example.test/pub/x"
expect "compose: redirect to a farm"            "$DL -o /dev/null -w '%{redirect_url}'" "^http://127\.53\.0\.(11|21|31)/pub/x$"
expect "compose: followed, a farm's backend answers" "$DL -L"                "^ok from 127\.53\.0\.[123][23]:8080$"
# A farm losing its servers: half weight with one of two, then out, and Frankfurt clients go to nyc.
kill "${backend_pid[fra-1]}"
expect_farms "compose: fra at half weight with 1 of 2 servers" "fra=50 nyc=100 tok=100"
expect "compose: fra's check says why" "curl -s http://127.0.0.1:8083/v1/pools" '"health_reason":"[^"]*1/2 servers up in be_app'
kill "${backend_pid[fra-2]}"
expect_farms "compose: fra out with none" "fra=out nyc=100 tok=100"
expect "compose: a Frankfurt client goes to nyc" "$G +subnet=127.0.1.0/24 www.example.test" "^127\.53\.0\.21$"

# A real GeoLite2-City database (not built by gslb), when CI fetched one: the same answers for
# addresses it knows (GSLB_REAL_GEO_DB names the .mmdb file).
if [ -n "${GSLB_REAL_GEO_DB:-}" ] && [ -f "$GSLB_REAL_GEO_DB" ]; then
  sed -e "s#database: geo/demo-city.mmdb#database: $GSLB_REAL_GEO_DB#" -e "s#^zones: zones/#zones: $root/zones/#" \
    -e "s#state_file: var/gslb-state.json#state_file: $tmp/real-state.json#" "$root/gslb.yaml" > "$tmp/real.yaml"
  for a in 127.0.1.1 127.0.1.2 127.0.2.1 127.0.2.2 127.0.3.1 127.0.3.2; do node "$root/examples/backend.mjs" "$a" >/dev/null & pids+=($!); done
  node "$root/dist/src/cli/main.js" serve -c "$tmp/real.yaml" --dns "127.0.0.1:5301" --http 127.0.0.1:8001 --admin 127.0.0.1:8082 --log-level error &
  pids+=($!)
  for _ in $(seq 100); do dig @127.0.0.1 -p 5301 +time=1 +tries=1 example.test SOA >/dev/null 2>&1 && break; sleep 0.1; done
  G="dig @127.0.0.1 -p 5301 +norec +time=2 +tries=1"
  expect "real db: London → fra"      "$G +subnet=81.2.69.0/24 www.example.test"   "www\.example\.test\..*A[[:space:]]+127\.0\.1\.[12]"
  expect "real db: US → nyc"          "$G +subnet=8.8.8.0/24 www.example.test"     "www\.example\.test\..*A[[:space:]]+127\.0\.2\.[12]"
  expect "real db: Japan → tok"       "$G +subnet=1.0.16.0/24 www.example.test"    "www\.example\.test\..*A[[:space:]]+127\.0\.3\.[12]"
  expect "real db: scope ≤ source"    "$G +subnet=81.2.69.0/24 www.example.test"   "CLIENT-SUBNET: 81\.2\.69\.0/24/(1?[0-9]|2[0-4])$"
  expect "real db: redirect by XFF"   "curl -s -o /dev/null -w '%{redirect_url}' -H 'Host: dl.example.test' -H 'X-Forwarded-For: 1.0.16.1' http://127.0.0.1:8001/pub/x" "^http://127\.0\.3\.[12]:8080/pub/x$"
else
  echo "skip real GeoLite2 database checks (GSLB_REAL_GEO_DB not set)"
fi

echo
if [ "$fails" -gt 0 ]; then echo "interop: $fails failed"; exit 1; fi
echo "interop: all passed"
