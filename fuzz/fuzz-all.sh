#!/bin/sh
# Runs fuzz targets one after the other, each for SECONDS (default 180), one process at a
# time, continuing past crashes, timeouts and out-of-memory inputs (saved under
# artifacts/<target>/), then minimises each corpus. Logs go to logs/<target>.log.
#
#   fuzz/fuzz-all.sh [SECONDS] [TARGET...]
set -eu
cd "$(dirname "$0")"
secs=${1:-180}
[ $# -gt 0 ] && shift
targets=${*:-$(cargo +nightly fuzz list)}
mkdir -p logs
for t in $targets; do
    mkdir -p "corpus/$t" "artifacts/$t"
    cargo +nightly fuzz run -s none "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=4096 -timeout=10 \
        -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
        > "logs/$t.log" 2>&1 || true
    cargo +nightly fuzz cmin -s none "$t" -- -rss_limit_mb=4096 -timeout=10 \
        >> "logs/$t.log" 2>&1 || true
done
