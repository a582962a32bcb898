#!/usr/bin/env bash
# Run a command against a throwaway Redis server: started on a free loopback port with its files in a
# temp dir, no persistence, stopped and removed afterwards even when the command fails (as
# tests/with_postgres.sh does for PostgreSQL). The command sees HEALTHLIB_TEST_REDIS_URL.
# Without redis-server (Debian package redis-server; `make test` installs it when it can), the
# command is NOT run and a loud message says so. HEALTHLIB_SKIP_REDIS=1 skips explicitly.
set -euo pipefail

if [ "${HEALTHLIB_SKIP_REDIS:-}" = "1" ]; then
	echo "!! HEALTHLIB_SKIP_REDIS=1: Redis cache tests SKIPPED on request"
	exit 0
fi
REDIS=$(command -v redis-server || true)
if [ -z "$REDIS" ]; then
	echo "!! redis-server is missing (Debian: apt-get install redis-server): the Redis cache tests are SKIPPED" >&2
	exit 0
fi

WORK=$(mktemp -d /tmp/healthlib-redis.XXXXXX)
PORT=${HEALTHLIB_REDIS_PORT:-$((20000 + RANDOM % 20000))}
cleanup() {
	if [ -f "$WORK/redis.pid" ]; then kill "$(cat "$WORK/redis.pid")" 2>/dev/null || true; fi
	for _ in $(seq 50); do [ -f "$WORK/redis.pid" ] || break; sleep 0.1; done
	rm -rf "$WORK"
}
trap cleanup EXIT

"$REDIS" --bind 127.0.0.1 --port "$PORT" --dir "$WORK" --save "" --appendonly no --databases 64 \
	--daemonize yes --pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log"
for _ in $(seq 100); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
	sleep 0.1
done
if ! (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
	echo "ERROR: redis-server did not start on port $PORT" >&2
	cat "$WORK/redis.log" >&2 || true
	exit 1
fi
echo "==> throwaway redis-server on 127.0.0.1:$PORT"

export HEALTHLIB_TEST_REDIS_URL="redis://127.0.0.1:$PORT"
set +e
"$@"
status=$?
set -e
exit $status
