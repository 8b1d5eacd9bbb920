#!/usr/bin/env bash
# test/bench/dual_write.sh [rows]: dual-write trigger and backfill benchmark.
#
# Starts a throwaway PostgreSQL 15 cluster (initdb in a mktemp dir, removed on
# exit), loads migrate_ext and measures, each run on a fresh table
# users(id serial pk, name text, n int) of N rows (default 1 000 000):
#
#   a   UPDATE users SET n = n + 1, no trigger                  (baseline)
#   a2  the same with an extra nullable text column, no trigger (info only)
#   b   the same with migrate_ext's dual-write trigger: migration
#       add_column shout, up "upper(name)", started with mig.start, UPDATE
#       through the old version (search_path = public)
#   c   the same with PL/pgSQL triggers written like pgroll's template
#       (reference §2.6): an up trigger filling _pgroll_new_shout and a down
#       trigger, each declaring one %TYPE variable per column from NEW and
#       comparing current_setting('search_path') with the new version schema
#   c1  as c with the up trigger only (what pgroll installs for an add_column
#       without down; info only)
#   e   the floor of any BEFORE UPDATE row trigger (info): core's C trigger
#       suppress_redundant_updates_trigger(), which computes nothing, on the
#       table with the extra column.  PostgreSQL locks every row before it
#       calls a BEFORE UPDATE row trigger (one more WAL record per row).
#   f   the floor of the data written (info): no trigger, and the UPDATE
#       itself also sets the extra column to upper(name), so the rows end up
#       as (b) leaves them
#   d   CALL mig.backfill('public') after mig.start on fresh data, vs one
#       UPDATE users SET <new column> = upper(name) on an identical table
#
# Every timed statement runs RUNS times (default 3, in interleaved rounds
# after one discarded warm-up UPDATE), each on freshly built
# data after VACUUM (FREEZE, ANALYZE) and CHECKPOINT; the median is reported.
# Times are psql's \timing (client round trip of that one statement).
# Prints PASS/MISS against the targets but always exits 0.
#
# Environment: RUNS (default 3), PG_CONFIG or PG_BIN (the PostgreSQL to use;
# default: as scripts/test.sh picks it).
set -euo pipefail

ROWS=${1:-1000000}
RUNS=${RUNS:-3}
[[ $ROWS =~ ^[0-9]+$ && $ROWS -gt 0 ]] || { echo "usage: $0 [rows]" >&2; exit 2; }

export LANG=C.UTF-8 LC_ALL=C.UTF-8
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGSERVICE PGOPTIONS PGPASSWORD

# shellcheck source=test/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_tmp
STARTED=

cleanup() {
	local rc=$?
	if [ -n "$STARTED" ]; then
		as_user "$PG_BIN/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$TMP"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_initdb "shared_buffers = 512MB
max_wal_size = 4GB
min_wal_size = 4GB
synchronous_commit = off"
as_user "$PG_BIN/pg_ctl" -D "$DATA" -l "$TMP/server.log" -w start >/dev/null
STARTED=1

PSQL=(as_user "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$TMP" -p "$PORT" -U "$RUN_USER")
"${PSQL[@]}" -d postgres -c 'CREATE DATABASE bench' >/dev/null
PSQL+=(-d bench)
"${PSQL[@]}" -c 'ALTER DATABASE bench SET client_min_messages = warning' >/dev/null
"${PSQL[@]}" -c 'CREATE EXTENSION migrate_ext' >/dev/null
echo "== $("${PSQL[@]}" -At -c 'SELECT version()')"
echo "== $ROWS rows, $RUNS runs per figure (median)"

MIGRATION='{"operations":[{"add_column":{"table":"users","up":"upper(name)","column":{"name":"shout","type":"text","nullable":true}}}]}'
NEW_VERSION=public_02_shout

sql() { "${PSQL[@]}" "$@"; }

# fresh table users with $ROWS rows (any migration of an earlier run rolled
# back first)
fresh_table() {
	sql >/dev/null <<EOF
SELECT mig.rollback('public') FROM mig.status('public') WHERE status = 'In progress';
DROP TABLE IF EXISTS public.users CASCADE;
DROP FUNCTION IF EXISTS public._pgroll_trigger_users_shout() CASCADE;
DROP FUNCTION IF EXISTS public._pgroll_trigger_users__pgroll_new_shout() CASCADE;
CREATE TABLE public.users (id serial PRIMARY KEY, name text, n int);
INSERT INTO public.users (name, n) SELECT 'user' || g, g FROM generate_series(1, $ROWS) g;
EOF
}

# settle: same physical state before every timed statement
settle() {
	sql >/dev/null <<'EOF'
VACUUM (FREEZE, ANALYZE) public.users;
CHECKPOINT;
EOF
}

# start_jobs = off: the background worker must not backfill while an UPDATE
# is timed (the backfill is measured on its own, with CALL mig.backfill)
start_migration() {
	sql >/dev/null -c 'SET migrate_ext.start_jobs = off' \
		-c "SELECT mig.start('02_shout', '$MIGRATION'::jsonb)"
}

# pgroll's trigger template (reference §2.6), for table users, new column
# shout (physical _pgroll_new_shout), up "upper(name)"; the down trigger
# (active only when search_path is the new version) writes name from shout.
install_pgroll_triggers() {
	local with_down=$1
	sql >/dev/null <<EOF
ALTER TABLE public.users ADD COLUMN _pgroll_new_shout text;

CREATE OR REPLACE FUNCTION _pgroll_trigger_users__pgroll_new_shout() RETURNS TRIGGER
LANGUAGE PLPGSQL AS \$\$
DECLARE
  "id" "public"."users"."id"%TYPE := NEW."id";
  "name" "public"."users"."name"%TYPE := NEW."name";
  "n" "public"."users"."n"%TYPE := NEW."n";
  latest_schema text;
  search_path text;
BEGIN
  SELECT current_setting INTO search_path FROM current_setting('search_path');
  IF search_path <> '$NEW_VERSION' THEN
    NEW."_pgroll_new_shout" = (upper(name));
  END IF;
  RETURN NEW;
END; \$\$;
CREATE OR REPLACE TRIGGER _pgroll_trigger_users__pgroll_new_shout
  BEFORE UPDATE OR INSERT ON "public"."users"
  FOR EACH ROW EXECUTE PROCEDURE _pgroll_trigger_users__pgroll_new_shout();
EOF
	if [ "$with_down" = 1 ]; then
		sql >/dev/null <<EOF
CREATE OR REPLACE FUNCTION _pgroll_trigger_users_shout() RETURNS TRIGGER
LANGUAGE PLPGSQL AS \$\$
DECLARE
  "id" "public"."users"."id"%TYPE := NEW."id";
  "name" "public"."users"."name"%TYPE := NEW."name";
  "n" "public"."users"."n"%TYPE := NEW."n";
  "shout" "public"."users"."_pgroll_new_shout"%TYPE := NEW."_pgroll_new_shout";
  latest_schema text;
  search_path text;
BEGIN
  SELECT current_setting INTO search_path FROM current_setting('search_path');
  IF search_path = '$NEW_VERSION' THEN
    NEW."name" = (lower(shout));
  END IF;
  RETURN NEW;
END; \$\$;
CREATE OR REPLACE TRIGGER _pgroll_trigger_users_shout
  BEFORE UPDATE OR INSERT ON "public"."users"
  FOR EACH ROW EXECUTE PROCEDURE _pgroll_trigger_users_shout();
EOF
	fi
}

# timed STMT: run STMT with search_path = public, print its time in ms
timed() {
	local out
	out=$(sql -c 'SET search_path = public' -c '\timing on' -c "$1")
	sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' <<<"$out" | tail -n 1
}

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

declare -A T ALL LABEL
one_run() {	# one_run KEY SETUP-FUNCTION STATEMENT: time STATEMENT once, on fresh data
	local key=$1 setup=$2 stmt=$3 ms
	fresh_table
	$setup
	settle
	ms=$(timed "$stmt")
	[ -n "$ms" ] || { echo "no timing for $key" >&2; exit 1; }
	ALL[$key]="${ALL[$key]:-}${ALL[$key]:+ }$ms"
}
# measure "KEY|SETUP|STATEMENT|LABEL"...: RUNS rounds, each running every
# variant once (interleaved, so drift of the machine hits all of them alike)
measure() {
	local spec key setup stmt label r
	for r in $(seq 1 "$RUNS"); do
		for spec in "$@"; do
			IFS='|' read -r key setup stmt label <<<"$spec"
			LABEL[$key]=$label
			one_run "$key" "$setup" "$stmt"
		done
	done
	for spec in "$@"; do
		IFS='|' read -r key _ <<<"$spec"
		# shellcheck disable=SC2086
		T[$key]=$(median ${ALL[$key]})
		printf '   %-4s %-50s runs: %s ms -> median %s ms\n' "$key" "${LABEL[$key]}" "${ALL[$key]}" "${T[$key]}"
	done
}

setup_a() { :; }
setup_a2() { sql >/dev/null -c 'ALTER TABLE public.users ADD COLUMN _pgroll_new_shout text'; }
setup_b() { start_migration; }
setup_c() { install_pgroll_triggers 1; }
setup_c1() { install_pgroll_triggers 0; }
setup_e() {
	sql >/dev/null <<'EOF'
ALTER TABLE public.users ADD COLUMN _pgroll_new_shout text;
CREATE TRIGGER z_noop BEFORE UPDATE ON public.users
  FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();
EOF
}
setup_d_update() { sql >/dev/null -c 'ALTER TABLE public.users ADD COLUMN _mig_new_shout text'; }

UPD='UPDATE users SET n = n + 1'
echo "== warm-up (one discarded UPDATE, so WAL segments exist for every variant)"
one_run warmup setup_a "$UPD"
echo "== bulk UPDATE"
measure "a|setup_a|$UPD|no trigger (baseline)" \
	"a2|setup_a2|$UPD|extra NULL column, no trigger (info)" \
	"b|setup_b|$UPD|migrate_ext dual-write trigger, old version" \
	"c|setup_c|$UPD|pgroll-style PL/pgSQL up + down triggers" \
	"c1|setup_c1|$UPD|pgroll-style PL/pgSQL up trigger only (info)" \
	"e|setup_e|$UPD|core's no-op C trigger, extra column (info)" \
	"f|setup_a2|UPDATE users SET n = n + 1, _pgroll_new_shout = upper(name)|no trigger, UPDATE sets the column too (info)"

# sanity: the triggers really computed the new column
check_b() {
	fresh_table; start_migration; settle
	sql -c 'SET search_path = public' -c "$UPD" >/dev/null
	sql -At -c "SELECT count(*) FROM public.users WHERE _mig_new_shout IS DISTINCT FROM upper(name)"
}
BAD_B=$(check_b)
check_c() {
	fresh_table; install_pgroll_triggers 1; settle
	sql -c 'SET search_path = public' -c "$UPD" >/dev/null
	sql -At -c "SELECT count(*) FROM public.users WHERE _pgroll_new_shout IS DISTINCT FROM upper(name)"
}
BAD_C=$(check_c)

echo "== backfill"
measure "d_bf|setup_b|CALL mig.backfill('public')|CALL mig.backfill('public'), default batch size" \
	"d_up|setup_d_update|UPDATE users SET _mig_new_shout = upper(name)|single UPDATE of the new column"
# the last run of the loop was d_up; check a backfill's result separately
fresh_table; start_migration; settle
sql -c "CALL mig.backfill('public')" >/dev/null
BF_ROWS=$(sql -At -c "SELECT rows_done FROM mig.jobs WHERE schema = 'public' AND kind = 'backfill'")
BF_LEFT=$(sql -At -c "SELECT count(*) FROM public.users WHERE _mig_new_shout IS DISTINCT FROM upper(name)")

# ---------------------------------------------------------------- report
calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }
verdict() { awk "BEGIN { exit !($1) }" && echo PASS || echo MISS; }

N=$ROWS
ta=${T[a]} tb=${T[b]} tc=${T[c]} tc1=${T[c1]} ta2=${T[a2]}
cost_b=$(calc "($tb - $ta) * 1e6 / $N" 1)	# ns per row
cost_c=$(calc "($tc - $ta) * 1e6 / $N" 1)
cost_c1=$(calc "($tc1 - $ta) * 1e6 / $N" 1)
cost_a2=$(calc "($ta2 - $ta) * 1e6 / $N" 1)
ratio_c=$(awk "BEGIN { d = $tb - $ta; if (d <= 0) print \"inf\"; else printf \"%.2f\", ($tc - $ta) / d }")
ratio_c1=$(awk "BEGIN { d = $tb - $ta; if (d <= 0) print \"inf\"; else printf \"%.2f\", ($tc1 - $ta) / d }")
ovh_b=$(calc "($tb / $ta - 1) * 100" 1)
ovh_c=$(calc "($tc / $ta - 1) * 100" 1)
rate_bf=$(calc "$N / (${T[d_bf]} / 1000)" 0)
rate_up=$(calc "$N / (${T[d_up]} / 1000)" 0)
ratio_bf=$(calc "$rate_bf / $rate_up" 2)

v1=$(verdict "\"$ratio_c\" == \"inf\" || $ratio_c >= 3")
[ "$ratio_c" = inf ] && ratio_c="inf (b not measurably above a) "
v2=$(verdict "$ovh_b <= 15")
v3=$(verdict "$ratio_bf >= 0.8")

cat <<EOF

== results: $N rows, median of $RUNS runs (times in ms, costs in ns/row)

  bulk UPDATE users SET n = n + 1            time ms    rows/s
    (a)  no trigger (baseline)              $(printf '%9.1f %9.0f' "$ta" "$(calc "$N/($ta/1000)" 0)")
    (a2) extra NULL column, no trigger      $(printf '%9.1f %9.0f' "$ta2" "$(calc "$N/($ta2/1000)" 0)")
    (b)  migrate_ext trigger                $(printf '%9.1f %9.0f' "$tb" "$(calc "$N/($tb/1000)" 0)")
    (c)  pgroll-style up + down triggers    $(printf '%9.1f %9.0f' "$tc" "$(calc "$N/($tc/1000)" 0)")
    (c1) pgroll-style up trigger only       $(printf '%9.1f %9.0f' "$tc1" "$(calc "$N/($tc1/1000)" 0)")
    (e)  core no-op trigger (floor)         $(printf '%9.1f %9.0f' "${T[e]}" "$(calc "$N/(${T[e]}/1000)" 0)")   $(calc "(${T[e]} / $ta - 1) * 100" 1)% over (a)
    (f)  no trigger, UPDATE sets column     $(printf '%9.1f %9.0f' "${T[f]}" "$(calc "$N/(${T[f]}/1000)" 0)")   $(calc "(${T[f]} / $ta - 1) * 100" 1)% over (a)

  per-row cost over (a)       (b) ours: $cost_b ns   (c) pgroll-style: $cost_c ns   (c1) up only: $cost_c1 ns
                              (b) over (f), what the trigger costs beyond writing the same data: $(calc "($tb - ${T[f]}) * 1e6 / $N" 1) ns
                              (b) over (e), ours beyond PostgreSQL's own cost of a BEFORE trigger: $(calc "($tb - ${T[e]}) * 1e6 / $N" 1) ns
                              (a2) the extra column alone, no trigger: $cost_a2 ns
  rows with a wrong new column after the UPDATE: (b) $BAD_B, (c) $BAD_C

  backfill                                   time ms    rows/s
    CALL mig.backfill('public')             $(printf '%9.1f %9s' "${T[d_bf]}" "$rate_bf")   (rows_done $BF_ROWS, rows left wrong: $BF_LEFT)
    single UPDATE SET col = upper(name)     $(printf '%9.1f %9s' "${T[d_up]}" "$rate_up")

  target                                         measured                         baseline                      verdict
  trigger per-row cost >= 3x cheaper than (c)    (c)/(b) = ${ratio_c}x ($cost_c / $cost_b ns)   pgroll-style (c)              $v1
                                                 (c1)/(b) = ${ratio_c1}x (info: up trigger only)
  bulk UPDATE overhead <= +15%                   (b)/(a) - 1 = ${ovh_b}%             (a) ${ta} ms; (c) is +${ovh_c}%   $v2
  backfill >= 0.8x single UPDATE rate            ${ratio_bf}x ($rate_bf vs $rate_up rows/s)   single UPDATE            $v3
EOF
exit 0
