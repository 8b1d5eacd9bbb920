#!/usr/bin/env bash
# scripts/matrix.sh: run the whole test suite on other PostgreSQL versions,
# each in a Debian root of its own, with nothing installed by hand.
#
#   scripts/matrix.sh [--prepare] [15|17|18|all]...     (default: all)
#
# Each version runs in the Debian release that ships it:
#   15: bookworm (Debian 12)   17: trixie (Debian 13)   18: sid (unstable)
# For each, the script bootstraps a minimal root with debootstrap from
# Debian's archive (or unpacks the cached one), installs into it what
# scripts/lib.sh lists (postgresql-N, postgresql-server-dev-N,
# postgresql-N-pgtap, the Perl test modules, a C toolchain), copies this
# tree in and runs scripts/test.sh there.  It prints one line per version,
#   PostgreSQL 17 (Debian trixie): tests: N passed, M failed
# and exits non-zero if any version failed.
#
# --prepare only bootstraps and caches the roots (so that a caller can do it
# while something else runs), and runs no test.
#
# Needs root (debootstrap, chroot, mount); run it as root or through sudo.
# Environment:
#   MIGRATE_EXT_MATRIX_CACHE  where the bootstrapped roots are cached, one
#                             tarball per release (default
#                             /var/cache/migrate_ext-matrix); delete a
#                             tarball to bootstrap afresh
#   MIGRATE_EXT_MATRIX_DIR    where the roots are unpacked while they run
#                             (default /var/tmp); removed on exit
#   DEBIAN_MIRROR             default http://deb.debian.org/debian
#   MIGRATE_EXT_ONLY, MIGRATE_EXT_TEST_TIMEOUT are passed to scripts/test.sh.
# Mounts (proc, sys, dev, dev/pts, dev/shm) are removed on any exit.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${MIGRATE_EXT_MATRIX_CACHE:-/var/cache/migrate_ext-matrix}
RUNDIR=${MIGRATE_EXT_MATRIX_DIR:-/var/tmp}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CHROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

die() { printf '\nmatrix: error: %s\n' "$*" >&2; exit 1; }
say() { printf '\n== matrix: %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 ||
		die "debootstrap, chroot and mount need root: run as root, or install sudo"
	exec sudo --preserve-env=MIGRATE_EXT_MATRIX_CACHE,MIGRATE_EXT_MATRIX_DIR,DEBIAN_MIRROR,MIGRATE_EXT_ONLY,MIGRATE_EXT_TEST_TIMEOUT \
		"$0" "$@"
fi

release_of() {
	case $1 in
		15) echo bookworm ;;
		17) echo trixie ;;
		18) echo sid ;;
		*) return 1 ;;
	esac
}

PREPARE=
VERSIONS=()
for arg in "$@"; do
	case $arg in
		--prepare) PREPARE=1 ;;
		all) VERSIONS+=(15 17 18) ;;
		15 | 17 | 18) VERSIONS+=("$arg") ;;
		-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
		*) die "unknown version \"$arg\" (expected 15, 17, 18 or all)" ;;
	esac
done
[ ${#VERSIONS[@]} -gt 0 ] || VERSIONS=(15 17 18)

# Roots unpacked by this run, cleaned up on exit whatever happens.
ROOTS=()

# kill_in_root ROOT: stop every process whose root directory is ROOT (a
# server a failed test left running would keep its mounts busy).
kill_in_root() {
	local p sig
	for sig in TERM KILL; do
		for p in /proc/[0-9]*; do
			[ "$(readlink "$p/root" 2>/dev/null)" = "$1" ] && kill -s "$sig" "${p#/proc/}" 2>/dev/null
		done
		sleep 1
	done
	return 0
}

umount_root() {
	local m
	for m in dev/shm dev/pts dev sys proc; do
		if mountpoint -q "$1/$m" 2>/dev/null; then
			umount "$1/$m" 2>/dev/null || umount -l "$1/$m" 2>/dev/null || true
		fi
	done
}

cleanup() {
	local r
	set +e
	for r in "${ROOTS[@]}"; do
		[ -d "$r" ] || continue
		kill_in_root "$r"
		umount_root "$r"
		# remove the tree only once nothing is mounted inside it (/dev is a bind)
		if grep -q " $r/" /proc/mounts; then
			echo "matrix: $r still has mounts; left in place" >&2
		else
			rm -rf "$(dirname "$r")"
		fi
	done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mount_root() {
	cp /etc/resolv.conf "$1/etc/resolv.conf" 2>/dev/null || true
	mount -t proc proc "$1/proc"
	mount -t sysfs sys "$1/sys"
	mount --bind /dev "$1/dev"
	mount -t devpts -o newinstance,ptmxmode=0666 devpts "$1/dev/pts" 2>/dev/null || true
	mount -t tmpfs -o mode=1777 tmpfs "$1/dev/shm"
}

in_root() {
	local root=$1
	shift
	chroot "$root" /usr/bin/env -i HOME=/root PATH="$CHROOT_PATH" TERM=dumb LANG=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive "$@"
}

# copy_tree ROOT: this checkout (without .git and build outputs) into
# ROOT/root/migrate_ext.
copy_tree() {
	rm -rf "$1/root/migrate_ext"
	mkdir -p "$1/root/migrate_ext"
	tar -C "$REPO_ROOT" \
		--exclude=./.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
		--exclude=./results --exclude=./log --exclude='./regression.*' \
		--exclude=./tmp_regress --exclude=./tmp_check \
		--exclude=./test/isolation/output_iso --exclude=./output_iso \
		-cf - . | tar -C "$1/root/migrate_ext" --no-same-owner -xf -
}

sources_for() {
	case $1 in
		sid)
			echo "deb $MIRROR sid main"
			;;
		*)
			echo "deb $MIRROR $1 main"
			echo "deb $MIRROR $1-updates main"
			echo "deb ${MIRROR%/debian}/debian-security $1-security main"
			;;
	esac
}

# new_root VERSION: set ROOT to a fresh root for VERSION, unpacked from the
# cache, or bootstrapped (and then cached) if there is none.
new_root() {
	local v=$1 rel tarball dir root
	rel=$(release_of "$v")
	tarball=$CACHE/$rel-pg$v.tar
	dir=$(mktemp -d "$RUNDIR/migrate_ext-matrix.XXXXXX")
	root=$dir/$rel
	mkdir -p "$root"
	ROOTS+=("$root")
	ROOT=$root
	if [ -f "$tarball" ]; then
		tar -C "$root" -xf "$tarball" || die "cannot unpack $tarball (delete it to bootstrap afresh)"
		return 0
	fi
	command -v debootstrap >/dev/null 2>&1 || {
		say "installing debootstrap" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >&2 ||
			{ apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >&2; } ||
			die "cannot install debootstrap"
	}
	say "bootstrapping Debian $rel for PostgreSQL $v (once; cached in $tarball)" >&2
	if ! debootstrap --variant=minbase --include=ca-certificates "$rel" "$root" "$MIRROR" >"$dir/debootstrap.log" 2>&1; then
		tail -n 20 "$dir/debootstrap.log" >&2
		die "debootstrap of $rel failed"
	fi
	sources_for "$rel" >"$root/etc/apt/sources.list"
	if [ "$rel" = sid ]; then
		# sid's Release file may be past its Valid-Until date in a mirror
		echo 'Acquire::Check-Valid-Until "false";' >"$root/etc/apt/apt.conf.d/99migrate-ext-matrix"
	fi
	copy_tree "$root"
	mount_root "$root"
	# install exactly what scripts/lib.sh lists for this version
	if ! in_root "$root" bash -c "cd /root/migrate_ext && PG_CONFIG=/usr/lib/postgresql/$v/bin/pg_config && . scripts/lib.sh && ensure_packages && apt-get clean" >"$dir/packages.log" 2>&1; then
		tail -n 30 "$dir/packages.log" >&2
		die "installing PostgreSQL $v's packages in $rel failed"
	fi
	umount_root "$root"
	rm -rf "$root/root/migrate_ext"
	mkdir -p "$CACHE"
	tar -C "$root" -cf "$tarball.tmp.$$" . && mv "$tarball.tmp.$$" "$tarball"
}

RESULTS=()
STATUS=0
for v in "${VERSIONS[@]}"; do
	rel=$(release_of "$v")
	if [ -n "$PREPARE" ]; then
		if [ -f "$CACHE/$rel-pg$v.tar" ]; then
			say "PostgreSQL $v: $CACHE/$rel-pg$v.tar is ready"
		else
			new_root "$v"
			say "PostgreSQL $v: cached in $CACHE/$rel-pg$v.tar"
		fi
		continue
	fi
	new_root "$v"
	root=$ROOT
	copy_tree "$root"
	mount_root "$root"
	say "PostgreSQL $v on Debian $rel: scripts/test.sh"
	log=$(dirname "$root")/test.log
	rc=0
	in_root "$root" env CI="${CI:-}" MIGRATE_EXT_ONLY="${MIGRATE_EXT_ONLY:-}" \
		MIGRATE_EXT_TEST_TIMEOUT="${MIGRATE_EXT_TEST_TIMEOUT:-1500}" \
		PG_CONFIG="/usr/lib/postgresql/$v/bin/pg_config" \
		bash -c 'cd /root/migrate_ext && scripts/test.sh </dev/null' 2>&1 | tee "$log" || rc=$?
	line=$(grep -a '^tests: ' "$log" | tail -n 1 || true)
	[ -n "$line" ] || line="tests: none ran (scripts/test.sh exited with status $rc)"
	[ "$rc" -eq 0 ] || STATUS=1
	RESULTS+=("PostgreSQL $v (Debian $rel): $line")
	# free the space at once: the next version needs its own
	kill_in_root "$root"
	umount_root "$root"
	grep -q " $root/" /proc/mounts || rm -rf "$(dirname "$root")"
done

if [ -z "$PREPARE" ]; then
	printf '\n== matrix: results\n'
	printf '%s\n' "${RESULTS[@]}"
fi
exit $STATUS
