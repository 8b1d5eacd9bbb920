#!/usr/bin/env bash
# scripts/setup.sh: install what is missing (PostgreSQL, its development
# files, pgTAP, a C toolchain), build and install migrate_ext, then show it
# working: a throwaway cluster with the library preloaded runs
# scripts/demo.sql, then one migration with the command-line client
# (bin/migrate_ext, scripts/demo_04_handle.yaml), and is removed afterwards.  Safe to rerun.
#
# Works as root (the server runs as the "postgres" user) or as a user with
# sudo (apt-get and "make install" use sudo).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup_traps
ensure_packages
choose_run_user
make_workdir
build_and_install || die "the build or the installation failed (see above)"

banner "starting a throwaway cluster"
cluster_start "$WORKDIR/.demo"
(cd "$WORKDIR" && as_user "$PG_BIN/createdb" demo)

banner "demo (scripts/demo.sql)"
if ! (cd "$WORKDIR" && as_user "$PG_BIN/psql" -X -d demo -v ON_ERROR_STOP=1 -f scripts/demo.sql); then
	echo
	echo "server log ($WORKDIR/.demo/server.log, last 30 lines):"
	tail -n 30 "$WORKDIR/.demo/server.log"
	die "the demo failed"
fi

banner "demo: the command-line client (migrate_ext start scripts/demo_04_handle.yaml --complete)"
if ! (cd "$WORKDIR" && as_user "$PG_BIN/migrate_ext" -d demo start scripts/demo_04_handle.yaml --complete &&
	as_user "$PG_BIN/migrate_ext" -d demo status &&
	as_user "$PG_BIN/psql" -X -d demo -c 'SELECT id, email, handle FROM public_demo_04_handle.users ORDER BY id'); then
	die "the client demo failed"
fi

banner "stopping and removing the throwaway cluster"
cluster_stop "$WORKDIR/.demo"
cleanup_workdir

banner "done"
note "migrate_ext is installed in $("$PG_CONFIG" --pkglibdir)."
note "To use it in a cluster of yours: add shared_preload_libraries = 'migrate_ext'"
note "to postgresql.conf, restart, then CREATE EXTENSION migrate_ext; (see README.md)."
note "To run the tests: scripts/test.sh"
