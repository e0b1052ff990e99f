#!/usr/bin/env bash
# A throwaway Redis for running a Qflare cluster by hand (several `npm run serve` instances
# sharing MONGODB_URI and REDIS_URL). The tests do not use this script: the multi-instance
# spec and the unit tests start their own Redis (apps/server/src/test-support/redis-server.ts).
#
#   bash .ci/redis.sh start   # start redis-server on a free loopback port, no persistence, wait
#                             # for PONG, print `export REDIS_URL=...` on stdout (logs go to stderr)
#   bash .ci/redis.sh stop    # stop the server started by `start` and remove its directory
#   bash .ci/redis.sh env     # print the export line of the running server again
#
# Typical use:
#   eval "$(bash .ci/ferretdb.sh start)"; eval "$(bash .ci/redis.sh start)"
#   PORT=3001 npm run serve & PORT=3002 npm run serve &
set -euo pipefail

BIN="${REDIS_SERVER:-/usr/bin/redis-server}"
CLI="${REDIS_CLI:-/usr/bin/redis-cli}"
RUN_DIR="${REDIS_RUN_DIR:-${TMPDIR:-/tmp}/qflare-redis}"

log() { echo "redis.sh: $*" >&2; }
# free_port, stop, already_running, await_ready
source "$(dirname "$0")/daemon.sh"


start() {
	[[ -x "$BIN" ]] || { log "$BIN not found (apt-get install redis-server; .ci/system-deps.sh does it)"; exit 1; }
	[[ -x "$CLI" ]] || { log "$CLI not found (it comes with redis-server: apt-get install redis-server)"; exit 1; }
	already_running && return
	rm -rf "$RUN_DIR"
	mkdir -p "$RUN_DIR/data"
	local port
	port="$(free_port)"
	# setsid: the server outlives this script but can be stopped as one process group.
	# --save '' --appendonly no: nothing is written to disk; a restart starts empty.
	setsid "$BIN" --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$RUN_DIR/data" \
		--logfile '' --loglevel warning \
		>"$RUN_DIR/redis.log" 2>&1 </dev/null &
	echo $! >"$RUN_DIR/pid"
	await_ready 100 0.1 "$RUN_DIR/redis.log" "export REDIS_URL=redis://127.0.0.1:$port" answers_ping "$port"
}

answers_ping() { [[ "$("$CLI" -h 127.0.0.1 -p "$1" ping 2>/dev/null)" == "PONG" ]]; }

case "${1:-}" in
	start) start ;;
	stop) stop ;;
	env) cat "$RUN_DIR/env" ;;
	*) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
