#!/usr/bin/env bash
# A rank that skips a collective: the other rank's call must fail with the timeout's error
# within seconds (EJIT_DIST_TIMEOUT), not hang. The job's exit status is not checked (a rank
# whose collective timed out exits without MPI_Finalize); a hang is (timeout 120).
#   timeout_test.sh ejit_dist_tests
set -uo pipefail
here=$(dirname "$0")
out=$(timeout 120 "$here/mpirun.sh" 2 "$1" "[.timeout]" 2>&1)
status=$?
echo "$out" | grep "timeout test" || { echo "$out"; echo "no timeout error (exit status $status)"; exit 1; }
[ $status -ne 124 ] || { echo "$out"; echo "hung"; exit 1; }
echo "$out" | grep -q "FAILED" && { echo "$out"; exit 1; }
exit 0
