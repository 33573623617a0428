#!/usr/bin/env bash
# The whole test suite. Installs what the tests need (a JRE, Apache ZooKeeper 3.8 and its clients, kazoo), builds,
# runs every test project, and ends with one line "N passed, N failed, N skipped".
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"

bash "$root/scripts/install-test-deps.sh"

dotnet build Zooflow.slnx -c Debug -nologo -v quiet -clp:ErrorsOnly
log="$root/artifacts/test-output.log"
mkdir -p "$root/artifacts"
status=0
# Microsoft.Testing.Platform runner (global.json). Test modules run two at a time: several start JVMs and agents.
dotnet test --solution Zooflow.slnx -c Debug --no-build --no-ansi --no-progress --timeout 20m \
  --max-parallel-test-modules 2 2>&1 | tee "$log" || status=$?

# One closing line for the whole run, from the runner's overall summary.
summary() { grep -E "^\s+$1: [0-9]+" "$log" | tail -1 | grep -oE '[0-9]+' || echo 0; }
echo "$(summary succeeded) passed, $(summary failed) failed, $(summary skipped) skipped"
exit $status
