#!/usr/bin/env bash
# test/bench/worker.sh: background-worker backfill and application-latency
# benchmark.
#
# Starts a throwaway PostgreSQL 15 cluster (initdb in a mktemp dir, removed on
# exit), loads migrate_ext and measures, on a table
#
#   accounts (id bigint PRIMARY KEY, balance int, note text)
#
# filled with id 1..N, balance = id % 100000, note = 'note ' || id, and the
# migration (a backfill of a shadow column for every existing row)
#
#   {"operations":[{"alter_column":{"table":"accounts","column":"balance",
#     "type":"bigint","up":"balance * 2","down":"balance / 2"}}]}
#
# 1. Backfill throughput, on ROWS_SMALL and on ROWS_LARGE rows:
#      worker  SELECT mig.start(...) commits; the background worker backfills
#              (batches of migrate_ext.backfill_batch_size rows, each its own
#              transaction); CALL mig.wait('public') from another session.
#              Rate = rows_done / (finished_at - started_at) of the backfill
#              job in mig.jobs (the verdict), and, for information, rows /
#              (time from mig.start's commit to mig.wait's return).
#      update  the baseline: ALTER TABLE accounts ADD COLUMN newcol bigint;
#              then one UPDATE accounts SET newcol = balance * 2 (what the
#              backfill computes), timed with psql's \timing.
#    Each measurement runs on its own copy of one template database
#    (CREATE DATABASE ... TEMPLATE ... STRATEGY FILE_COPY of a table loaded
#    once, VACUUM (FREEZE, ANALYZE)d), so every run starts from the same
#    physical table, followed by a CHECKPOINT.  The two variants alternate
#    (RUNS_* rounds; the verdict uses the ratio of the medians, the median
#    of the per-round ratios is printed too); WAL written and checkpoints
#    started during each timed statement are printed.
# 2. An application workload through a full start -> backfill -> complete
#    cycle on a fresh copy of the ROWS_LARGE table: pgbench, CLIENTS clients,
#    each transaction
#        BEGIN; UPDATE accounts SET note = ... WHERE id = :id;
#               SELECT balance, note FROM accounts WHERE id = :id2; END;
#    through the old version (search_path = public), without retries
#    (--max-tries=1: every error the application would see counts).  The
#    load runs continuously in back-to-back pgbench runs of CHUNK_SECONDS
#    each (so that every run ends cleanly and reports its failures; the gap
#    between two runs is a few milliseconds); per-transaction logs (-l) are
#    cut into three phases by their end time: before (PHASE_SECONDS before
#    mig.start), during (mig.start through mig.wait through mig.complete),
#    after (PHASE_SECONDS after mig.complete).  p50/p99/max latency, tps,
#    failed transactions and aborted clients, WAL written and checkpoints
#    of each phase.  With PROTOCOL=prepared the application's prepared
#    SELECT of balance fails once the column's type changes at complete
#    ("cached plan must not change result type"), which this counts.
#    The worker runs this cycle throttled (CYCLE_BATCH_SIZE rows per batch,
#    CYCLE_BACKFILL_DELAY between batches).  The application commits every
#    transaction synchronously, and its sessions spend about two thirds of
#    their active time waiting for WAL flushes (wait events WALWrite and
#    WALSync, sampled); the backfill writes as much WAL as one UPDATE of the
#    whole table, and every application commit that comes after a batch
#    waits for that batch's WAL to reach the disk as well.  What the
#    application's tail feels is the rate of that WAL, which the delay sets.
#    With FAST_CYCLE=1 the cycle also runs unthrottled on another copy, for
#    information.
#    The baseline of the p99 verdict is the same cycle without a migration:
#    another copy of the table, the same load, the same 2 + PHASE_SECONDS
#    seconds first, then as long as the migration's "during" lasted (run
#    right after the migration's cycle).  A 20 s window is no baseline for a
#    cycle of ten minutes on a shared machine: in one run the cycle without
#    a migration had a p99 of 2.98 ms in its 20 s "before" and 1.71 ms over
#    the 11.5 minutes after it.  The ratio against the migration cycle's
#    own 20 s before is printed too, for information, with the same ratio
#    for the cycle without a migration.
# 3. For information (REFERENCE=1), the same workload on another fresh copy
#    while a client runs the naive backfill instead: UPDATE accounts SET
#    newcol = balance * 2 by id range, BATCH_SIZE rows per transaction, no
#    migration and no trigger; what any unthrottled batched backfill costs
#    the application on this machine.
#
# Targets: worker backfill >= 0.8x the single UPDATE's rate (unthrottled);
# zero failed application transactions; application p99 during the
# (throttled) cycle <= 2x its p99 over the same span of the cycle without a
# migration.  Prints PASS/MISS against them but always exits 0 (unless the
# benchmark itself cannot run).  At the default sizes the whole run takes
# about 40 minutes on a 2-core machine, two thirds of it the throttled cycle
# and its baseline (QUICK=1: about two minutes).
#
# Environment:
#   QUICK=1          a fast sanity run (100 000 / 300 000 rows, 1 run each,
#                    5 s phases); any variable below still overrides it
#   ROWS_SMALL       default 1000000
#   ROWS_LARGE       default 10000000 (567 MB of table, 214 MB of index)
#   RUNS_SMALL       rounds on ROWS_SMALL, default 3 (median)
#   RUNS_LARGE       rounds on ROWS_LARGE, default 3
#   PHASE_SECONDS    length of the before and after phases, default 20
#   CHUNK_SECONDS    length of one pgbench run of the load, default 5
#   CLIENTS, THREADS pgbench -c / -j, default 4 / 2
#   PROTOCOL         pgbench -M, default simple
#   BATCH_SIZE       migrate_ext.backfill_batch_size, default 10000
#   SHARED_BUFFERS   default 256MB;  MAX_WAL_SIZE  default 4GB
#   WAIT_TIMEOUT     timeout of CALL mig.wait, default '30 min'
#   CYCLE_BATCH_SIZE, CYCLE_BACKFILL_DELAY  migrate_ext.backfill_batch_size
#                    and backfill_delay (ms) for the cycle of the p99 verdict,
#                    default 200 rows and 8 ms: the throttle a team that
#                    cares about its p99 sets (the throughput figures and the
#                    unthrottled cycle use BATCH_SIZE and no delay)
#   FAST_CYCLE       1 (default): also run the cycle unthrottled (BATCH_SIZE,
#                    no delay), for information
#   RATE             pgbench -R (transactions/s in all) for the load; default
#                    none: the clients run back to back
#   REFERENCE        1 (default): also run the reference cycle of step 3
#   WAL_WARMUP       1 (default; 0 with QUICK=1): pre-allocate max_wal_size of
#                    WAL segments first, so that no timed statement pays for
#                    creating them
#   THROUGHPUT       1 (default): the throughput rounds of step 1; 0: only
#                    the cycles (their table is still built)
#   KEEP             a directory to copy the pgbench logs (per-transaction,
#                    per phase) and the server log into before cleaning up
#   PG_CONFIG, PG_BIN the PostgreSQL to use (default: as scripts/test.sh
#                    picks it: PG_CONFIG, else the newest installed)
set -euo pipefail

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
	: "${ROWS_SMALL:=100000}" "${ROWS_LARGE:=300000}" "${RUNS_SMALL:=1}" "${RUNS_LARGE:=1}"
	: "${PHASE_SECONDS:=5}" "${CHUNK_SECONDS:=2}" "${WAL_WARMUP:=0}"
fi
ROWS_SMALL=${ROWS_SMALL:-1000000}
ROWS_LARGE=${ROWS_LARGE:-10000000}
RUNS_SMALL=${RUNS_SMALL:-3}
RUNS_LARGE=${RUNS_LARGE:-3}
PHASE_SECONDS=${PHASE_SECONDS:-20}
CHUNK_SECONDS=${CHUNK_SECONDS:-5}
CLIENTS=${CLIENTS:-4}
THREADS=${THREADS:-2}
PROTOCOL=${PROTOCOL:-simple}
BATCH_SIZE=${BATCH_SIZE:-10000}
SHARED_BUFFERS=${SHARED_BUFFERS:-256MB}
MAX_WAL_SIZE=${MAX_WAL_SIZE:-4GB}
WAIT_TIMEOUT=${WAIT_TIMEOUT:-30 min}
CYCLE_BATCH_SIZE=${CYCLE_BATCH_SIZE:-200}
CYCLE_BACKFILL_DELAY=${CYCLE_BACKFILL_DELAY:-8}
FAST_CYCLE=${FAST_CYCLE:-1}
RATE=${RATE:-}
REFERENCE=${REFERENCE:-1}
WAL_WARMUP=${WAL_WARMUP:-1}
THROUGHPUT=${THROUGHPUT:-1}
KEEP=${KEEP:-}
WARMUP_SECONDS=2	# load before the "before" phase, not counted

for v in ROWS_SMALL ROWS_LARGE RUNS_SMALL RUNS_LARGE PHASE_SECONDS CHUNK_SECONDS CLIENTS THREADS BATCH_SIZE CYCLE_BATCH_SIZE; do
	[[ ${!v} =~ ^[0-9]+$ && ${!v} -gt 0 ]] || { echo "$v must be a positive integer (is '${!v}')" >&2; exit 2; }
done
[[ $CYCLE_BACKFILL_DELAY =~ ^[0-9]+$ ]] || { echo "CYCLE_BACKFILL_DELAY must be a number of ms" >&2; exit 2; }
[[ $REFERENCE =~ ^[01]$ ]] || { echo "REFERENCE must be 0 or 1" >&2; exit 2; }
[[ $FAST_CYCLE =~ ^[01]$ ]] || { echo "FAST_CYCLE must be 0 or 1" >&2; exit 2; }
[[ -z $RATE || $RATE =~ ^[0-9]+$ ]] || { echo "RATE must be a number of transactions per second" >&2; exit 2; }
[[ $THROUGHPUT =~ ^[01]$ ]] || { echo "THROUGHPUT must be 0 or 1" >&2; exit 2; }
[[ $WAL_WARMUP =~ ^[01]$ ]] || { echo "WAL_WARMUP must be 0 or 1" >&2; exit 2; }

export LANG=C.UTF-8 LC_ALL=C.UTF-8
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGSERVICE PGOPTIONS PGPASSWORD

# shellcheck source=test/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ -x "$PG_BIN/pgbench" ] || { echo "no pgbench in $PG_BIN" >&2; exit 2; }

bench_tmp
PGB=$TMP/pgbench	# pgbench logs, written by RUN_USER
STARTED=
LOAD_PIDS=

cleanup() {
	local rc=$? d p
	if [ -n "$LOAD_PIDS" ]; then
		for d in "$PGB"/*/; do touch "$d/stop" 2>/dev/null || true; done
		for p in $LOAD_PIDS; do wait "$p" 2>/dev/null || true; done
	fi
	if [ -n "$STARTED" ]; then
		as_user "$PG_BIN/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	if [ -n "$KEEP" ]; then
		mkdir -p "$KEEP" && cp -r "$PGB" "$TMP/server.log" "$KEEP"/ 2>/dev/null || true
	fi
	rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_initdb "max_connections = 50
shared_buffers = $SHARED_BUFFERS
max_wal_size = $MAX_WAL_SIZE
min_wal_size = $MAX_WAL_SIZE
synchronous_commit = on
migrate_ext.backfill_batch_size = $BATCH_SIZE"
as_user "$PG_BIN/pg_ctl" -D "$DATA" -l "$TMP/server.log" -w start >/dev/null
STARTED=1
as_user mkdir "$PGB"

PSQL=(as_user "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$TMP" -p "$PORT" -U "$RUN_USER")
# sql DB ARGS...: psql on database DB
sql() { local db=$1; shift; "${PSQL[@]}" -d "$db" "$@"; }
val() { local db=$1; shift; sql "$db" -At "$@"; }

echo "== $(val postgres -c 'SELECT version()')"
echo "== settings: shared_buffers $SHARED_BUFFERS, max_wal_size $MAX_WAL_SIZE, checkpoint_timeout 30min,"
echo "   synchronous_commit on, autovacuum off, migrate_ext.backfill_batch_size $BATCH_SIZE, $(nproc) CPUs"
loadavg() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown; }
echo "   load average before the run: $(loadavg) (other work on the machine adds noise)"
BENCH_T0=$(date +%s)

MIGRATION='{"operations":[{"alter_column":{"table":"accounts","column":"balance","type":"bigint","up":"balance * 2","down":"balance / 2"}}]}'

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
verdict() { awk "BEGIN { exit !($1) }" && echo PASS || echo MISS; }

# Pre-allocate WAL: without it the first big writes of the run create (and
# zero-fill) new WAL segments while later ones recycle them, which favours
# whatever runs later.  Switch through 1.1 x max_wal_size of segments with
# checkpoints held off (max_wal_size raised meanwhile); the checkpoints
# after it keep max_wal_size of them for reuse (min_wal_size = max_wal_size),
# as every later checkpoint does: each timed statement starts with them.
if [ "$WAL_WARMUP" = 1 ]; then
echo "== warm-up: pre-allocating $MAX_WAL_SIZE of WAL segments"
WARM_T0=$(now)
sql postgres >/dev/null -c "ALTER SYSTEM SET max_wal_size = '1TB'" -c 'SELECT pg_reload_conf()'
sleep 1
sql postgres >/dev/null <<EOF
CREATE TABLE wal_warmup (x int);
DO \$\$
DECLARE
	target numeric := 1.1 * pg_size_bytes('$MAX_WAL_SIZE');
	start pg_lsn := pg_current_wal_lsn();
BEGIN
	WHILE pg_wal_lsn_diff(pg_current_wal_lsn(), start) < target LOOP
		INSERT INTO wal_warmup VALUES (1);
		PERFORM pg_switch_wal();
	END LOOP;
END \$\$;
DROP TABLE wal_warmup;
ALTER SYSTEM RESET max_wal_size;
SELECT pg_reload_conf();
EOF
sleep 1
sql postgres >/dev/null -c 'CHECKPOINT' -c 'CHECKPOINT'
echo "   pg_wal holds $(val postgres -c "SELECT count(*) || ' files, ' || pg_size_pretty(sum(size)) FROM pg_ls_waldir()") after $(calc "$(now) - $WARM_T0" 1) s (max_wal_size $(val postgres -c 'SHOW max_wal_size'))"
fi

PROBLEMS=()
problem() { PROBLEMS+=("$*"); echo "   !! $*"; }

# build_template DB ROWS: the table, loaded once, vacuumed, checkpointed
build_template() {
	local db=$1 n=$2 t0
	t0=$(now)
	sql postgres -c 'SET client_min_messages = warning' -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
	sql "$db" >/dev/null <<EOF
CREATE EXTENSION migrate_ext;
CREATE TABLE public.accounts (id bigint NOT NULL, balance int, note text);
INSERT INTO public.accounts SELECT g, (g % 100000)::int, 'note ' || g FROM generate_series(1, $n) g;
ALTER TABLE public.accounts ADD PRIMARY KEY (id);
VACUUM (FREEZE, ANALYZE) public.accounts;
EOF
	echo "   template $db: $n rows, table $(val "$db" -c "SELECT pg_size_pretty(pg_table_size('public.accounts'))"), index $(val "$db" -c "SELECT pg_size_pretty(pg_indexes_size('public.accounts'))"), built in $(calc "$(now) - $t0" 1) s"
}

# copy_db DB TEMPLATE: a fresh copy of the template (file copy, so the same
# physical table: same pages, hint bits and visibility map), checkpointed
copy_db() {
	sql postgres >/dev/null -c 'SET client_min_messages = warning' -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" \
		-c "CREATE DATABASE $1 TEMPLATE $2 STRATEGY FILE_COPY" \
		-c "ALTER DATABASE $1 SET client_min_messages = warning"
}
drop_db() { sql postgres >/dev/null -c 'SET client_min_messages = warning' -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)"; }

checkpoints() { val postgres -c 'SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter'; }
lsn() { val postgres -c 'SELECT pg_current_wal_lsn()'; }
wal_mb() { val postgres -c "SELECT round(pg_wal_lsn_diff(pg_current_wal_lsn(), '$1') / 1048576)"; }

shadow_column() { val "$1" -c "SELECT attname FROM pg_attribute WHERE attrelid = 'public.accounts'::regclass AND attname LIKE '\_mig\_new\_%' AND NOT attisdropped ORDER BY attnum DESC LIMIT 1"; }

declare -A ALL INFO

# run_update KEY TEMPLATE ROWS: the baseline, one UPDATE of the whole table
run_update() {
	local key=$1 tpl=$2 n=$3 db=bench_run out ms l0 c0 bad
	copy_db $db "$tpl"
	sql $db -c 'ALTER TABLE public.accounts ADD COLUMN newcol bigint' >/dev/null
	sql $db -c 'CHECKPOINT' >/dev/null
	l0=$(lsn); c0=$(checkpoints)
	out=$(sql $db -c 'SET search_path = public' -c '\timing on' -c 'UPDATE accounts SET newcol = balance * 2')
	ms=$(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' <<<"$out" | tail -n 1)
	[ -n "$ms" ] || { echo "no timing for the UPDATE" >&2; exit 1; }
	local wal ck
	wal=$(wal_mb "$l0"); ck=$(( $(checkpoints) - c0 ))
	bad=$(val $db -c 'SELECT count(*) FROM public.accounts WHERE newcol IS DISTINCT FROM balance * 2')
	[ "$bad" = 0 ] || problem "update baseline ($n rows): $bad rows with a wrong newcol"
	ALL[$key.update]="${ALL[$key.update]:-} $(calc "$n / ($ms / 1000)" 0)"
	printf '   %-7s single UPDATE             %9.1f ms  %9.0f rows/s   WAL %5s MB, checkpoints during: %s\n' \
		"$key" "$ms" "$(calc "$n / ($ms / 1000)" 0)" "$wal" "$ck"
	drop_db $db
}

# run_worker KEY TEMPLATE ROWS: mig.start, the worker's backfill, mig.wait
run_worker() {
	local key=$1 tpl=$2 n=$3 db=bench_run l0 c0 t0 t1 t2 out wait_pid job rows secs state attempts err wpid jobs col bad e2e rate
	copy_db $db "$tpl"
	sql $db -c 'CHECKPOINT' >/dev/null
	l0=$(lsn); c0=$(checkpoints)
	t0=$(now)
	sql $db -c "SELECT mig.start('02_balance', '$MIGRATION'::jsonb)" >/dev/null
	t1=$(now)
	if ! out=$(sql $db -At -c 'SELECT pg_backend_pid()' -c "CALL mig.wait('public', '$WAIT_TIMEOUT')" 2>&1); then
		problem "worker ($n rows): CALL mig.wait failed: $(tr '\n' ' ' <<<"$out")"
		sql $db -c 'TABLE mig.jobs' >&2 || true
		ALL[$key.worker]="${ALL[$key.worker]:-} 0"; ALL[$key.e2e]="${ALL[$key.e2e]:-} 0"
		drop_db $db
		return
	fi
	t2=$(now)
	wait_pid=$(head -n 1 <<<"$out")
	local wal ck
	wal=$(wal_mb "$l0"); ck=$(( $(checkpoints) - c0 ))
	job=$(val $db -F ' ' -c "SELECT j.rows_done, extract(epoch FROM j.finished_at - j.started_at), j.state, j.attempts, coalesce(q.worker_pid, 0), coalesce(j.last_error, '-')
		FROM mig.jobs j JOIN mig.job_queue q USING (schema, migration, seq) WHERE j.kind = 'backfill'")
	jobs=$(val $db -c "SELECT string_agg(kind || ':' || state, ' ' ORDER BY seq) FROM mig.jobs")
	read -r rows secs state attempts wpid err <<<"$job"
	[ -n "${rows:-}" ] || { problem "worker ($n rows): no backfill job in mig.jobs (jobs: $jobs)"; drop_db $db; return; }
	[ "$state" = "done" ] || problem "worker ($n rows): backfill job state $state after mig.wait returned"
	[ "$rows" = "$n" ] || problem "worker ($n rows): rows_done $rows, expected $n"
	[ "$attempts" -le 1 ] || problem "worker ($n rows): backfill job took $attempts attempts (last error: $err)"
	if [ "$wpid" = 0 ] || [ "$wpid" = "$wait_pid" ]; then
		problem "worker ($n rows): the backfill did not run in a background worker (worker_pid $wpid, mig.wait's pid $wait_pid)"
	fi
	col=$(shadow_column $db)
	bad=$(val $db -c "SELECT count(*) FROM public.accounts WHERE $col IS DISTINCT FROM balance * 2")
	[ "$bad" = 0 ] || problem "worker ($n rows): $bad rows with a wrong $col after the backfill"
	rate=$(calc "$rows / $secs" 0)
	e2e=$(calc "$n / ($t2 - $t1)" 0)
	ALL[$key.worker]="${ALL[$key.worker]:-} $rate"
	ALL[$key.e2e]="${ALL[$key.e2e]:-} $e2e"
	printf '   %-7s worker backfill (job)     %9.1f ms  %9.0f rows/s   WAL %5s MB, checkpoints during: %s\n' \
		"$key" "$(calc "$secs * 1000" 1)" "$rate" "$wal" "$ck"
	printf '   %-7s   start commit->wait ret  %9.1f ms  %9.0f rows/s   (mig.start itself %.1f ms; jobs: %s)\n' \
		"$key" "$(calc "($t2 - $t1) * 1000" 1)" "$e2e" "$(calc "($t1 - $t0) * 1000" 1)" "$jobs"
	drop_db $db
}

# throughput KEY ROWS RUNS
throughput() {
	local key=$1 n=$2 runs=$3 tpl=bench_tpl_$1 r
	echo "== backfill throughput, $n rows, $runs round(s)"
	build_template "$tpl" "$n"
	for r in $(seq 1 "$runs"); do
		if [ $((r % 2)) = 1 ]; then
			run_update "$key" "$tpl" "$n"; run_worker "$key" "$tpl" "$n"
		else
			run_worker "$key" "$tpl" "$n"; run_update "$key" "$tpl" "$n"
		fi
		local u=${ALL[$key.update]##* } w=${ALL[$key.worker]##* }
		ALL[$key.pair]="${ALL[$key.pair]:-} $(awk "BEGIN { if ($u + 0 == 0) print 0; else printf \"%.2f\", $w / $u }")"
		echo "   round $r: worker / single UPDATE = ${ALL[$key.pair]##* }"
	done
	# shellcheck disable=SC2086
	INFO[$key.pair]=$(median ${ALL[$key.pair]})
	# shellcheck disable=SC2086
	INFO[$key.update]=$(median ${ALL[$key.update]})
	# shellcheck disable=SC2086
	INFO[$key.worker]=$(median ${ALL[$key.worker]})
	# shellcheck disable=SC2086
	INFO[$key.e2e]=$(median ${ALL[$key.e2e]})
}

if [ "$THROUGHPUT" = 1 ]; then
	throughput small "$ROWS_SMALL" "$RUNS_SMALL"
	drop_db bench_tpl_small
	throughput large "$ROWS_LARGE" "$RUNS_LARGE"
else
	echo "== (THROUGHPUT=0: no throughput rounds; the cycle's table only)"
	build_template bench_tpl_large "$ROWS_LARGE"
fi

# ------------------------------------------------------------ the cycle
cat >"$TMP/app.sql" <<'EOF'
\set id random(1, :rows)
\set id2 random(1, :rows)
BEGIN;
UPDATE accounts SET note = 'app ' || :client_id WHERE id = :id;
SELECT balance, note FROM accounts WHERE id = :id2;
END;
EOF
chmod 644 "$TMP/app.sql"

# load_loop DIR DB: the load, back-to-back pgbench runs until DIR/stop exists
load_loop() {
	local dir=$1 db=$2 i=0 cs rc
	while [ ! -e "$dir/stop" ]; do
		i=$((i + 1))
		cs=$(now)
		rc=0
		as_user "$PG_BIN/pgbench" -n -h "$TMP" -p "$PORT" -U "$RUN_USER" \
			-c "$CLIENTS" -j "$THREADS" -T "$CHUNK_SECONDS" -M "$PROTOCOL" ${RATE:+-R "$RATE"} \
			--max-tries=1 --failures-detailed -D rows="$ROWS_LARGE" \
			-f "$TMP/app.sql" -l --log-prefix="$dir/log.$i" \
			"dbname=$db options=-csearch_path=public" \
			>"$dir/run.$i.out" 2>"$dir/run.$i.err" || rc=$?
		echo "$i $cs $(now) $rc" >>"$dir/runs"
	done
}

declare -A PH

# phase DIR NAME FROM TO: statistics of the transactions of DIR's logs that
# ended in [FROM, TO) (end time = epoch + us), into PH[NAME.*]
phase() {
	local dir=$1 name=$2 from=$3 to=$4 cnt failed lat
	lat=$dir/$name.lat
	read -r cnt failed < <(awk -v a="$from" -v b="$to" -v f="$lat" '
		{ t = $5 + $6 / 1e6 }
		t >= a && t < b { if ($3 ~ /^[0-9]+$/) { n++; printf "%.3f\n", $3 / 1000 > f } else fail++ }
		END { printf "%d %d\n", n, fail; if (n) close(f) }' "$dir/all.log")
	touch "$lat"
	sort -g -o "$lat" "$lat"
	pct() { awk -v p="$1" '{ v[NR] = $1 } END { if (NR == 0) { print "nan"; exit } i = int(p * NR + 0.999999); if (i < 1) i = 1; print v[i] }' "$lat"; }
	PH[$name.n]=$cnt
	PH[$name.failed]=$failed
	PH[$name.tps]=$(calc "$cnt / ($to - $from)" 0)
	PH[$name.p50]=$(pct 0.50)
	PH[$name.p99]=$(pct 0.99)
	PH[$name.max]=$(pct 1)
	# pgbench runs overlapping the phase: their failures and aborted clients
	local runs_failed=0 aborted=0 i cs ce rc f a
	while read -r i cs ce rc; do
		if awk "BEGIN { exit !($cs < $to && $ce > $from) }"; then
			f=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$dir/run.$i.out")
			a=$(grep -c 'aborted in command' "$dir/run.$i.err" || true)
			runs_failed=$((runs_failed + ${f:-0})); aborted=$((aborted + a))
		fi
	done <"$dir/runs"
	PH[$name.runs_failed]=$runs_failed
	PH[$name.aborted]=$aborted
}

# cycle MODE DB: the load on DB; after WARMUP_SECONDS + PHASE_SECONDS the
# migration (MODE mig: mig.start, CALL mig.wait, mig.complete) or the
# reference (MODE ref: a client-side batched UPDATE of newcol by id range,
# BATCH_SIZE rows per transaction, no trigger); PHASE_SECONDS more; stop.
# Prints the phases and leaves their statistics in PH[MODE.PHASE.*].
cycle() {
	local mode=$1 db=$2 dir=$PGB/$1 pid out ok=1 t0 t1 ts tw t2 t3 l0 l1 l2 l3 c0 c1 c2 c3 job
	as_user mkdir "$dir"
	sql "$db" -c 'CHECKPOINT' >/dev/null
	load_loop "$dir" "$db" &
	pid=$!
	LOAD_PIDS="$LOAD_PIDS $pid"
	sleep "$WARMUP_SECONDS"
	t0=$(now); l0=$(lsn); c0=$(checkpoints)
	sleep "$PHASE_SECONDS"
	t1=$(now); l1=$(lsn); c1=$(checkpoints)
	if [ "$mode" = null ]; then
		# no migration: the load goes on for as long as the migration's
		# "during" lasted
		ts=$t1
		sleep "$NULL_SECONDS"
		tw=$(now)
	elif [ "$mode" != ref ]; then
		if ! out=$(sql "$db" -c "SELECT mig.start('02_balance', '$MIGRATION'::jsonb)" 2>&1); then
			problem "cycle: mig.start failed: $(tr '\n' ' ' <<<"$out")"; ok=0
		fi
		ts=$(now)
		if [ $ok = 1 ] && ! out=$(sql "$db" -c "CALL mig.wait('public', '$WAIT_TIMEOUT')" 2>&1); then
			problem "cycle: CALL mig.wait failed: $(tr '\n' ' ' <<<"$out")"; ok=0
			sql "$db" -c 'TABLE mig.jobs' >&2 || true
		fi
		tw=$(now)
		job=
		if [ $ok = 1 ]; then
			job=$(val "$db" -F ' ' -c "SELECT rows_done, extract(epoch FROM finished_at - started_at), state, attempts FROM mig.jobs WHERE kind = 'backfill'")
			if ! out=$(sql "$db" -c 'SELECT mig.complete()' 2>&1); then
				problem "cycle: mig.complete failed: $(tr '\n' ' ' <<<"$out")"; ok=0
			fi
		fi
	else
		ts=$t1
		if ! out=$(sql "$db" -c "DO \$\$ DECLARE lo bigint := 1; BEGIN
				WHILE lo <= $ROWS_LARGE LOOP
					UPDATE accounts SET newcol = balance * 2 WHERE id >= lo AND id < lo + $BATCH_SIZE;
					COMMIT;
					lo := lo + $BATCH_SIZE;
				END LOOP; END \$\$" 2>&1); then
			problem "reference cycle: the batched UPDATE failed: $(tr '\n' ' ' <<<"$out")"; ok=0
		fi
		tw=$(now)
	fi
	t2=$(now); l2=$(lsn); c2=$(checkpoints)
	INFO[$mode.secs]=$(calc "$t2 - $t1")
	sleep "$PHASE_SECONDS"
	t3=$(now); l3=$(lsn); c3=$(checkpoints)
	touch "$dir/stop"
	wait "$pid" || true
	LOAD_PIDS=${LOAD_PIDS/ $pid/}

	if [ "$mode" = null ]; then
		printf '   no migration: the load alone for %.2f s\n' "$(calc "$t2 - $t1")"
	elif [ "$mode" != ref ]; then
		[ "$mode" != mig ] || CYCLE_OK=$ok
		printf '   mig.start %.2f s, backfill (start commit -> wait return) %.2f s, mig.complete %.2f s: during = %.2f s\n' \
			"$(calc "$ts - $t1")" "$(calc "$tw - $ts")" "$(calc "$t2 - $tw")" "$(calc "$t2 - $t1")"
		if [ -n "$job" ]; then
			local c_rows c_secs c_state c_attempts
			read -r c_rows c_secs c_state c_attempts <<<"$job"
			printf '   backfill job under load: %s rows in %.2f s = %s rows/s (state %s, attempts %s; rows the\n' \
				"$c_rows" "$c_secs" "$(calc "$c_rows / $c_secs" 0)" "$c_state" "$c_attempts"
			echo "   application updated after mig.start already have the new column and are not counted)"
			[ "$c_state" = "done" ] || problem "cycle: backfill job state $c_state after mig.wait returned"
			INFO[$mode.rate]=$(calc "$c_rows / $c_secs" 0)
		fi
		if [ $ok = 1 ]; then
			local ctype bad
			ctype=$(val "$db" -c "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'public.accounts'::regclass AND attname = 'balance'")
			bad=$(val "$db" -c 'SELECT count(*) FROM public.accounts WHERE balance IS DISTINCT FROM (id % 100000) * 2')
			echo "   after complete: accounts.balance is $ctype, rows with balance <> (id % 100000) * 2: $bad"
			[ "$ctype" = bigint ] || problem "cycle: balance is $ctype after complete, expected bigint"
			[ "$bad" = 0 ] || problem "cycle: $bad rows with a wrong balance after complete"
		fi
	else
		printf '   batched UPDATE (%s rows per transaction, by id range) %.2f s = %s rows/s\n' \
			"$BATCH_SIZE" "$(calc "$tw - $ts")" "$(calc "$ROWS_LARGE / ($tw - $ts)" 0)"
		INFO[ref.rate]=$(calc "$ROWS_LARGE / ($tw - $ts)" 0)
	fi

	cat "$dir"/log.* >"$dir/all.log" 2>/dev/null || : >"$dir/all.log"
	phase "$dir" "$mode.before" "$t0" "$t1"
	phase "$dir" "$mode.during" "$t1" "$t2"
	phase "$dir" "$mode.after" "$t2" "$t3"
	local names="before during after"
	if [ "$mode" = mig ] || [ "$mode" = fast ]; then
		phase "$dir" "$mode.d_start" "$t1" "$ts"
		phase "$dir" "$mode.d_backfill" "$ts" "$tw"
		phase "$dir" "$mode.d_complete" "$tw" "$t2"
		names="before during d_start d_backfill d_complete after"
	fi
	echo
	printf '   %-22s %8s %7s %9s %9s %9s %7s %7s %8s %5s\n' phase transactions tps 'p50 ms' 'p99 ms' 'max ms' failed aborted 'WAL MB' ckpts
	local p label wal ck
	for p in $names; do
		label=$p wal=- ck=-
		case $p in
			before) wal=$(val postgres -c "SELECT round(pg_wal_lsn_diff('$l1', '$l0') / 1048576)"); ck=$((c1 - c0));;
			during) wal=$(val postgres -c "SELECT round(pg_wal_lsn_diff('$l2', '$l1') / 1048576)"); ck=$((c2 - c1));;
			after) wal=$(val postgres -c "SELECT round(pg_wal_lsn_diff('$l3', '$l2') / 1048576)"); ck=$((c3 - c2));;
			d_start) label='  mig.start';; d_backfill) label='  backfill (wait)';; d_complete) label='  mig.complete';;
		esac
		printf '   %-22s %8s %7s %9s %9s %9s %7s %7s %8s %5s\n' "$label" "${PH[$mode.$p.n]}" "${PH[$mode.$p.tps]}" \
			"${PH[$mode.$p.p50]}" "${PH[$mode.$p.p99]}" "${PH[$mode.$p.max]}" "${PH[$mode.$p.failed]}" "${PH[$mode.$p.aborted]}" "$wal" "$ck"
	done
	echo "   (failed: transactions logged as failed; aborted: clients that aborted on an error in the pgbench runs"
	echo "    overlapping the phase; pgbench's own failed count over those runs: before ${PH[$mode.before.runs_failed]},"
	echo "    during ${PH[$mode.during.runs_failed]}, after ${PH[$mode.after.runs_failed]}; ckpts: checkpoints started in the phase)"
	echo "   $(wc -l <"$dir/runs") pgbench runs; exit codes other than 0: $(awk '$4 != 0 { printf "run %s: %s  ", $1, $4; n++ } END { if (!n) printf "none" }' "$dir/runs")"
	if cat "$dir"/run.*.err 2>/dev/null | grep -q .; then
		echo "   pgbench messages (count, message):"
		cat "$dir"/run.*.err | grep -v '^$' | sed 's/client [0-9]* /client N /g' |
			sort | uniq -c | sort -rn | head -20 | sed 's/^/     /'
	fi
	# the total over the three phases, each pgbench run counted once: failed
	# transactions (logged, or pgbench's count if higher) + aborted clients
	local failed
	phase "$dir" "$mode.all" "$t0" "$t3"
	failed=${PH[$mode.all.failed]}
	[ "${PH[$mode.all.runs_failed]}" -le "$failed" ] || failed=${PH[$mode.all.runs_failed]}
	INFO[$mode.failed]=$((failed + ${PH[$mode.all.aborted]}))
	echo "   failed application transactions + aborted clients over the three phases: ${INFO[$mode.failed]}"
}

echo "== application workload through start -> backfill -> complete, $ROWS_LARGE rows"
echo "   pgbench -c $CLIENTS -j $THREADS -M $PROTOCOL --max-tries=1, runs of $CHUNK_SECONDS s; phases of $PHASE_SECONDS s before and after"
CYCLE_OK=0
copy_db bench_cycle bench_tpl_large
copy_db bench_null bench_tpl_large
[ "$FAST_CYCLE" = 0 ] || copy_db bench_fast bench_tpl_large
if [ "$REFERENCE" = 1 ]; then
	copy_db bench_ref bench_tpl_large
	sql bench_ref -c 'ALTER TABLE public.accounts ADD COLUMN newcol bigint' >/dev/null
fi
drop_db bench_tpl_large
# throttle BATCH DELAY: the worker's settings for the next cycle (it reads
# them between batches)
throttle() {
	sql postgres >/dev/null -c "ALTER SYSTEM SET migrate_ext.backfill_batch_size = $1" \
		-c "ALTER SYSTEM SET migrate_ext.backfill_delay = $2" -c 'SELECT pg_reload_conf()'
}
echo "   throttled: migrate_ext.backfill_batch_size $CYCLE_BATCH_SIZE, migrate_ext.backfill_delay $CYCLE_BACKFILL_DELAY ms"
throttle "$CYCLE_BATCH_SIZE" "$CYCLE_BACKFILL_DELAY"
cycle mig bench_cycle
drop_db bench_cycle
throttle "$BATCH_SIZE" 0
echo "== the baseline: the same workload on another copy of the table, no migration, for as long"
NULL_SECONDS=${INFO[mig.secs]}
cycle null bench_null
drop_db bench_null
if [ "$FAST_CYCLE" = 1 ]; then
	echo "== (info) the same cycle unthrottled: migrate_ext.backfill_batch_size $BATCH_SIZE, no delay"
	cycle fast bench_fast
	drop_db bench_fast
fi
if [ "$REFERENCE" = 1 ]; then
	echo "== reference (info): the same workload through a client-side batched UPDATE accounts SET newcol = balance * 2"
	echo "   (no migration, no trigger; $BATCH_SIZE rows per transaction by id range, unthrottled), $ROWS_LARGE rows"
	cycle ref bench_ref
	drop_db bench_ref
fi

SERVER_ERRORS=$(grep -c 'ERROR\|FATAL\|PANIC' "$TMP/server.log" || true)
if [ "$SERVER_ERRORS" -gt 0 ]; then
	echo "   server log: $SERVER_ERRORS ERROR/FATAL/PANIC lines; first ones:"
	grep 'ERROR\|FATAL\|PANIC' "$TMP/server.log" | head -10 | sed 's/^/     /'
fi

# ---------------------------------------------------------------- report
ratio() { awk "BEGIN { if ($2 + 0 == 0) print \"-\"; else printf \"%.2f\", $1 / $2 }"; }
ws=${INFO[small.worker]:-0} us=${INFO[small.update]:-0} es=${INFO[small.e2e]:-0}
wl=${INFO[large.worker]:-0} ul=${INFO[large.update]:-0} el=${INFO[large.e2e]:-0}
rs=$(ratio "$ws" "$us"); rl=$(ratio "$wl" "$ul")
res=$(ratio "$es" "$us"); rel=$(ratio "$el" "$ul")
v_s=-; v_l=-
if [ "$THROUGHPUT" = 1 ]; then
	v_s=$(verdict "\"$rs\" != \"-\" && $rs >= 0.8"); v_l=$(verdict "\"$rl\" != \"-\" && $rl >= 0.8")
fi
p99r=$(ratio "${PH[mig.during.p99]}" "${PH[null.during.p99]}")
v_f=$( [ "${INFO[mig.failed]}" = 0 ] && [ "${INFO[fast.failed]:-0}" = 0 ] && [ "$CYCLE_OK" = 1 ] && echo PASS || echo MISS)
v_p=$(verdict "\"$p99r\" != \"-\" && $p99r <= 2")
[ "$CYCLE_OK" = 1 ] || v_p=MISS

echo
echo "   load average at the end: $(loadavg); whole run $(( $(date +%s) - BENCH_T0 )) s"
echo
echo "== results (rates: median of $RUNS_SMALL run(s) on $ROWS_SMALL rows, $RUNS_LARGE on $ROWS_LARGE rows)"
echo
printf '  %-46s %-9s %-22s %-6s %-7s %s\n' metric value baseline ratio target verdict
row() { printf '  %-46s %-9s %-22s %-6s %-7s %s\n' "$@"; }
if [ "$THROUGHPUT" = 1 ]; then
	row "worker backfill rows/s, $ROWS_SMALL rows (job)" "$ws" "1 UPDATE $us" "$rs" ">= 0.8" "$v_s"
	row "  start commit -> wait return (info)" "$es" "1 UPDATE $us" "$res" "-" "-"
	row "  median of per-round ratios (info)" "-" "-" "${INFO[small.pair]:--}" "-" "-"
	row "worker backfill rows/s, $ROWS_LARGE rows (job)" "$wl" "1 UPDATE $ul" "$rl" ">= 0.8" "$v_l"
	row "  start commit -> wait return (info)" "$el" "1 UPDATE $ul" "$rel" "-" "-"
	row "  median of per-round ratios (info)" "-" "-" "${INFO[large.pair]:--}" "-" "-"
fi
row "failed app transactions (before+during+after)" "${INFO[mig.failed]}" "-" "-" "0" "$v_f"
row "app p99 ms during the cycle" "${PH[mig.during.p99]}" "no migration ${PH[null.during.p99]}" "$p99r" "<= 2" "$v_p"
row "  against its own 20 s before (info)" "${PH[mig.during.p99]}" "before ${PH[mig.before.p99]}" "$(ratio "${PH[mig.during.p99]}" "${PH[mig.before.p99]}")" "-" "-"
row "  no migration: its p99 against its before (info)" "${PH[null.during.p99]}" "before ${PH[null.before.p99]}" "$(ratio "${PH[null.during.p99]}" "${PH[null.before.p99]}")" "-" "-"
row "app p50 ms during the cycle (info)" "${PH[mig.during.p50]}" "no migration ${PH[null.during.p50]}" "$(ratio "${PH[mig.during.p50]}" "${PH[null.during.p50]}")" "-" "-"
row "app p99 ms after the cycle (info)" "${PH[mig.after.p99]}" "before ${PH[mig.before.p99]}" "$(ratio "${PH[mig.after.p99]}" "${PH[mig.before.p99]}")" "-" "-"
row "app tps during the cycle (info)" "${PH[mig.during.tps]}" "no migration ${PH[null.during.tps]}" "$(ratio "${PH[mig.during.tps]}" "${PH[null.during.tps]}")" "-" "-"
row "failed app transactions, no migration (info)" "${INFO[null.failed]}" "-" "-" "-" "-"
row "backfill rows/s under load, throttled (info)" "${INFO[mig.rate]:--}" "-" "-" "-" "-"
if [ "$FAST_CYCLE" = 1 ]; then
	row "unthrottled cycle: app p99 ms (info)" "${PH[fast.during.p99]}" "before ${PH[fast.before.p99]}" "$(ratio "${PH[fast.during.p99]}" "${PH[fast.before.p99]}")" "(info)" "-"
	row "unthrottled cycle: app tps (info)" "${PH[fast.during.tps]}" "before ${PH[fast.before.tps]}" "$(ratio "${PH[fast.during.tps]}" "${PH[fast.before.tps]}")" "(info)" "-"
	row "unthrottled cycle: failed app transactions" "${INFO[fast.failed]}" "-" "-" "(info)" "-"
	row "unthrottled: backfill rows/s under load" "${INFO[fast.rate]:--}" "-" "-" "(info)" "-"
fi
if [ "$REFERENCE" = 1 ]; then
	row "reference: app p99 ms during batched UPDATE" "${PH[ref.during.p99]}" "before ${PH[ref.before.p99]}" "$(ratio "${PH[ref.during.p99]}" "${PH[ref.before.p99]}")" "(info)" "-"
	row "reference: app tps during batched UPDATE" "${PH[ref.during.tps]}" "before ${PH[ref.before.tps]}" "$(ratio "${PH[ref.during.tps]}" "${PH[ref.before.tps]}")" "(info)" "-"
	row "reference: failed app transactions" "${INFO[ref.failed]}" "-" "-" "(info)" "-"
	row "backfill rows/s under load: worker vs batched" "${INFO[fast.rate]:--}" "batched ${INFO[ref.rate]:--}" "$(ratio "${INFO[fast.rate]:-0}" "${INFO[ref.rate]:-0}")" "(info)" "-"
fi
if [ ${#PROBLEMS[@]} -gt 0 ]; then
	echo
	echo "== problems"
	printf '  - %s\n' "${PROBLEMS[@]}"
fi
exit 0
