"""Checks that the wheel's build (`maturin build`, the package edgesim-python alone) asks
for the same features of every crate it shares with the crate's test build (`cargo test
--release`, dev-dependencies included). A crate built with other features is another
artifact: cargo recompiles it and everything above it, so the wheel would no longer
reuse the test build's dependencies (minutes of CI). Exits 1 naming each crate that
differs and what to add to python/Cargo.toml.

Usage: python3 python/feature_parity.py   (from the repository root)
"""

import subprocess
import sys


def features(package: str, edges: str) -> dict:
    """{"name version": set of features} of the crates `package` builds (host included)."""
    out = subprocess.run(
        ["cargo", "tree", "-p", package, "-e", edges, "--prefix", "none",
         "-f", "{p} | {f}", "--target", "all"],
        check=True, capture_output=True, text=True,
    ).stdout
    crates: dict = {}
    for line in out.splitlines():
        if " | " not in line:
            continue
        pkg, feats = line.split(" | ", 1)
        name, version = pkg.split()[:2]
        feats = feats.removesuffix(" (*)").strip()
        crates.setdefault(f"{name} {version}", set()).update(f for f in feats.split(",") if f)
    return crates


def main() -> int:
    test = features("edgesim", "normal,build,dev")
    wheel = features("edgesim-python", "normal,build")
    differ = sorted(k for k in wheel.keys() & test.keys() if wheel[k] != test[k])
    if not differ:
        print(f"feature parity: the wheel shares {len(wheel.keys() & test.keys())} crates "
              "with the test build, all with the same features")
        return 0
    for k in differ:
        print(f"feature parity: {k}: test build {sorted(test[k])}, wheel {sorted(wheel[k])}; "
              f"missing in the wheel: {sorted(test[k] - wheel[k])}, "
              f"extra in the wheel: {sorted(wheel[k] - test[k])}", file=sys.stderr)
    print("feature parity: name the missing features as dependencies in python/Cargo.toml "
          "(see its note), or avoid the extra ones, so the wheel reuses the test build",
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
