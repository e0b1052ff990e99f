#!/usr/bin/env bash
# FerretDB (MongoDB wire protocol over SQLite) for the store's contract tests.
# No mongod can be installed on our machines, so CI builds FerretDB from the Go
# module proxy once per machine and reuses the binary from a cache that survives runs.
#
#   bash .ci/ferretdb.sh build   # go install into the cache (no-op when already built)
#   bash .ci/ferretdb.sh start   # build if needed, start on a free loopback port, wait,
#                                # print `export MONGODB_URI=...` on stdout (logs go to stderr)
#   bash .ci/ferretdb.sh stop    # stop the server started by `start` and remove its state
#   bash .ci/ferretdb.sh env     # print the export line of the running server again
#
# Typical use in .ci/run:
#   eval "$(bash .ci/ferretdb.sh start)"; trap 'bash .ci/ferretdb.sh stop' EXIT
set -euo pipefail

VERSION="v1.24.2"
CACHE="${QFLARE_CACHE:-/var/cache/qflare}"
RUN_DIR="${FERRETDB_RUN_DIR:-${TMPDIR:-/tmp}/qflare-ferretdb}"
export GOBIN="$CACHE/go/bin"
export GOMODCACHE="$CACHE/go/mod"
export GOCACHE="$CACHE/go/build"
export GOFLAGS="-mod=mod"
BIN="$GOBIN/ferretdb"
STAMP="$GOBIN/ferretdb.version"

log() { echo "ferretdb.sh: $*" >&2; }
# free_port, stop, already_running, await_ready
source "$(dirname "$0")/daemon.sh"

build() {
	if [[ -x "$BIN" && "$(cat "$STAMP" 2>/dev/null)" == "$VERSION" ]]; then
		log "using cached $BIN ($VERSION)"
		return
	fi
	command -v go >/dev/null || { log "go not found on PATH (need Go >= 1.22)"; exit 1; }
	mkdir -p "$GOBIN" "$GOMODCACHE" "$GOCACHE" "$CACHE/go/src"
	local t0=$SECONDS src="$CACHE/go/src/ferretdb-$VERSION"
	# A lock keeps two concurrent CI runs from building into the same cache at once.
	exec 9>"$CACHE/go/.build.lock"
	flock 9
	if [[ -x "$BIN" && "$(cat "$STAMP" 2>/dev/null)" == "$VERSION" ]]; then flock -u 9; return; fi
	log "building FerretDB $VERSION into $GOBIN (first run on this machine takes minutes)"
	# `go install ...@VERSION` builds, but the binary panics at start-up: the published
	# module lacks build/version/version.txt, which the release tooling generates. So we
	# fetch the module, copy it, write that file, and build the copy.
	local dir
	dir="$(go mod download -json "github.com/FerretDB/FerretDB@$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
	[[ -d "$dir" ]] || { log "go mod download gave no module directory"; exit 1; }
	rm -rf "$src"
	cp -R "$dir" "$src"
	chmod -R u+w "$src"
	echo "$VERSION" >"$src/build/version/version.txt"
	(cd "$src" && go build -buildvcs=false -trimpath -o "$BIN" ./cmd/ferretdb) >&2
	echo "$VERSION" >"$STAMP"
	log "built in $((SECONDS - t0)) s"
	flock -u 9
}


start() {
	build
	already_running && return
	rm -rf "$RUN_DIR"
	mkdir -p "$RUN_DIR/data" "$RUN_DIR/state"
	local port
	port="$(free_port)"
	# setsid: the server outlives this script but can be stopped as one process group.
	# --debug-addr=-: its metrics listener defaults to a fixed port (8088), so it is switched off.
	setsid "$BIN" --handler=sqlite --sqlite-url="file:$RUN_DIR/data/" --state-dir="$RUN_DIR/state" \
		--listen-addr="127.0.0.1:$port" --debug-addr=- --telemetry=disable --log-level=warn \
		>"$RUN_DIR/ferretdb.log" 2>&1 </dev/null &
	echo $! >"$RUN_DIR/pid"
	await_ready 150 0.2 "$RUN_DIR/ferretdb.log" "export MONGODB_URI=mongodb://127.0.0.1:$port/" accepts_connections "$port"
}

accepts_connections() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

case "${1:-}" in
	build) build ;;
	start) start ;;
	stop) stop ;;
	env) cat "$RUN_DIR/env" ;;
	*) echo "usage: $0 build|start|stop|env" >&2; exit 2 ;;
esac
