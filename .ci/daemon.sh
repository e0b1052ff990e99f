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
