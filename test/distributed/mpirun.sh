#!/usr/bin/env bash
# Runs a program on N local ranks: mpirun -np N with what containers and CI need (more ranks
# than cores, root, no shared-memory single-copy mechanism), each rank under a timeout.
#   mpirun.sh N PROGRAM [ARGS...]
set -euo pipefail
n=$1; shift
extra=(--oversubscribe --bind-to none)
[ "$(id -u)" -eq 0 ] && extra+=(--allow-run-as-root)
export OMPI_MCA_btl_vader_single_copy_mechanism=none   # no CMA/ptrace in containers
export OMPI_MCA_rmaps_base_oversubscribe=1
exec timeout 600 mpirun -np "$n" "${extra[@]}" "$@"
