#!/usr/bin/env bash
# Starts (or stops) a local Redis Cluster of three masters on free ports of 127.0.0.1, for the
# tests of the Redis store in Cluster mode. Prints the node list for SESSIONKIT_TEST_REDIS_CLUSTER.
#   .ci/redis-cluster.sh start DIR   ->  prints 127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3
#   .ci/redis-cluster.sh stop DIR
set -euo pipefail
cmd=${1:?start or stop}
dir=${2:?a folder for the nodes}

free_port() {
  local p
  for p in $(seq "$1" 65000); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
    exec 3>&- 2>/dev/null || true
  done
}

if [ "$cmd" = stop ]; then
  for f in "$dir"/port-*; do
    [ -e "$f" ] || continue
    redis-cli -h 127.0.0.1 -p "$(cat "$f")" shutdown nosave >/dev/null 2>&1 || true
  done
  exit 0
fi

mkdir -p "$dir"
nodes=()
next=30001
for i in 1 2 3; do
  port=$(free_port "$next")
  next=$((port + 1))
  mkdir -p "$dir/$port"
  echo "$port" > "$dir/port-$i"
  redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
    --cluster-config-file "$dir/$port/nodes.conf" --dir "$dir/$port" \
    --save "" --appendonly no --daemonize yes --logfile "$dir/$port/redis.log" >/dev/null
  nodes+=("127.0.0.1:$port")
done
for node in "${nodes[@]}"; do
  for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p "${node##*:}" ping >/dev/null 2>&1 && break; sleep 0.1; done
done
redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >/dev/null
for _ in $(seq 100); do
  state=$(redis-cli -h 127.0.0.1 -p "${nodes[0]##*:}" cluster info | tr -d '\r' | grep '^cluster_state:' || true)
  [ "$state" = "cluster_state:ok" ] && break
  sleep 0.1
done
(IFS=,; echo "${nodes[*]}")
