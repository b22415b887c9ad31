#!/bin/bash
# Runs this example on one machine, for trying it and for its test: etcd, two PostgreSQL nodes
# managed by Patroni (synchronous replication) and HAProxy in front of the primary, all on
# 127.0.0.1, under DIR. Production runs each piece on its own host with these same files.
#
#   examples/patroni/cluster.sh start DIR    # prints the --cluster URL once a primary and a
#                                            # synchronous standby are up
#   examples/patroni/cluster.sh stop DIR
#
# Debian: apt-get install postgresql patroni etcd-server haproxy. Ports can be moved with
# ETCD_PORT ETCD_PEER_PORT PG1_PORT PG2_PORT API1_PORT API2_PORT PROXY_PORT (defaults as in
# the files: 2379 2380 5441 5442 8008 8009 5430).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command=${1:?usage: cluster.sh start|stop DIR}
dir=${2:?usage: cluster.sh start|stop DIR}
ETCD_PORT=${ETCD_PORT:-2379} ETCD_PEER_PORT=${ETCD_PEER_PORT:-2380}
PG1_PORT=${PG1_PORT:-5441} PG2_PORT=${PG2_PORT:-5442}
API1_PORT=${API1_PORT:-8008} API2_PORT=${API2_PORT:-8009}
PROXY_PORT=${PROXY_PORT:-5430}

# PostgreSQL refuses to run as root: Patroni (and the PostgreSQL it starts) run as postgres.
# A command prefix, not a function: a function run in the background keeps copies of the
# caller's output descriptors open, so a caller reading this script's output would never see it end.
as_postgres=()
[ "$(id -u)" = 0 ] && as_postgres=(runuser -u postgres --)

# The example's files with this run's ports and directory.
configure() {
    sed -e "s|/var/lib/postgresql/regledger|$dir|g" \
        -e "s|127.0.0.1:2379|127.0.0.1:$ETCD_PORT|g" \
        -e "s|127.0.0.1:5441|127.0.0.1:$PG1_PORT|g" -e "s|127.0.0.1:5442|127.0.0.1:$PG2_PORT|g" \
        -e "s|127.0.0.1:8008|127.0.0.1:$API1_PORT|g" -e "s|127.0.0.1:8009|127.0.0.1:$API2_PORT|g" \
        -e "s|port 8008|port $API1_PORT|g" -e "s|port 8009|port $API2_PORT|g" \
        -e "s|127.0.0.1:5430|127.0.0.1:$PROXY_PORT|g" "$1"
}

start() {
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    for f in patroni-pg1.yml patroni-pg2.yml haproxy.cfg; do configure "$here/$f" > "$dir/$f"; done
    cp "$here/create-registry-database.sh" "$dir/"
    [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$dir"
    "${as_postgres[@]}" etcd --name e1 --data-dir "$dir/etcd" \
        --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
        --initial-cluster "e1=http://127.0.0.1:$ETCD_PEER_PORT" < /dev/null > "$dir/etcd.log" 2>&1 &
    for n in 1 2; do
        "${as_postgres[@]}" patroni "$dir/patroni-pg$n.yml" < /dev/null > "$dir/patroni-pg$n.log" 2>&1 &
    done
    haproxy -f "$dir/haproxy.cfg" -D < /dev/null > "$dir/haproxy.log" 2>&1
    # Up when one node is the leader and the other its synchronous standby.
    for _ in $(seq 120); do
        members=$("${as_postgres[@]}" patronictl -c "$dir/patroni-pg1.yml" list 2>/dev/null || true)
        if grep -q "Sync Standby" <<< "$members" && grep -q "Leader.*running" <<< "$members"; then
            echo "postgres://regledger:change-me-regledger@127.0.0.1:$PROXY_PORT/registry?sslmode=disable"
            return 0
        fi
        sleep 1
    done
    echo "cluster.sh: no primary with a synchronous standby after 120 s; logs in $dir" >&2
    tail -20 "$dir"/patroni-pg*.log >&2
    return 1
}

stop() {
    dir=$(cd "$dir" 2>/dev/null && pwd) || return 0
    # Patroni first (it stops its PostgreSQL), then whatever is left of the example's processes
    # (each names DIR on its command line), then the PostgreSQL servers by their pid files.
    pkill -TERM -f -- "$dir/patroni-pg" || true
    for _ in $(seq 20); do pgrep -f -- "$dir/patroni-pg" > /dev/null || break; sleep 0.5; done
    pkill -KILL -f -- "$dir/" || true
    for n in 1 2; do
        if [ -f "$dir/pg$n/postmaster.pid" ]; then kill -9 "$(head -1 "$dir/pg$n/postmaster.pid")" 2>/dev/null || true; fi
    done
    return 0
}

case "$command" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: cluster.sh start|stop DIR" >&2; exit 2 ;;
esac
