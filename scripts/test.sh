#!/usr/bin/env bash
# scripts/test.sh: install what is missing, build and install migrate_ext,
# then run every test:
#   1. pg_regress tests       (make installcheck, temporary instance)
#   2. isolation tests        (make installcheck, temporary instance)
#   3. TAP tests, test/t/*.pl (make installcheck, prove)
#   4. pgTAP tests, test/pgtap/*.sql (pg_prove against a throwaway cluster)
# Each part runs even if an earlier one failed; failures print their diffs
# or logs.  Exits non-zero if anything failed; the last line of output is
# "tests: N passed, M failed".
#
# Works as root (tests run as the "postgres" user) or as a user with sudo.
# Environment: MIGRATE_EXT_TEST_TIMEOUT (seconds for all the tests together,
# default 1500), MIGRATE_EXT_KEEP=1 keeps the working copy for inspection,
# PG_CONFIG picks another PostgreSQL installation, MIGRATE_EXT_ONLY runs only
# the tests it names (a space-separated list of files, e.g.
# "sql/plan_errors.sql test/isolation/specs/lock_queue.spec
# test/t/004_crash_resume.pl test/pgtap/18_jobs.sql"); parts with nothing
# named are skipped.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TIMEOUT=${MIGRATE_EXT_TEST_TIMEOUT:-1500}
PASSED=0
FAILED=0
SUMMARY=()		# one line per part
FAILED_PARTS=()
SUMMARY_PRINTED=

# pg_regress and pg_isolation_regress end with one of
#   "All N tests passed."            "M of N tests failed."
#   "M of N tests failed, K of these failures ignored."
#   "M of N tests passed, K failed test(s) ignored."
# Prints "PASSED FAILED", or fails if the log has no such line.
regress_counts() {
	awk '
		function nums(s) { gsub(/[^0-9]+/, " ", s); return split(s, n, " ") }
		/All [0-9]+ tests passed\./ { nums($0); p += n[1]; found = 1; next }
		/[0-9]+ of [0-9]+ tests failed, [0-9]+ of these failures ignored/ {
			nums($0); f += n[1] - n[3]; p += n[2] - n[1] + n[3]; found = 1; next }
		/[0-9]+ of [0-9]+ tests failed\./ { nums($0); f += n[1]; p += n[2] - n[1]; found = 1; next }
		/[0-9]+ of [0-9]+ tests passed, [0-9]+ failed test\(s\) ignored/ {
			nums($0); p += n[2]; found = 1; next }
		END { if (!found) exit 1; print p + 0, f + 0 }
	' "$1"
}

# prove and pg_prove (TAP::Harness) end with "Files=F, Tests=T, ..." and
# "Result: PASS|FAIL", after a "Test Summary Report" with one entry per
# failing file: "file (Wstat: W Tests: T Failed: F)".  A file that failed
# without a failing test (died, bad plan) counts as one failure.
# Prints "PASSED FAILED", or fails if the log has no summary.
prove_counts() {
	awk '
		function flush() {
			if (have) { subfailed += cur; failed += (cur > 0 ? cur : (bad ? 1 : 0)) }
			have = 0; bad = 0
		}
		/^Test Summary Report/ { report = 1; next }
		report && /\(Wstat: .*Tests: [0-9]+ Failed: [0-9]+\)/ {
			flush(); s = $0; sub(/.*Failed: /, "", s); sub(/\).*/, "", s)
			cur = s + 0; have = 1; next }
		report && /^ +(Non-zero exit status|Non-zero wait status|Parse errors|No subtests run)/ { bad = 1; next }
		/^Files=[0-9]+, Tests=[0-9]+/ {
			flush(); report = 0; s = $0; sub(/^Files=[0-9]+, Tests=/, "", s); sub(/[^0-9].*/, "", s)
			tests += s; found = 1; next }
		/^Result: FAIL/ { resfail = 1 }
		END {
			if (!found) exit 1
			if (resfail && failed == 0) failed = 1
			p = tests - subfailed; if (p < 0) p = 0
			print p, failed + 0
		}
	' "$1"
}

# run_part NAME COUNTER CMD...: run CMD, show and log its output, count its
# tests with COUNTER and record the result.  CMD runs its long command under
# "timeout", so that a hung test fails instead of hanging.  Returns CMD's
# status.
run_part() {
	local name=$1 counter=$2 log rc=0 counts p=0 f=0
	shift 2
	log=$WORKDIR/.logs/${name%% *}.log
	mkdir -p "$WORKDIR/.logs"
	"$@" 2>&1 | tee "$log" || rc=$?
	if counts=$("$counter" "$log"); then
		read -r p f <<<"$counts"
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1		# failed without a test summary
	fi
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		echo "!! $name: timed out (MIGRATE_EXT_TEST_TIMEOUT=${TIMEOUT}s for all tests)"
		SUMMARY+=("$name: $p passed, $f failed (timed out)")
	else
		SUMMARY+=("$name: $p passed, $f failed")
	fi
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
	if [ "$rc" -ne 0 ]; then
		FAILED_PARTS+=("$name")
	fi
	stop_servers "$WORKDIR"		# left behind by a killed run
	return "$rc"
}

# time_left: seconds left of the time allowed for all the tests together.
time_left() {
	local left=$((TIMEOUT - SECONDS + START))
	if [ "$left" -lt 10 ]; then left=10; fi
	echo "$left"
}

skip_part() {
	note "skipped: $2"
	SUMMARY+=("$1: skipped ($2)")
}

# show_file FILE TITLE [LINES]: print FILE (its last LINES lines) if not empty.
show_file() {
	if [ -s "$1" ]; then
		banner "$2"
		if [ -n "${3:-}" ]; then tail -n "$3" "$1"; else cat "$1"; fi
	fi
}

installcheck() {
	cd "$WORKDIR" && as_user timeout -k 15 "$(time_left)" make installcheck PG_CONFIG="$PG_CONFIG" "$@"
}

# pgTAP needs a running server: a throwaway cluster with the library
# preloaded and the same settings as the pg_regress instances.
pgtap_run() {
	local dir=$WORKDIR/.pgtap conf=$WORKDIR/test/regress.conf
	[ -f "$conf" ] || conf=
	cluster_start "$dir" "$conf" || return 1
	(cd "$WORKDIR" && as_user "$PG_BIN/createdb" migrate_ext_pgtap) || return 1
	(cd "$WORKDIR" && PGDATABASE=migrate_ext_pgtap as_user \
		timeout -k 15 "$(time_left)" pg_prove --psql-bin "$PG_BIN/psql" --ext .sql "$@")
	local rc=$?
	if [ "$rc" -ne 0 ]; then
		show_file "$dir/server.log" "server log of the pgTAP cluster (last 50 lines)" 50
	fi
	cluster_stop "$dir" || true
	return "$rc"
}

print_summary() {
	local line
	banner "summary"
	for line in "${SUMMARY[@]}"; do
		note "$line"
	done
	if [ "$FAILED" -gt 0 ] || [ ${#FAILED_PARTS[@]} -gt 0 ]; then
		[ "$FAILED" -gt 0 ] || FAILED=1
		note "FAILED: ${FAILED_PARTS[*]:-see above}"
	else
		note "all tests passed"
	fi
	SUMMARY_PRINTED=1
	echo "tests: $PASSED passed, $FAILED failed"
}

# Called by lib.sh on exit: when the script stops early (a step failed, or
# it was interrupted), still end with the summary line.
at_exit() {
	if [ -z "$SUMMARY_PRINTED" ] && [ "$1" -ne 0 ]; then
		SUMMARY+=("stopped early (exit status $1)")
		FAILED_PARTS+=("setup")
		print_summary
	fi
}

setup_traps
ensure_packages
choose_run_user
make_workdir

if ! build_and_install; then
	SUMMARY+=("build: failed")
	FAILED_PARTS+=("build")
	FAILED=$((FAILED + 1))
	cleanup_workdir
	print_summary
	exit 1
fi
START=$SECONDS		# the time limit covers the tests, not the build

# only_files DIR EXT: with MIGRATE_EXT_ONLY set, the names (without
# directory and extension) of the files it names in DIR; without it, "all".
only_files() {
	local f out=()
	if [ -z "${MIGRATE_EXT_ONLY:-}" ]; then
		echo all
		return
	fi
	for f in $MIGRATE_EXT_ONLY; do
		if [ "$(dirname "$f")" = "$1" ]; then
			out+=("$(basename "$f" ".$2")")
		fi
	done
	echo "${out[*]}"
}
ONLY_REGRESS=$(only_files sql sql)
ONLY_ISOLATION=$(only_files test/isolation/specs spec)
ONLY_TAP=$(only_files test/t pl)
ONLY_PGTAP=$(only_files test/pgtap sql)
REGRESS_ARGS=(ISOLATION= TAP_TESTS=)
ISOLATION_ARGS=(REGRESS= TAP_TESTS=)
TAP_ARGS=(REGRESS= ISOLATION=)
[ "$ONLY_REGRESS" = all ] || REGRESS_ARGS+=("REGRESS=$ONLY_REGRESS")
[ "$ONLY_ISOLATION" = all ] || ISOLATION_ARGS+=("ISOLATION=$ONLY_ISOLATION")
if [ "$ONLY_TAP" != all ]; then
	tap_list=
	for t in $ONLY_TAP; do tap_list+=" test/t/$t.pl"; done
	TAP_ARGS+=("PROVE_TESTS=${tap_list# }")
fi

banner "regression tests (pg_regress)"
if [ -z "$ONLY_REGRESS" ]; then
	skip_part "regression (pg_regress)" "not in MIGRATE_EXT_ONLY"
elif ! run_part "regression (pg_regress)" regress_counts installcheck "${REGRESS_ARGS[@]}"; then
	show_file "$WORKDIR/regression.diffs" "regression.diffs"
fi

banner "isolation tests (pg_isolation_regress)"
if [ -z "$ONLY_ISOLATION" ]; then
	skip_part "isolation" "not in MIGRATE_EXT_ONLY"
elif ! run_part "isolation" regress_counts installcheck "${ISOLATION_ARGS[@]}"; then
	show_file "$WORKDIR/test/isolation/output_iso/regression.diffs" \
		"test/isolation/output_iso/regression.diffs"
fi

banner "TAP tests (prove test/t/*.pl)"
if ! compgen -G "$WORKDIR/test/t/*.pl" >/dev/null; then
	skip_part "TAP (prove)" "no test/t/*.pl yet"
elif [ -z "$ONLY_TAP" ]; then
	skip_part "TAP (prove)" "not in MIGRATE_EXT_ONLY"
elif ! run_part "TAP (prove)" prove_counts installcheck "${TAP_ARGS[@]}"; then
	# the log of each failing test file
	sed -n 's/^\([^ ]*\.pl\) *(Wstat.*/\1/p' "$WORKDIR/.logs/TAP.log" |
		while IFS= read -r t; do
			t=$(basename "$t" .pl)
			show_file "$WORKDIR/tmp_check/log/regress_log_$t" \
				"tmp_check/log/regress_log_$t (last 100 lines)" 100
			for f in "$WORKDIR/tmp_check/log/${t}"_*.log; do
				show_file "$f" "tmp_check/log/$(basename "$f") (server log, last 30 lines)" 30
			done
		done
fi

banner "pgTAP tests (pg_prove test/pgtap/*.sql)"
shopt -s nullglob
pgtap_files=("$WORKDIR"/test/pgtap/*.sql)
shopt -u nullglob
if [ "$ONLY_PGTAP" != all ]; then
	pgtap_files=()
	for t in $ONLY_PGTAP; do pgtap_files+=("$WORKDIR/test/pgtap/$t.sql"); done
fi
if [ -z "$ONLY_PGTAP" ]; then
	skip_part "pgTAP (pg_prove)" "not in MIGRATE_EXT_ONLY"
elif [ ${#pgtap_files[@]} -eq 0 ]; then
	skip_part "pgTAP (pg_prove)" "no test/pgtap/*.sql yet"
else
	run_part "pgTAP (pg_prove)" prove_counts pgtap_run "${pgtap_files[@]#"$WORKDIR"/}" || true
fi

cleanup_workdir
print_summary
[ "$FAILED" -eq 0 ]
