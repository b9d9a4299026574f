#!/usr/bin/env bash
# Makes a local PostgreSQL server ready for the tests that need one:
# installs Debian's postgresql when it is missing, creates and starts a
# cluster, and a role "rookery" that may create databases. Prints the
# connection string for ROOKERY_TEST_PG on stdout (everything else goes
# to stderr). Needs root.
set -euo pipefail
exec 3>&1 1>&2

# detached runs a command that starts the server daemon with no descriptor
# of ours: the daemon outlives this script, and a pipe it inherited (the
# caller's $(...) or CI's log) would never reach end of file, so whoever
# reads it would wait forever.
detached() {
	(
		for fd in /proc/self/fd/*; do
			fd=${fd##*/}
			if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-" 2>/dev/null || true; fi
		done
		exec "$@"
	) </dev/null >>/tmp/rookery-ci-postgres.log 2>&1 || { cat /tmp/rookery-ci-postgres.log; return 1; }
}

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql
fi
ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | awk -v v="$ver" '$1 == v && $2 == "main" { found = 1 } END { exit !found }'; then
	pg_createcluster "$ver" main
fi
port=$(pg_lsclusters -h | awk -v v="$ver" '$1 == v && $2 == "main" { print $3 }')
status=$(pg_lsclusters -h | awk -v v="$ver" '$1 == v && $2 == "main" { print $4 }')
if [ "$status" != online ]; then
	detached pg_ctlcluster "$ver" main start
fi
psql_admin() { (cd / && runuser -u postgres -- psql -p "$port" -v ON_ERROR_STOP=1 -qAt "$@"); }
# The multi-node tests hold several pools at once.
if [ "$(psql_admin -c 'SHOW max_connections')" -lt 300 ]; then
	psql_admin -c 'ALTER SYSTEM SET max_connections = 300'
	detached pg_ctlcluster "$ver" main restart
fi
psql_admin -c "DO \$\$ BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rookery') THEN
		CREATE ROLE rookery LOGIN CREATEDB PASSWORD 'rookery';
	END IF;
END \$\$"
echo "postgres://rookery:rookery@127.0.0.1:$port/postgres?sslmode=disable" >&3
