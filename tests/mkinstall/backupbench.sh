#!/bin/sh
# The backup benchmark of BENCHMARKS.md: tests/mixload's throughput
# against `rookery serve` on a 100,000-message installation, without
# and with a concurrent `rookery backup`, alternated.
#
#   sh tests/mkinstall/backupbench.sh WORKDIR [ROUNDS] [BACKUP_ARGS...]
#
# WORKDIR receives the binaries, the data directory (built once and kept:
# delete WORKDIR/data to build it again), the backups and the JSON reports.
set -eu
work=${1:?usage: backupbench.sh WORKDIR [ROUNDS] [BACKUP_ARGS...]}
rounds=${2:-2}
shift; [ $# -gt 0 ] && shift
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$work"
cd "$root"
go build -o "$work/rookery" ./cmd/rookery
go build -o "$work/mixload" ./tests/mixload
go build -o "$work/mkinstall" ./tests/mkinstall
cd "$work"
if [ ! -f data/rookery.db ]; then
	for u in $(seq 1 20); do echo pass | ./rookery user add "user$u" --password-stdin --data data >/dev/null; done
	./mkinstall -data data -users 20 -n 100000
fi
./rookery serve --data data --imap 127.0.0.1:14710 --imaps 127.0.0.1:19710 >serve.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
sleep 2
load() { # $1: report name
	./mixload -addr 127.0.0.1:14710 -clients 50 -users 20 -pass pass -duration 30s -warmup 5s \
		-prefill 200 -max-messages 500 -seed 1 -json >"$1.json"
}
# Fill every INBOX once (-prefill), so that the measured runs start at once.
./mixload -addr 127.0.0.1:14710 -clients 50 -users 20 -pass pass -duration 5s -warmup 1s \
	-prefill 200 -max-messages 500 -seed 1 >/dev/null
for r in $(seq 1 "$rounds"); do
	load "plain-$r"
	load "backup-$r" &
	loader=$!
	sleep 5 # the warm-up
	# Backups one after the other for the whole measured window (30 s).
	i=0
	while kill -0 $loader 2>/dev/null; do
		i=$((i + 1))
		rm -rf "backup-$r"
		/usr/bin/time -f "backup $r.$i: %e s, %U s user, %S s system" ./rookery backup "backup-$r" --data data "$@" >"backup-$r.$i.log" 2>&1 || true
		tail -n 2 "backup-$r.$i.log"
	done
	wait $loader
	rm -rf "backup-$r"
done
for f in plain-*.json backup-*.json; do
	printf '%s ' "$f"; grep -o '"ops_per_s": *[0-9.]*' "$f" | head -n 1
done
