#!/usr/bin/env bash
# Benchmark (not a test): vault's age mode against age itself, same machine,
# same run, same file, same X25519 key.
#
#   bench/age.sh [SIZE_MIB]        default 1024 (1 GiB); RUNS=5 by default
#
# Times `vault seal --age` against `age -e`, and `vault open` of an age file
# (made by age) against `age -d`, each writing a file and writing to
# /dev/null, with hyperfine (medians), then prints MB/s (1e6 bytes/s), the
# time ratio vault/age (below 1: vault is faster) and peak memory.
# Note: `vault` writes output files atomically (temporary file, fsync, rename);
# `age` does not sync. The /dev/null rows compare the pipelines alone.
# Builds vault in release mode; needs hyperfine, age, age-keygen, python3.
set -euo pipefail
cd "$(dirname "$0")/.."

size_mib=${1:-1024}
runs=${RUNS:-5}
for tool in hyperfine age age-keygen python3; do
  command -v "$tool" >/dev/null || { echo "bench/age.sh: $tool is missing" >&2; exit 1; }
done

cargo build --release --locked -q
vault="${CARGO_TARGET_DIR:-target}/release/vault"
vault=$(realpath "$vault")

work=$(mktemp -d "${TMPDIR:-/tmp}/vault-age-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export VAULT_HOME="$work/keystore"
unset VAULT_PASSPHRASE_FILE VAULT_PASSPHRASE_COMMAND
"$vault" keygen --no-passphrase >/dev/null 2>&1
identity="$VAULT_HOME/identity"
me=$("$vault" id)

echo "bench/age.sh: $size_mib MiB of random data in $work" >&2
head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$work/plain"
age -r "$me" -o "$work/by-age.age" "$work/plain"
"$vault" seal --age -o "$work/by-vault.age" "$work/plain"
# Each tool opens what the other made: a last interop check on a big file.
age -d -i "$identity" "$work/by-vault.age" | cmp - "$work/plain"
"$vault" open -o - "$work/by-age.age" | cmp - "$work/plain"

hyperfine --style basic --warmup 1 --runs "$runs" --export-json "$work/results.json" \
  -n "age -e (file)" "age -r $me -o $work/out.age $work/plain" \
  -n "vault seal --age (file)" "$vault seal --age -f -o $work/out.age $work/plain" \
  -n "age -d (file)" "age -d -i $identity -o $work/out.plain $work/by-age.age" \
  -n "vault open age file (file)" "$vault open -f -o $work/out.plain $work/by-age.age" \
  -n "age -e (/dev/null)" "age -r $me -o /dev/null $work/plain" \
  -n "vault seal --age (/dev/null)" "$vault seal --age -o /dev/null $work/plain" \
  -n "age -d (/dev/null)" "age -d -i $identity -o /dev/null $work/by-age.age" \
  -n "vault open age file (/dev/null)" "$vault open -o /dev/null $work/by-age.age" \
  >&2

peak() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
mem_age_e=$(peak age -r "$me" -o /dev/null "$work/plain")
mem_vault_e=$(peak "$vault" seal --age -o /dev/null "$work/plain")
mem_age_d=$(peak age -d -i "$identity" -o /dev/null "$work/by-age.age")
mem_vault_d=$(peak "$vault" open -o /dev/null "$work/by-age.age")

python3 - "$work/results.json" "$size_mib" "$mem_age_e" "$mem_vault_e" "$mem_age_d" "$mem_vault_d" <<'EOF'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
size = int(sys.argv[2]) * 1024 * 1024
mem = dict(zip(["age -e", "vault seal --age", "age -d", "vault open age file"], sys.argv[3:]))
print(f"{size / 1e9:.2f} GB, median of {len(next(iter(results.values()))['times'])} runs")
print(f"{'command':34} {'median s':>9} {'MB/s':>7}  vault/age   peak RSS")
for sink in ["file", "/dev/null"]:
    for peer, ours in [("age -e", "vault seal --age"), ("age -d", "vault open age file")]:
        a, v = results[f"{peer} ({sink})"], results[f"{ours} ({sink})"]
        for name, r in [(peer, a), (ours, v)]:
            ratio = f"{v['median'] / a['median']:9.2f}" if r is v else " " * 9
            rss = f"{int(mem[name]) // 1024} MiB" if sink == "/dev/null" else ""
            print(f"{name + ' (' + sink + ')':34} {r['median']:9.3f} {size / r['median'] / 1e6:7.0f}  {ratio}   {rss}")
EOF
