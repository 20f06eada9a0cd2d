#!/usr/bin/env bash
# Wall time of Autobahn's fuzzingserver and of `wsspec clients` on the same client, for the
# README table ("Test your own client"). Everything listens on 127.0.0.1.
#
#   conformance/clients/measure-speed.sh ws|websockets [CASES] [JOBS]
#
# CASES: wsspec patterns, comma separated (default categories 1-10: 1.*,...,7.*,9.*,10.*);
# JOBS: --jobs for wsspec (default: wsspec's). Needs a release build (target/release/wsspec),
# wstest (scripts/autobahn/install.sh), and the client's packages (conformance/servers
# ensure-installed.sh for ws, install.sh websockets for websockets). Prints one line per run:
#   <tool> <mode> <seconds> <cases OK/NON-STRICT/INFORMATIONAL/UNIMPLEMENTED/FAILED>
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
client="${1:?usage: measure-speed.sh ws|websockets [CASES] [JOBS]}"
cases="${2:-1.*,2.*,3.*,4.*,5.*,6.*,7.*,9.*,10.*}"
jobs="${3:-}"
wsspec="$repo/target/release/wsspec"
[[ -x "$wsspec" ]] || { echo "build first: cargo build --release" >&2; exit 2; }
wstest="$(bash "$repo/scripts/autobahn/install.sh" wstest)"
case "$client" in
    ws) run="node $here/ws-echo-client.js" ;;
    websockets) run="$(bash "$repo/scripts/autobahn/install.sh" websockets) $here/websockets-client.py" ;;
    *) echo "unknown client $client" >&2; exit 64 ;;
esac
work="$repo/target/clients-speed/$client"
rm -rf "$work" && mkdir -p "$work"
cd "$work"

# Autobahn: its fuzzingserver on loopback (Twisted's listenTCP pinned to 127.0.0.1, web UI
# off), the client's own sequential driver.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 - "$cases" "$port" > spec.json <<'EOF'
import json, sys
pats = sys.argv[1].split(",")
print(json.dumps({"url": "ws://127.0.0.1:%s" % sys.argv[2], "outdir": "ab-report",
                  "cases": pats, "exclude-cases": [], "exclude-agent-cases": {}}))
EOF
cp "$here/loopback_wstest.py" .
"$(dirname "$wstest")/python" -u loopback_wstest.py -m fuzzingserver -s spec.json -u 0 > wstest.log 2>&1 &
ab=$!
trap 'kill $ab 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null && break
    sleep 0.2
done
t0=$(date +%s.%N)
timeout 1800 $run --driver "ws://127.0.0.1:$port" --agent "$client" > ab-driver.log 2>&1 || true
t1=$(date +%s.%N)
kill $ab 2>/dev/null || true
wait $ab 2>/dev/null || true
trap - EXIT
ab_counts=$(python3 - <<'EOF'
import json, collections
d = json.load(open("ab-report/index.json"))
c = collections.Counter(v["behavior"] for a in d.values() for v in a.values())
print(sum(c.values()), " ".join("%s=%d" % kv for kv in sorted(c.items())))
EOF
)
printf 'autobahn driver %.1f %s\n' "$(echo "$t1 - $t0" | bc)" "$ab_counts"

counts() {
    python3 - "$1" <<'EOF'
import json, sys, collections
r = json.load(open(sys.argv[1]))
c = collections.Counter(x["verdict"] for x in r["cases"] if not x["id"].startswith("c."))
print(sum(c.values()), " ".join("%s=%d" % kv for kv in sorted(c.items())))
EOF
}
jobarg=()
[[ -n "$jobs" ]] && jobarg=(--jobs "$jobs")
exclude=(--exclude 'c.*')

t0=$(date +%s.%N)
timeout 1800 "$wsspec" clients --no-progress --cases "$cases" "${exclude[@]}" "${jobarg[@]}" \
    --exec-driver "$run --driver {url} --agent $client" --json exec-driver.json > exec-driver.log 2>&1 || true
t1=$(date +%s.%N)
printf 'wsspec exec-driver %.1f %s\n' "$(echo "$t1 - $t0" | bc)" "$(counts exec-driver.json)"

t0=$(date +%s.%N)
timeout 1800 "$wsspec" clients --no-progress --cases "$cases" "${exclude[@]}" "${jobarg[@]}" \
    --exec "$run {url}" --agent "$client" --json exec.json > exec.log 2>&1 || true
t1=$(date +%s.%N)
printf 'wsspec exec %.1f %s\n' "$(echo "$t1 - $t0" | bc)" "$(counts exec.json)"
