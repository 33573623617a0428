#!/usr/bin/env bash
# Installs the real peers the tests run against, from Debian's packages. Idempotent: does nothing when all are present.
set -euo pipefail
# javac (Java client compiled in the test run), zkCli.sh, cli_mt, kazoo, and the slf4j/log4j jars that give the
# reference server a logging backend; logrotate rotates the files the taildir end-to-end test tails.
packages=(default-jdk-headless zookeeper zookeeper-bin libzookeeper-java libslf4j-java liblog4j1.2-java python3-kazoo netcat-openbsd logrotate)
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
