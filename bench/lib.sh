# Shared by bench/*/run.sh (source it first): --duration/--runs options, the script and repository
# directories, a temporary directory, and cleanup of every process listed in $pids on exit.
# Usage: source "$(dirname "$0")/../lib.sh" "$@"; need TOOL... -- "install hint"
set -euo pipefail

DURATION=10
RUNS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    *) echo "usage: $0 [--duration SECONDS] [--runs N]" >&2; exit 2 ;;
  esac
done

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tmp="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

# need TOOL... -- "how to install": exit 1 naming the first missing tool; build gslb if needed.
need() {
  local tools=() hint=""
  while [ $# -gt 0 ]; do
    if [ "$1" = -- ]; then hint="$2"; break; fi
    tools+=("$1"); shift
  done
  for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null || { echo "missing $tool: $hint" >&2; exit 1; }
  done
  [ -f "$root/dist/src/cli/main.js" ] || (cd "$root" && npm run build --silent)
}

# The median of numbers separated by spaces or newlines, on standard input.
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# The median over rounds of A / B, pairing the i-th number of "$1" with the i-th of "$2" (one round each).
paired() { ratios "$1" "$2" | median; }
# ratios A B: the per-round ratios A / B, one per line (see paired).
ratios() { paste <(printf '%s' "$1" | tr ' ' '\n') <(printf '%s' "$2" | tr ' ' '\n') | awk 'NF == 2 && $2 > 0 {print $1 / $2}'; }
# The distribution-free 95% confidence interval of the median of numbers on standard input, "LOW-HIGH":
# the k-th smallest and k-th largest, k the largest rank with P(Binomial(n, 1/2) < k) <= 2.5%.
# "n/a" below 6 numbers, where no such k exists.
median_ci() {
  tr ' ' '\n' | grep -v '^$' | sort -g | awk '
    { a[NR] = $1 }
    END {
      n = NR; k = 0; term = 0.5 ^ n; cum = 0
      for (i = 0; i < n; i++) { cum += term; if (cum > 0.025) break; k = i + 1; term = term * (n - i) / (i + 1) }
      if (k == 0) print "n/a"; else printf "%.2f-%.2f\n", a[k], a[n - k + 1]
    }'
}
# until_302 URL LABEL: wait up to 10 s for URL (Host: dl.example.test) to answer 302; exit 1 naming LABEL if not.
until_302() {
  local code=
  for _ in $(seq 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: dl.example.test' "$1" || true)
    [ "$code" = 302 ] && return 0
    sleep 0.1
  done
  echo "server $2 did not answer 302" >&2
  exit 1
}
# measure_round URL...: one round over servers that are already running, server i at URL i (with
# Host: dl.example.test): a 2-s wrk warm-up of each, then $DURATION passes of one 1-s wrk slice per
# server, in a new shuffled order each pass, so a noisy spell of the VM falls on every server of the
# round alike. wrk runs on core 1 with 1 thread and 50 connections. If server_pid[i] is set, the
# CPU ticks of that process during its slices are counted too. Sets, per index i: round_rps (req/s
# over its slices), round_cpu (CPU µs per request), round_p50/round_p99 (medians over its slices,
# ms) and round_bad (non-3xx answers). The elapsed time of a slice comes from wrk's req/s, which
# wrk computes from the exact time (its "requests in 1.0s" line is rounded to 0.1 s).
measure_round() {
  local urls=("$@") i n t p50 p99 bad t0 t1
  local all; all=$(seq 0 $((${#urls[@]} - 1)))
  local -A req=() secs=() ticks=() p50s=() p99s=() bads=()
  for i in $(shuf -e $all); do taskset -c 1 wrk -t1 -c50 -d2s -H 'Host: dl.example.test' "${urls[$i]}" > /dev/null; done
  for _ in $(seq "$DURATION"); do
    for i in $(shuf -e $all); do
      t0=0; [ -n "${server_pid[$i]:-}" ] && t0=$(cpu_ticks "${server_pid[$i]}")
      read -r n t p50 p99 bad < <(taskset -c 1 wrk -t1 -c50 -d1s --latency -H 'Host: dl.example.test' "${urls[$i]}" | awk '
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
        / requests in / { n = $1 }
        /Requests\/sec/ { t = $2 > 0 ? n / $2 : 0 }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        /Non-2xx or 3xx/ { bad = $5 }
        END { printf "%d %.6f %.3f %.3f %d\n", n, t, p50, p99, bad }')
      t1=0; [ -n "${server_pid[$i]:-}" ] && t1=$(cpu_ticks "${server_pid[$i]}")
      req[$i]=$(( ${req[$i]:-0} + n ))
      secs[$i]=$(awk -v a="${secs[$i]:-0}" -v b="$t" 'BEGIN {print a + b}')
      ticks[$i]=$(( ${ticks[$i]:-0} + t1 - t0 ))
      p50s[$i]+="$p50 "; p99s[$i]+="$p99 "; bads[$i]=$(( ${bads[$i]:-0} + bad ))
    done
  done
  declare -gA round_rps=() round_cpu=() round_p50=() round_p99=() round_bad=()
  for i in $all; do
    round_rps[$i]=$(awk -v n="${req[$i]}" -v t="${secs[$i]}" 'BEGIN {printf "%.0f", n / t}')
    round_cpu[$i]=$(awk -v t="${ticks[$i]}" -v r="${req[$i]}" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", t / hz * 1e6 / r}')
    round_p50[$i]=$(printf '%s' "${p50s[$i]}" | median)
    round_p99[$i]=$(printf '%s' "${p99s[$i]}" | median)
    round_bad[$i]=${bads[$i]}
  done
}
# cpu_ticks PID: user + system CPU time of a process so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# hold_port PORT: a TCP listener on 127.0.0.1:PORT (core 1) that accepts and closes, for as long
# as the script runs: bench/http/gslb.yaml's members are checked against it, so they are up
# whichever port gslb itself serves on.
hold_port() {
  taskset -c 1 node -e "require('net').createServer(s => s.destroy()).listen($1, '127.0.0.1', () => console.log('held'))" > "$tmp/hold.$1" & pids+=($!)
  for _ in $(seq 50); do grep -q held "$tmp/hold.$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "could not listen on port $1" >&2
  exit 1
}
