#!/usr/bin/env python3
"""One benchmark run of vault's local (and, with bench/sftp.py, remote) speed.

    python3 bench/run.py [--size 1GiB] [--runs 3] [--threads N] [--no-sftp]

In one run, on the same input files and the same machine state, it measures:

- raw AEAD per suite (`examples/aead_speed.rs`): 64 KiB chunks sealed and
  opened in place, on 1 thread and on N threads: the ceiling;
- `vault seal` / `vault open` per suite at 1 and N threads;
- `vault seal --age` and `vault open` of an age file (made by age);
- `age` and `rage` encrypting and decrypting the same file with the same key;
- the peak resident memory of every command (GNU time's %M);
- the rows of `bench/sftp.py` (push/pull), if that file exists.

Every command writes to /dev/null and reads its input from the page cache
(the input is read once before timing). Each figure is the median of
`--runs` runs; the commands take turns within a round, and the raw rows are
measured once in every round too, so that a burst of load from other
processes spreads over all of them and over the ceiling they are divided by. MB/s is 1e6 bytes per
second of plaintext. The table goes to stdout and, with the machine's CPU
model, core count, load, date and the command, to bench/results.md.

Installs what is missing: age and time (apt-get), rage (cargo install --locked rage).
"""

import argparse
import datetime
import importlib.util
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from common import cpu_model, markers, parse_size, require_tools, sayer, write_section  # noqa: E402
SUITES = ["chacha20poly1305", "aes256gcm"]
TARGETS_NOTE = "issue 6 targets, measured in this run"
# This script's section of results.md.
RUN_BEGIN, RUN_END = markers("run.py")

say = sayer("bench")


def ensure_tools(install):
    """age and GNU time from Debian, rage from crates.io, when missing."""
    require_tools("bench", {"age": shutil.which("age")}, {}, install, say, " for peak memory")
    if not shutil.which("rage") and install:
        say("installing rage with cargo install --locked rage (a few minutes)")
        subprocess.run(["cargo", "install", "--locked", "rage"], check=False)
    return {t: shutil.which(t) for t in ["age", "rage"]}


def build(skip):
    if not skip:
        say("cargo build --release (vault, examples/aead_speed, examples/bench_server)")
        subprocess.run(
            ["cargo", "build", "--release", "--locked", "--bin", "vault", "--example", "aead_speed",
             "--example", "bench_server"],
            cwd=ROOT,
            check=True,
        )
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return (
        os.path.join(target, "release", "vault"),
        os.path.join(target, "release", "examples", "aead_speed"),
    )


def timed(argv, env, scratch):
    """Run argv; return (seconds, peak RSS in MiB). Fails loudly.

    The peak comes from /usr/bin/time, not from this process's wait4: a
    child forked from Python starts with Python's resident set counted in
    its high-water mark, which would hide small peaks.
    """
    stats = os.path.join(scratch, "time.out")
    start = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", stats] + argv, env=env,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    secs = time.perf_counter() - start
    if p.returncode != 0:
        raise SystemExit(f"bench: {' '.join(argv)} failed ({p.returncode}): {p.stderr.decode()}")
    with open(stats) as f:
        peak_kib = int(f.read().split()[-1])
    return secs, peak_kib / 1024


def raw_aead(aead_bin, mib, threads, runs):
    """Median MB/s per (suite, threads, op) over `runs` runs (1: that run)."""
    seen = {}
    for _ in range(runs):
        out = subprocess.run([aead_bin, str(mib), "1", str(threads)], check=True,
                             capture_output=True, text=True).stdout
        for line in out.splitlines():
            suite, t, op, mbs = line.split()
            seen.setdefault((suite, int(t), op), []).append(float(mbs))
    return {k: statistics.median(v) for k, v in seen.items()}




def load_sftp(vault_bin, input_path, workdir):
    path = os.path.join(ROOT, "bench", "sftp.py")
    if not os.path.exists(path):
        return [], None
    spec = importlib.util.spec_from_file_location("vault_bench_sftp", path)
    mod = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(mod)
        sftp_dir = os.path.join(workdir, "sftp")
        os.makedirs(sftp_dir, exist_ok=True)
        return list(mod.run(vault_bin, input_path, sftp_dir)), None
    except Exception as e:  # the local rows are still worth printing
        return [], f"bench/sftp.py failed: {type(e).__name__}: {e}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=parse_size, default=parse_size("1GiB"),
                    help="input size (default 1GiB)")
    ap.add_argument("--runs", type=int, default=3, help="runs per command (median; default 3)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                    help="the 'all cores' thread count (default: every core)")
    ap.add_argument("--raw-mib", type=int, default=512,
                    help="buffer for the raw AEAD rows (default 512 MiB)")
    ap.add_argument("--no-sftp", action="store_true", help="skip bench/sftp.py")
    ap.add_argument("--no-build", action="store_true",
                    help="use the release binaries already built")
    ap.add_argument("--no-install", action="store_true", help="do not install age or rage")
    ap.add_argument("--workdir", help="keep the files here (default: a temporary folder)")
    ap.add_argument("--output", default=os.path.join(ROOT, "bench", "results.md"),
                    help="markdown report (default bench/results.md)")
    args = ap.parse_args()
    n = args.threads
    size = args.size
    command = "python3 bench/run.py " + " ".join(sys.argv[1:])

    tools = ensure_tools(not args.no_install)
    vault, aead_bin = build(args.no_build)
    work = args.workdir or tempfile.mkdtemp(prefix="vault-bench.")
    os.makedirs(work, exist_ok=True)
    env = dict(os.environ, VAULT_HOME=os.path.join(work, "keystore"))
    for v in ["VAULT_THREADS", "VAULT_PASSPHRASE_FILE", "VAULT_PASSPHRASE_COMMAND"]:
        env.pop(v, None)
    load_before = os.getloadavg()
    started = datetime.datetime.now(datetime.timezone.utc)

    subprocess.run([vault, "keygen", "--no-passphrase"], env=env, check=True,
                   capture_output=True)
    identity = os.path.join(env["VAULT_HOME"], "identity")
    me = subprocess.run([vault, "id"], env=env, check=True, capture_output=True,
                        text=True).stdout.strip()
    plain = os.path.join(work, "plain")
    say(f"{size / 2**20:.0f} MiB of random input in {work}")
    with open(plain, "wb") as f:
        left = size
        while left:
            block = os.urandom(min(left, 1 << 24))
            f.write(block)
            left -= len(block)

    def file(name):
        return os.path.join(work, name)

    # Inputs for the open rows, each made once.
    for s in SUITES:
        subprocess.run([vault, "seal", "--cipher", s, "-f", "-o", file(f"in.{s}.vault"), plain],
                       env=env, check=True)
    if tools["age"]:
        subprocess.run(["age", "-r", me, "-o", file("in.age"), plain], check=True)
    else:
        subprocess.run([vault, "seal", "--age", "-f", "-o", file("in.age"), plain], env=env,
                       check=True)
    # Each tool opens what another made: an interop check on a big file.
    subprocess.run(f"{vault} open -o - {file('in.age')} | cmp - {plain}", shell=True, env=env,
                   check=True)


    dn = "/dev/null"
    cmds = []  # (label, argv, kind) kind: (suite, op, threads) or None
    for s in SUITES:
        for t in sorted({1, n}):
            cmds.append((f"vault seal {s} {t}t",
                         [vault, "seal", "--cipher", s, "--threads", str(t), "-o", dn, plain],
                         (s, "seal", t)))
            cmds.append((f"vault open {s} {t}t",
                         [vault, "open", "--threads", str(t), "-o", dn, file(f"in.{s}.vault")],
                         (s, "open", t)))
    for t in sorted({1, n}):
        cmds.append((f"vault seal --age {t}t",
                     [vault, "seal", "--age", "--threads", str(t), "-o", dn, plain],
                     ("chacha20poly1305", "seal", t)))
        cmds.append((f"vault open (age file) {t}t",
                     [vault, "open", "--threads", str(t), "-o", dn, file("in.age")],
                     ("chacha20poly1305", "open", t)))
    for tool in ["age", "rage"]:
        if tools[tool]:
            cmds.append((f"{tool} -e", [tool, "-r", me, "-o", dn, plain], None))
            cmds.append((f"{tool} -d", [tool, "-d", "-i", identity, "-o", dn, file("in.age")],
                         None))

    subprocess.run(["cat", plain] + [file(f"in.{s}.vault") for s in SUITES] + [file("in.age")],
                   stdout=subprocess.DEVNULL, check=True)
    times = {label: [] for label, _, _ in cmds}
    peaks = {label: 0.0 for label, _, _ in cmds}
    # The raw rows are measured once per round, between the commands, so
    # that a burst of load from other tenants of the machine hits the
    # ceiling and the commands alike and the ratios stay comparable.
    raw_runs = []
    for r in range(args.runs + 1):
        say(f"round {r + 1}/{args.runs + 1}" + (" (warm-up, not counted)" if r == 0 else ""))
        if r:
            raw_runs.append(raw_aead(aead_bin, args.raw_mib, n, 1))
        for label, argv, _ in cmds:
            secs, peak = timed(argv, env, work)
            if r:
                times[label].append(secs)
            peaks[label] = max(peaks[label], peak)

    raw = {k: statistics.median(run[k] for run in raw_runs) for k in raw_runs[0]}
    # Only the local rows read the sealed copies: free their room for the
    # server's copy and the downloaded one.
    for name in [f"in.{s}.vault" for s in SUITES] + ["in.age"]:
        os.unlink(file(name))
    sftp_rows, sftp_error = ([], None) if args.no_sftp else load_sftp(vault, plain, work)
    load_after = os.getloadavg()

    mbs = {label: size / 1e6 / statistics.median(ts) for label, ts in times.items()}

    def peer(op):
        return {"seal": "-e", "open": "-d"}[op]

    rows = []
    for s in SUITES:
        for t in sorted({1, n}):
            for op in ["seal", "open"]:
                rows.append((f"raw {s} {op} {t}t", raw[(s, t, op)], None, "", "", ""))
    for label, _, kind in cmds:
        cols = ["", "", ""]
        if kind:
            s, op, t = kind
            cols[0] = f"{mbs[label] / raw[(s, 1, op)]:.2f}x"
            for i, tool in enumerate(["age", "rage"], 1):
                ref = f"{tool} {peer(op)}"
                if ref in mbs:
                    cols[i] = f"{mbs[label] / mbs[ref]:.2f}x"
        rows.append((label, mbs[label], peaks[label], *cols))
    by_label = {r[0]: r[1] for r in rows}
    sftp_failures = []
    for row in sftp_rows:
        base = row.get("baseline")
        ratio = ""
        if base and by_label.get(base) and row["mb_s"]:
            ratio = f"{row['mb_s'] / by_label[base]:.2f}x {base}"
        by_label[row["label"]] = row["mb_s"]
        rows.append((row["label"], row["mb_s"], row.get("peak_mib"), "", "", ratio))
        if row.get("error") and not row["label"].endswith(" vs rclone"):
            sftp_failures.append(f"{row['label']} failed: {row['error']}")

    header = ["command", "MB/s", "peak MiB", "/ raw 1 core", "/ age", "/ rage or baseline"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, v, peak, *cols in rows:
        p = f"{peak:.1f}" if peak else ""
        shown = f"{v:.0f}" if v else "failed"
        lines.append(f"| {label} | {shown} | {p} | " + " | ".join(cols) + " |")
    table = "\n".join(lines)

    # The targets, from this run's figures.
    def ratio(a, b):
        return mbs[a] / mbs[b] if a in mbs and b in mbs else None

    checks = []

    def check(name, value, goal, mode=">="):
        if value is None:
            checks.append(f"| {name} | n/a | {mode} {goal} | not measured |")
            return
        ok = value >= goal if mode == ">=" else value < goal
        checks.append(f"| {name} | {value:.3f} | {mode} {goal} | {'met' if ok else 'MISSED'} |")

    cha = "chacha20poly1305"
    for op in ["seal", "open"]:
        check(f"chacha {op} {n}t / raw 1 core", mbs[f"vault {op} {cha} {n}t"] / raw[(cha, 1, op)],
              1.6)
    check(f"vault seal --age {n}t / rage -e", ratio(f"vault seal --age {n}t", "rage -e"), 2.5)
    check(f"vault open (age file) {n}t / rage -d", ratio(f"vault open (age file) {n}t", "rage -d"),
          2.5)
    check(f"vault seal --age {n}t / age -e", ratio(f"vault seal --age {n}t", "age -e"), 1.1)
    check(f"vault open (age file) {n}t / age -d", ratio(f"vault open (age file) {n}t", "age -d"),
          1.5)
    check(f"aes seal {n}t / age -e", ratio(f"vault seal aes256gcm {n}t", "age -e"), 3.0)
    check(f"aes open {n}t / age -d", ratio(f"vault open aes256gcm {n}t", "age -d"), 3.0)
    for s in SUITES:
        for op in ["seal", "open"]:
            check(f"{s} {op} 1t / raw 1 core", mbs[f"vault {op} {s} 1t"] / raw[(s, 1, op)], 0.9)
    vault_peak = max(v for k, v in peaks.items() if k.startswith("vault"))
    check("peak RSS of any vault command (MiB)", vault_peak, 64, "<")
    targets = "\n".join(["| target | measured | goal | |", "|---|---|---|---|"] + checks)

    loads = (f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after "
             "(other processes share the machine)")
    print()
    print(table)
    print()
    print(targets)
    print()
    print(loads)
    if sftp_error:
        print(sftp_error)
    for line in sftp_failures:
        print(line)

    report = f"""- Command: `{command}`
- Date: {started:%Y-%m-%d %H:%M} UTC
- CPU: {cpu_model()}, {os.cpu_count()} cores; `{platform.platform()}`
- Input: {size / 2**20:.0f} MiB of random bytes, read from the page cache; every
  command writes to /dev/null. Median of {args.runs} runs (after one warm-up round).
- {loads}
- Raw rows: `examples/aead_speed.rs`, {args.raw_mib} MiB sealed/opened in place in
  64 KiB chunks, once per round (median of the rounds). `Nt` = N worker
  threads (`--threads N`). MB/s = 1e6 bytes/s of plaintext. Ratios divide
  MB/s: "/ raw 1 core" by the raw single-core figure of the same suite and
  direction; "/ age", "/ rage" by the same direction of the peer on the same
  file (SFTP rows: by the named baseline row).

{table}

## {TARGETS_NOTE}

{targets}
"""
    if sftp_error:
        report += f"\n{sftp_error}\n"
    if sftp_failures:
        report += "\n" + "\n".join(f"- {line}" for line in sftp_failures) + "\n"
    # Other scripts (bench/farlink.py, bench/s3.py) keep their own sections
    # of the same file: replace only this script's.
    write_section(args.output, RUN_BEGIN, RUN_END, report)
    say(f"wrote {os.path.relpath(args.output)}")
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
