#!/usr/bin/env bash
# Installs the real peers the tests run against, from Debian's packages. Idempotent: does nothing when all are present.
set -euo pipefail
# javac (Java client compiled in the test run), zkCli.sh, cli_mt, kazoo, and the slf4j/log4j jars that give the
# reference server a logging backend. kcat: the independent Kafka client of the Kafka tests and bench; libsasl2-2:
# Cyrus SASL for librdkafka builds linked against it.
# curl and bsdutils (logger): real clients of the http and syslog sources. nodejs: avsc, the Avro RPC peer.
# logrotate rotates the files the taildir end-to-end test tails. commons-cli: ZooKeeper's TxnLogToolkit, which the
# Jepsen-style test runs to read the reference's transaction logs.
packages=(default-jdk-headless zookeeper zookeeper-bin libzookeeper-java libslf4j-java libcommons-cli-java liblog4j1.2-java python3-kazoo netcat-openbsd kcat libsasl2-2 curl bsdutils nodejs logrotate)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-test-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# avsc (npm): an independent Avro RPC implementation speaking Avro's Netty framing, the real peer of the avro
# source/sink interop tests (tests/Zooflow.Pipeline.Tests/Interop/avsc). Debian's nodejs has no npm; nodesource's has.
if ! command -v npm >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends npm >/dev/null
fi
avsc_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/Zooflow.Pipeline.Tests/Interop/avsc"
if [ ! -d "$avsc_dir/node_modules/avsc" ]; then
  echo "install-test-deps: npm ci in $avsc_dir" >&2
  (cd "$avsc_dir" && npm ci --no-fund --no-audit --silent)
fi
