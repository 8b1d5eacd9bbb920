# test/bench/lib.sh: what the benchmark scripts share (sourced, not run).

# The PostgreSQL to run: PG_BIN if given, else the bindir of the one
# scripts/lib.sh picks (PG_CONFIG, else the newest installed), so the
# benchmarks run on any supported version as the tests do.
if [ -z "${PG_BIN:-}" ]; then
	PG_BIN=$(. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh" && "$PG_CONFIG" --bindir) ||
		{ echo "no PostgreSQL found: set PG_CONFIG" >&2; exit 2; }
fi

# Servers run as "postgres" when the script runs as root (PostgreSQL refuses
# root), else as the user running it.
if [ "$(id -u)" -eq 0 ]; then
	RUN_USER=postgres
	as_user() { runuser -u postgres -- "$@"; }
else
	RUN_USER=$(id -un)
	as_user() { "$@"; }
fi

# a TCP port nobody listens on (the server itself only listens on its socket
# in $TMP, but keep the port unique anyway)
pick_port() {
	local p i
	for i in $(seq 1 50); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"; return
		fi
	done
	echo "no free port found" >&2; exit 1
}

# bench_tmp: a private directory TMP for the throwaway cluster (DATA), owned
# by the user the server runs as.
bench_tmp() {
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/mig_bench.XXXXXX")
	chmod 700 "$TMP"
	if [ "$RUN_USER" = postgres ] && [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$TMP"
	fi
	DATA=$TMP/data
}

# bench_initdb SETTINGS: a throwaway cluster in $DATA listening on a fresh
# $PORT only on its socket in $TMP, migrate_ext preloaded, autovacuum and JIT
# off (they would add noise); SETTINGS (postgresql.conf lines) come on top.
bench_initdb() {
	PORT=$(pick_port)
	echo "== initdb in $TMP (user $RUN_USER, port $PORT)"
	as_user "$PG_BIN/initdb" -D "$DATA" -A trust -U "$RUN_USER" --no-sync >/dev/null
	cat >>"$DATA/postgresql.conf" <<EOF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$TMP'
shared_preload_libraries = 'migrate_ext'
work_mem = 64MB
maintenance_work_mem = 512MB
checkpoint_timeout = 30min
autovacuum = off
jit = off
log_min_messages = warning
$1
EOF
}
