#!/usr/bin/env bash
# Install the npm packages of conformance/servers from the committed lockfile,
# once. Safe to call from many test processes at the same time: they serialise
# on a flock and all but the first find the install already fresh.
#
# Exit codes: 0 installed (or already fresh), 2 node/npm/flock missing or too
# old, 3 lock not obtained in time, other: npm's own failure (124 = timed out).
#
# Env: WSSPEC_NPM_TIMEOUT (seconds for `npm ci`, default 600),
#      WSSPEC_LOCK_TIMEOUT (seconds to wait for another installer, default 900).
set -euo pipefail

src="${BASH_SOURCE[0]}"
[[ "$src" == */* ]] || src="./$src"
# No dirname: the missing-tool message below must work even with a bare PATH.
here="$(cd "${src%/*}" && pwd)"
npm_timeout="${WSSPEC_NPM_TIMEOUT:-600}"
lock_timeout="${WSSPEC_LOCK_TIMEOUT:-900}"
# Written only after `npm ci` succeeded (holding the hash of the manifest and
# lockfile it installed), so an interrupted install is redone.
stamp="$here/node_modules/.wsspec-installed"
lock="$here/.install.lock"

die() {
    echo "ensure-installed: $*" >&2
    exit "${2:-2}"
}

for tool in node npm flock timeout sha256sum; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "'$tool' not found on PATH; the conformance servers need Node.js >= 20.19 with npm (and util-linux flock, coreutils timeout)"
done

# Vite 8 refuses Node < 20.19; say so here rather than in a stack trace later.
node -e '
const [maj, min] = process.versions.node.split(".").map(Number);
if (maj < 20 || (maj === 20 && min < 19)) process.exit(1);
' || die "Node.js $(node --version) is too old; need >= 20.19"

# Freshness is by content, not mtime: a git checkout or rebase touches the
# lockfile's mtime without changing it, and should not cost a reinstall.
want="$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -d' ' -f1)"
fresh() {
    [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]
}

fresh && exit 0

exec 9>"$lock"
flock -w "$lock_timeout" 9 || die "could not lock $lock within ${lock_timeout}s (another install still running?)" 3

# Another process may have finished the install while we waited.
fresh && exit 0

echo "ensure-installed: npm ci in $here (timeout ${npm_timeout}s)" >&2
cd "$here"
# npm's chatter goes to stderr: callers may parse our stdout.
status=0
timeout --kill-after=10 "$npm_timeout" npm ci --no-audit --no-fund --loglevel=error 1>&2 || status=$?
if [[ $status -ne 0 ]]; then
    # 124: npm stopped on SIGTERM; 137: it had to be SIGKILLed 10 s later.
    [[ $status -eq 124 || $status -eq 137 ]] && die "npm ci timed out after ${npm_timeout}s" 124
    die "npm ci failed with exit code $status" "$status"
fi
echo "$want" >"$stamp"
echo "ensure-installed: done" >&2
