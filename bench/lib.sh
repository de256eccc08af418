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
paired() { paste <(printf '%s' "$1" | tr ' ' '\n') <(printf '%s' "$2" | tr ' ' '\n') | awk 'NF == 2 && $2 > 0 {print $1 / $2}' | median; }
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
