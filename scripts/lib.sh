# shellcheck shell=bash
# scripts/lib.sh: shared by scripts/setup.sh and scripts/test.sh.
# Source it (". scripts/lib.sh"); it defines functions and a few variables and
# runs nothing by itself.
#
# How the scripts run, as root or as a user with sudo:
#   - apt-get and "make install" run as root (directly, or through sudo);
#   - everything else (build, initdb, the server, pg_regress, prove, pg_prove,
#     psql) runs as an unprivileged user, RUN_USER: the "postgres" system user
#     when the script runs as root (PostgreSQL refuses to run as root), the
#     calling user otherwise;
#   - the work happens in a private copy of the source tree (WORKDIR, under
#     $TMPDIR or /tmp) owned by RUN_USER, so the checkout is never written to,
#     may be owned by anyone, and a rerun starts clean.  The copy, and any
#     server started in it, is removed on exit.

# PG_CONFIG picks the PostgreSQL to build against and test with.  Without
# it: the newest PostgreSQL whose server development files are installed,
# else the one the Debian release ships (15 on Debian 12, 17 on Debian 13,
# 18 on sid), which ensure_packages then installs.  A PG_CONFIG that does
# not exist yet but has Debian's layout (/usr/lib/postgresql/N/bin/pg_config)
# names version N, to be installed.
distribution_pg_major() {
	local v codename
	# the "postgresql" metapackage depends on the release's own version
	v=$(apt-cache depends postgresql 2>/dev/null |
		sed -n 's/^ *Depends: postgresql-\([0-9][0-9]*\)$/\1/p' | head -n 1 || true)
	if [ -z "$v" ]; then
		codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
		case $codename in
			bookworm) v=15 ;;
			trixie) v=17 ;;
			forky | sid) v=18 ;;
			*) v=15 ;;
		esac
	fi
	echo "$v"
}
if [ -z "${PG_CONFIG:-}" ]; then
	PG_CONFIG=$(ls -d /usr/lib/postgresql/*/bin/pg_config 2>/dev/null |
		while IFS= read -r c; do
			d=${c%/bin/pg_config}
			if [ -f "$d/lib/pgxs/src/makefiles/pgxs.mk" ]; then echo "${d##*/} $c"; fi
		done | sort -n | tail -n 1 | cut -d' ' -f2 || true)
	[ -n "$PG_CONFIG" ] || PG_CONFIG=/usr/lib/postgresql/$(distribution_pg_major)/bin/pg_config
fi
if [ -x "$PG_CONFIG" ]; then
	PG_MAJOR=$("$PG_CONFIG" --version | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p')
	PG_BIN=$("$PG_CONFIG" --bindir)
elif [[ "$PG_CONFIG" =~ ^/usr/lib/postgresql/([0-9]+)/bin/pg_config$ ]]; then
	PG_MAJOR=${BASH_REMATCH[1]}
	PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
else
	printf '\nerror: PG_CONFIG=%s: no such program\n' "$PG_CONFIG" >&2
	exit 1
fi
export PG_CONFIG
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Debian packages the project needs (see README, "Quick start").
PACKAGES=(
	"postgresql-$PG_MAJOR"
	"postgresql-server-dev-$PG_MAJOR"
	"postgresql-$PG_MAJOR-pgtap"
	libtap-parser-sourcehandler-pgtap-perl
	libipc-run-perl
	pgbouncer
	libyaml-dev
	libpq-dev
)

# A locale every Debian system has, so that initdb works whatever the
# caller's locale, and output (sort order, messages) is the same everywhere.
export LANG=C.UTF-8 LC_ALL=C.UTF-8
unset LANGUAGE
# Never talk to a server the caller's environment points at.
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGSERVICE PGOPTIONS

WORKDIR=
RUN_USER=

banner() { printf '\n== %s\n' "$*"; }
note() { printf '   %s\n' "$*"; }
die() { printf '\nerror: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# as_root CMD...: run CMD as root, directly or through sudo.
as_root() {
	if is_root; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "this step needs root: run as root, or install sudo and allow this user to use it"
	fi
}

# as_user CMD...: run CMD as RUN_USER, in the current directory, keeping the
# environment (PGHOST etc.).
as_user() {
	if is_root; then
		runuser -u "$RUN_USER" -- "$@"
	else
		"$@"
	fi
}

pkg_installed() {
	[[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == *" installed" ]]
}

# ensure_packages: install whatever of PACKAGES (plus a C toolchain) is
# missing; apt-get update runs only when something must be installed.
ensure_packages() {
	banner "checking packages"
	command -v dpkg-query >/dev/null 2>&1 ||
		die "dpkg-query not found: these scripts expect Debian 12 (bookworm) or a derivative"
	local missing=() p
	for p in "${PACKAGES[@]}"; do
		pkg_installed "$p" || missing+=("$p")
	done
	if ! command -v gcc >/dev/null 2>&1 || ! command -v make >/dev/null 2>&1; then
		missing+=(build-essential)
	fi
	if [ ${#missing[@]} -eq 0 ]; then
		note "all present"
		return 0
	fi
	note "installing: ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
		die "apt-get update failed"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" ||
		die "apt-get install failed"
}

# choose_run_user: RUN_USER is the user that builds and runs the tests.
choose_run_user() {
	if is_root; then
		RUN_USER=${MIGRATE_EXT_USER:-postgres}
		id -u "$RUN_USER" >/dev/null 2>&1 ||
			die "user \"$RUN_USER\" does not exist (the postgresql-$PG_MAJOR package creates it)"
	else
		RUN_USER=$(id -un)
	fi
	[ -x "$PG_CONFIG" ] || die "$PG_CONFIG not found: is postgresql-server-dev-$PG_MAJOR installed?"
}

# stop_servers DIR: stop every server whose data directory is under DIR
# (ours, and any a killed pg_regress left behind).
stop_servers() {
	local pidfile
	[ -n "$1" ] && [ -d "$1" ] || return 0
	while IFS= read -r pidfile; do
		(cd / && as_user "$PG_BIN/pg_ctl" -D "$(dirname "$pidfile")" -m immediate -w stop) >/dev/null 2>&1 || true
	done < <(find "$1" -name postmaster.pid 2>/dev/null)
}

cleanup_workdir() {
	[ -n "$WORKDIR" ] && [ -d "$WORKDIR" ] || return 0
	stop_servers "$WORKDIR"
	if [ -n "${MIGRATE_EXT_KEEP:-}" ]; then
		note "kept $WORKDIR (MIGRATE_EXT_KEEP is set)"
	else
		rm -rf "$WORKDIR" || true
	fi
	WORKDIR=
}

# setup_traps: on exit (normal, error or signal) stop any server in WORKDIR,
# remove WORKDIR, then call the script's at_exit function, if it has one,
# with the exit status.
setup_traps() {
	trap lib_on_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

lib_on_exit() {
	local rc=$?
	set +e
	cleanup_workdir
	if declare -F at_exit >/dev/null; then
		at_exit "$rc"
	fi
}

# make_workdir: copy the source tree (without .git and build outputs) into a
# new private directory owned by RUN_USER; setup_traps removes it on exit.
make_workdir() {
	WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/migrate_ext.XXXXXX")
	tar -C "$REPO_ROOT" \
		--exclude=./.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
		--exclude=./results --exclude=./log --exclude='./regression.*' \
		--exclude=./tmp_regress --exclude=./tmp_check \
		--exclude=./test/isolation/output_iso --exclude=./output_iso \
		--exclude=./.demo --exclude=./.pgdata \
		-cf - . | tar -C "$WORKDIR" --no-same-owner -xf -
	if is_root; then
		chown -R "$RUN_USER": "$WORKDIR"
	fi
	note "working copy: $WORKDIR (owner: $RUN_USER)"
}

# build_and_install: "make" as RUN_USER, "make install" as root, both in
# WORKDIR.  Returns non-zero on failure.
build_and_install() {
	banner "building migrate_ext (as $RUN_USER)"
	(cd "$WORKDIR" && as_user make -s -j"$(nproc 2>/dev/null || echo 2)" PG_CONFIG="$PG_CONFIG") || return 1
	banner "installing migrate_ext into $("$PG_CONFIG" --pkglibdir)"
	(cd "$WORKDIR" && as_root make -s install PG_CONFIG="$PG_CONFIG") || return 1
}

# free_port: print a TCP port nothing listens on.
free_port() {
	local port _
	for _ in $(seq 1 200); do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

# cluster_start DIR [EXTRA_CONF]: initdb a throwaway cluster in DIR/data
# (DIR is created, inside WORKDIR), preload migrate_ext, listen only on a
# unix socket in DIR, start it, and export PGHOST and PGPORT for it.  The
# cluster's superuser is RUN_USER.  EXTRA_CONF, if given, is included.
cluster_start() {
	local dir=$1 extra=${2:-}
	as_user mkdir -p "$dir" || return 1
	PGPORT=$(free_port) || { echo "no free port found" >&2; return 1; }
	if ! (cd "$dir" && as_user "$PG_BIN/initdb" -D "$dir/data" -A trust -E UTF8 \
			--locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1); then
		cat "$dir/initdb.log" >&2
		return 1
	fi
	{
		echo "# added by scripts/lib.sh"
		echo "port = $PGPORT"
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$dir'"
		echo "shared_preload_libraries = 'migrate_ext'"
		echo "fsync = off"
		if [ -n "$extra" ]; then echo "include '$extra'"; fi
	} | as_user tee -a "$dir/data/postgresql.conf" >/dev/null
	if ! (cd "$dir" && as_user "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null); then
		echo "the server did not start; its log:" >&2
		cat "$dir/server.log" >&2
		return 1
	fi
	export PGHOST=$dir PGPORT
	note "server running: socket in $dir, port $PGPORT"
}

# cluster_stop DIR: stop the cluster cluster_start started in DIR.
cluster_stop() {
	(cd "$1" && as_user "$PG_BIN/pg_ctl" -D "$1/data" -m fast -w stop >/dev/null)
}
