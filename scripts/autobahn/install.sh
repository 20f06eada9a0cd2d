#!/usr/bin/env bash
# Installs a Python environment the Autobahn differential test needs, once, under
# target/autobahn/ (or $WSSPEC_AUTOBAHN_DIR), and prints the path of its program on stdout.
#
#   install.sh [wstest]   the real Autobahn|Testsuite (wstest 0.8.2, Autobahn 0.10.9): a CPython
#                         2.7 virtualenv (py27/) made by virtualenv 20.21.1 (tools/) from
#                         conformance/autobahn/requirements-py27.txt; prints .../py27/bin/wstest
#   install.sh websockets the Python `websockets` echo server's packages: a python3 venv
#                         (websockets/) from conformance/servers/requirements-websockets.txt;
#                         prints .../websockets/bin/python
#   install.sh hypercorn  hypercorn (WebSockets over HTTP/2, RFC 8441): a python3 venv
#                         (hypercorn/) from conformance/servers/requirements-hypercorn.txt;
#                         prints .../hypercorn/bin/hypercorn
#
# Cached: an environment is rebuilt only when its pinned requirements or its interpreter
# changed (a content hash is kept in <env>/.wsspec-installed, written last, so an interrupted
# install is redone). Safe to call from many test processes at once: they serialise on a
# flock and all but the first find the environment fresh.
#
# Exit codes: 0 ready; 2 this machine cannot run it (no CPython 2.7 for wstest, no python3
# with venv, no flock/timeout/sha256sum): the message says which; 3 lock not obtained in
# time; 4 an install step failed (pip's output above says why; 124 inside means timed out);
# 64 usage.
#
# Env: WSSPEC_PYTHON27 (a CPython 2.7 interpreter; default: pyenv's 2.7.x, else python2.7 on
#      PATH), WSSPEC_PYTHON3 (default python3), WSSPEC_PIP_TIMEOUT (seconds per pip/virtualenv
#      step, default 900), WSSPEC_LOCK_TIMEOUT (seconds to wait for another installer,
#      default 1800).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
root="${WSSPEC_AUTOBAHN_DIR:-$repo/target/autobahn}"
step_timeout="${WSSPEC_PIP_TIMEOUT:-900}"
lock_timeout="${WSSPEC_LOCK_TIMEOUT:-1800}"
what="${1:-wstest}"

die() {
    echo "autobahn/install.sh: $1" >&2
    exit "${2:-2}"
}

for tool in flock timeout sha256sum; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found on PATH (util-linux flock, coreutils)"
done

# A CPython 2.7 that really is 2.7 (the pyenv shim on PATH refuses while the global version
# is 3.x, so pyenv's own versions directory is searched first).
find_python27() {
    local cands=() c pyroot
    [[ -n "${WSSPEC_PYTHON27:-}" ]] && cands+=("$WSSPEC_PYTHON27")
    pyroot="$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")"
    for c in "$pyroot"/versions/2.7*/bin/python2.7; do
        [[ -e "$c" ]] && cands+=("$c")
    done
    c="$(command -v python2.7 2>/dev/null || true)"
    [[ -n "$c" ]] && cands+=("$c")
    for c in "${cands[@]}"; do
        if [[ -x "$c" ]] && "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (2, 7))' >/dev/null 2>&1; then
            echo "$c"
            return 0
        fi
    done
    return 1
}

python3="${WSSPEC_PYTHON3:-python3}"
"$python3" -c 'import venv' >/dev/null 2>&1 ||
    die "'$python3' with the venv module not found (set WSSPEC_PYTHON3 to a CPython >= 3.10)"

case "$what" in
wstest)
    py27="$(find_python27)" ||
        die "no CPython 2.7 found (looked at \$WSSPEC_PYTHON27, pyenv's versions/2.7*, python2.7 on PATH); the real Autobahn|Testsuite needs it"
    reqs="$repo/conformance/autobahn/requirements-py27.txt"
    tools_reqs="$repo/conformance/autobahn/requirements-tools.txt"
    env_dir="$root/py27"
    program="$env_dir/bin/wstest"
    want="$(cat "$reqs" "$tools_reqs" | sha256sum | cut -d' ' -f1) $py27 $("$py27" -V 2>&1) $("$python3" -V 2>&1)"
    ;;
websockets)
    "$python3" -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
        die "$("$python3" -V 2>&1) is too old for websockets 17 (needs >= 3.10; set WSSPEC_PYTHON3)"
    reqs="$repo/conformance/servers/requirements-websockets.txt"
    env_dir="$root/websockets"
    program="$env_dir/bin/python"
    want="$(sha256sum <"$reqs" | cut -d' ' -f1) $(command -v "$python3") $("$python3" -V 2>&1)"
    ;;
hypercorn)
    "$python3" -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
        die "$("$python3" -V 2>&1) is too old for hypercorn 0.18 (needs >= 3.10; set WSSPEC_PYTHON3)"
    reqs="$repo/conformance/servers/requirements-hypercorn.txt"
    env_dir="$root/hypercorn"
    program="$env_dir/bin/hypercorn"
    want="$(sha256sum <"$reqs" | cut -d' ' -f1) $(command -v "$python3") $("$python3" -V 2>&1)"
    ;;
*)
    die "unknown environment '$what'; usage: install.sh [wstest|websockets|hypercorn]" 64
    ;;
esac

stamp="$env_dir/.wsspec-installed"
fresh() {
    [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$program" ]]
}
if fresh; then
    echo "$program"
    exit 0
fi

mkdir -p "$root"
exec 9>"$root/.install-$what.lock"
flock -w "$lock_timeout" 9 || die "could not lock $root/.install-$what.lock within ${lock_timeout}s" 3
# Another process may have finished while we waited.
if fresh; then
    echo "$program"
    exit 0
fi

# Every step's chatter goes to stderr: callers read the program path from stdout.
step() {
    local status=0
    timeout --kill-after=10 "$step_timeout" "$@" 1>&2 || status=$?
    [[ $status -eq 0 ]] && return 0
    [[ $status -eq 124 || $status -eq 137 ]] && die "timed out after ${step_timeout}s: $*" 4
    die "failed with exit code $status: $*" 4
}

started=$(date +%s)
echo "autobahn/install.sh: building $env_dir" >&2
rm -rf "$env_dir"
case "$what" in
wstest)
    rm -rf "$root/tools"
    step "$python3" -m venv "$root/tools"
    step "$root/tools/bin/pip" install --quiet --disable-pip-version-check -r "$tools_reqs"
    step "$root/tools/bin/virtualenv" --quiet -p "$py27" "$env_dir"
    # wsaccel and zope.interface build from source; about 30-60 s.
    step "$env_dir/bin/pip" install --quiet --disable-pip-version-check -r "$reqs"
    step "$program" --autobahnversion
    ;;
websockets)
    step "$python3" -m venv "$env_dir"
    step "$env_dir/bin/pip" install --quiet --disable-pip-version-check -r "$reqs"
    step "$program" -c 'import websockets; print("websockets", websockets.__version__)'
    ;;
hypercorn)
    step "$python3" -m venv "$env_dir"
    step "$env_dir/bin/pip" install --quiet --disable-pip-version-check -r "$reqs"
    step "$env_dir/bin/python" -c 'import hypercorn, h2; print("hypercorn ready, h2", h2.__version__)'
    ;;
esac
echo "$want" >"$stamp"
echo "autobahn/install.sh: $what ready in $(($(date +%s) - started)) s" >&2
echo "$program"
