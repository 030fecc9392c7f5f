#!/usr/bin/env bash
# A rank that dies before a collective: the job must end (with a failure status) within
# seconds, never hang. Open MPI's launcher ends it and names the rank; otherwise the other
# rank's collective fails after EJIT_DIST_TIMEOUT (5 s here). A hang is caught by timeout 120.
#   dead_rank_test.sh ejit_dist_tests
set -uo pipefail
here=$(dirname "$0")
start=$(date +%s)
out=$(timeout 120 "$here/mpirun.sh" 2 "$1" "[.dead_rank]" 2>&1)
status=$?
elapsed=$(( $(date +%s) - start ))
echo "$out" | grep -q "dead rank test: rank 1 exits now" || { echo "$out"; echo "rank 1 never got to exit"; exit 1; }
[ $status -ne 124 ] || { echo "$out"; echo "hung"; exit 1; }
[ $status -ne 0 ] || { echo "$out"; echo "the job reported success although a rank died"; exit 1; }
echo "$out" | grep -E "dead rank test|rank 1|exited|timed out|waited" | head -n 5
echo "the job ended in ${elapsed} s with status $status"
exit 0
