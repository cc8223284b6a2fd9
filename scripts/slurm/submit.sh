#!/usr/bin/env bash
# Submits a sweep as a Slurm job array (sweep-array.sbatch, one shard per task) and the
# merge (merge.sbatch) that runs only once every task succeeded (afterok); prints the two
# job ids as `array_job=<id>` and `merge_job=<id>`.
#
# Usage: [VAR=value ...] scripts/slurm/submit.sh [sbatch options for both jobs...]
#   EDGESIM_BIN     the edgesim binary (default: edgesim on PATH)
#   EDGESIM_SPEC    the sweep spec TOML (default: hw_configs/sweeps/sram_dram.toml)
#   EDGESIM_OUT     output root (default: out/sweep): shard-<i>/, merged/, logs/
#   EDGESIM_SHARDS  number of shards = array tasks (default: 4)
#   EDGESIM_ARRAY   array ids to run (default: 0-<shards-1>); e.g. EDGESIM_ARRAY=3,7 re-runs
#                   shards 3 and 7 of the same EDGESIM_SHARDS, then merges again
#   EDGESIM_CPUS    CPUs per array task (default: the #SBATCH line of sweep-array.sbatch)
#   EDGESIM_TIME    time limit per array task (default: the #SBATCH line)
# Example: EDGESIM_SPEC=my_sweep.toml EDGESIM_SHARDS=16 scripts/slurm/submit.sh -p batch
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="${EDGESIM_BIN:-edgesim}"
spec="${EDGESIM_SPEC:-hw_configs/sweeps/sram_dram.toml}"
out="${EDGESIM_OUT:-out/sweep}"
shards="${EDGESIM_SHARDS:-4}"
if ! [[ "$shards" =~ ^[1-9][0-9]*$ ]]; then
    echo "error: EDGESIM_SHARDS=$shards: expected an integer >= 1" >&2
    exit 2
fi
array="${EDGESIM_ARRAY:-0-$((shards - 1))}"
# Every id of the array must be a shard of EDGESIM_SHARDS: a re-run of `3,7` with a
# forgotten EDGESIM_SHARDS=16 would otherwise fail in the queue (7) or compute the wrong
# slice (3). Slurm's own syntax: ids, ranges a-b, steps a-b:s, and a %limit suffix.
ids="${array%%\%*}"
for part in ${ids//,/ }; do
    if ! [[ "$part" =~ ^([0-9]+)(-([0-9]+)(:[0-9]+)?)?$ ]]; then
        echo "error: EDGESIM_ARRAY=$array: expected ids and ranges such as 0-3 or 3,7" >&2
        exit 2
    fi
    last="${BASH_REMATCH[3]:-${BASH_REMATCH[1]}}"
    if (( 10#$last >= shards )); then
        echo "error: EDGESIM_ARRAY=$array: id $last is not a shard of EDGESIM_SHARDS=$shards (ids 0-$((shards - 1)))" >&2
        exit 2
    fi
done

# Fail here, not in every task: the spec must exist and the binary must run.
if [[ ! -f "$spec" ]]; then
    echo "error: EDGESIM_SPEC=$spec: no such file" >&2
    exit 2
fi
if [[ "$bin" == */* ]]; then
    bin="$(realpath "$bin")"
fi
if ! "$bin" --version > /dev/null 2>&1; then
    echo "error: EDGESIM_BIN=$bin does not run (build with cargo build --release, or set EDGESIM_BIN)" >&2
    exit 2
fi
# Absolute paths: the jobs and their logs then name the same files wherever they run.
spec="$(realpath "$spec")"
out="$(realpath -m "$out")"
mkdir -p "$out/logs"
export EDGESIM_BIN="$bin" EDGESIM_SPEC="$spec" EDGESIM_OUT="$out" EDGESIM_SHARDS="$shards"

task_opts=()
[[ -n "${EDGESIM_CPUS:-}" ]] && task_opts+=("--cpus-per-task=$EDGESIM_CPUS")
[[ -n "${EDGESIM_TIME:-}" ]] && task_opts+=("--time=$EDGESIM_TIME")

# --parsable prints "<id>" or "<id>;<cluster>".
array_job="$(sbatch --parsable --export=ALL --array="$array" ${task_opts[@]+"${task_opts[@]}"} \
    --output="$out/logs/sweep-%A_%a.out" "$@" "$here/sweep-array.sbatch")"
array_job="${array_job%%;*}"
# --kill-on-invalid-dep: if a task fails the merge is cancelled rather than left pending.
merge_job="$(sbatch --parsable --export=ALL --dependency="afterok:$array_job" \
    --kill-on-invalid-dep=yes --output="$out/logs/merge-%j.out" "$@" "$here/merge.sbatch")"
merge_job="${merge_job%%;*}"
echo "array_job=$array_job"
echo "merge_job=$merge_job"
echo "shards $array of $shards: $out/shard-<i>/sweep.csv; merged: $out/merged/sweep.csv; logs: $out/logs/" >&2
