#!/usr/bin/env bash
# Installs the external programs Gregor's tests drive: kcat (librdkafka 2.0),
# Debian's Apache ZooKeeper 3.8 (zkCli.sh and the reference server for the
# differential tests), python3-kazoo and python3-confluent-kafka (they belong
# to /usr/bin/python3), fio and iperf3 (benchmarks). Does nothing when all
# are present. Needs root and Debian's apt.
set -euo pipefail

missing=()
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
[ -x /usr/share/zookeeper/bin/zkCli.sh ] || missing+=(zookeeper)
/usr/bin/python3 -c 'import kazoo' >/dev/null 2>&1 || missing+=(python3-kazoo)
/usr/bin/python3 -c 'import confluent_kafka' >/dev/null 2>&1 || missing+=(python3-confluent-kafka)
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
if [ "${GREGOR_BENCH_DEPS:-0}" = 1 ]; then
	command -v fio >/dev/null 2>&1 || missing+=(fio)
	command -v iperf3 >/dev/null 2>&1 || missing+=(iperf3)
fi

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
echo "deps: installing ${missing[*]}" >&2
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "deps: cannot install ${missing[*]} (need root and apt-get); tests that need them skip locally and fail in CI" >&2
	exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done" >&2
