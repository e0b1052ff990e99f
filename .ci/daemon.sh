# Shared by the .ci scripts that start a throwaway server (ferretdb.sh, redis.sh); sourced, not run.
# The caller sets RUN_DIR and defines log().

free_port() {
	node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# Stops the process group started under setsid (pid in $RUN_DIR/pid) and removes $RUN_DIR.
stop() {
	if [[ -f "$RUN_DIR/pid" ]]; then
		local pid
		pid="$(cat "$RUN_DIR/pid")"
		kill -TERM "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "-$pid" 2>/dev/null || true
		log "stopped (pid $pid)"
	fi
	rm -rf "$RUN_DIR"
}

# True (and prints the export line again) when the server of $RUN_DIR is already running.
already_running() {
	if [[ -f "$RUN_DIR/pid" ]] && kill -0 "$(cat "$RUN_DIR/pid")" 2>/dev/null; then
		log "already running (pid $(cat "$RUN_DIR/pid"))"
		cat "$RUN_DIR/env"
		return 0
	fi
	return 1
}

# await_ready TRIES INTERVAL LOG ENV_LINE PROBE...: runs PROBE until it succeeds, at most TRIES
# times INTERVAL seconds apart, while the process of $RUN_DIR/pid lives; then writes ENV_LINE to
# $RUN_DIR/env and prints it. Exits 1 with the tail of LOG when the process dies or never answers.
await_ready() {
	local tries=$1 interval=$2 logfile=$3 env_line=$4
	shift 4
	for _ in $(seq 1 "$tries"); do
		if ! kill -0 "$(cat "$RUN_DIR/pid")" 2>/dev/null; then
			log "exited during start-up; log follows"; tail -n 40 "$logfile" >&2; rm -rf "$RUN_DIR"; exit 1
		fi
		if "$@"; then
			echo "$env_line" >"$RUN_DIR/env"
			log "ready: $env_line (pid $(cat "$RUN_DIR/pid"), dir $RUN_DIR)"
			cat "$RUN_DIR/env"
			return
		fi
		sleep "$interval"
	done
	log "did not answer within $(awk "BEGIN { print $tries * $interval }") s; log follows"; tail -n 40 "$logfile" >&2
	stop; exit 1
}
