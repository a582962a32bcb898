#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster: initdb in a temp dir, socket in that
# dir, a high port, stopped and removed afterwards even when the command fails.
# HEALTHLIB_SKIP_POSTGRES=1 skips explicitly; missing binaries otherwise fail loudly.
set -euo pipefail

if [ "${HEALTHLIB_SKIP_POSTGRES:-}" = "1" ]; then
	echo "!! HEALTHLIB_SKIP_POSTGRES=1: PostgreSQL tests SKIPPED on request"
	exit 0
fi

find_bin() {
	if command -v "$1" >/dev/null 2>&1; then command -v "$1"; return; fi
	ls -d /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -n 1
}
INITDB=$(find_bin initdb)
PG_CTL=$(find_bin pg_ctl)
if [ -z "$INITDB" ] || [ -z "$PG_CTL" ]; then
	echo "ERROR: PostgreSQL server binaries (initdb, pg_ctl) not found." >&2
	echo "       Install them (Debian: apt-get install postgresql) or set HEALTHLIB_SKIP_POSTGRES=1." >&2
	exit 1
fi

WORK=$(mktemp -d /tmp/healthlib-pg.XXXXXX)
PORT=${HEALTHLIB_PG_PORT:-$((20000 + RANDOM % 20000))}
RUN_AS=()
if [ "$(id -u)" = 0 ]; then
	# PostgreSQL refuses to run as root.
	id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
	chown postgres "$WORK"
	RUN_AS=(runuser -u postgres --)
fi

cleanup() {
	"${RUN_AS[@]}" "$PG_CTL" -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT

"${RUN_AS[@]}" "$INITDB" -D "$WORK/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$WORK/initdb.log" 2>&1 \
	|| { cat "$WORK/initdb.log"; exit 1; }
"${RUN_AS[@]}" "$PG_CTL" -D "$WORK/data" -l "$WORK/server.log" -w \
	-o "-k $WORK -p $PORT -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
	start >/dev/null || { cat "$WORK/server.log"; exit 1; }

export HEALTHLIB_TEST_DB=postgres PGHOST="$WORK" PGPORT="$PORT" PGUSER=postgres PGDATABASE=postgres
set +e
"$@"
status=$?
set -e
exit $status
