#!/usr/bin/env python3
"""S3 benchmark: vault against rclone crypt and plain rclone on one SeaweedFS.

    python3 bench/s3.py [--size 1GiB] [--files 1000] [--runs 3] [--threads N]
                        [--workdir DIR] [--no-build] [--no-install] [--no-write]

One SeaweedFS (tests/common/seaweedfs.rs, started by examples/bench_server.rs
--s3 through bench/server.py: 127.0.0.1, plain HTTP, one `weed server`) and,
on it, in one run:

- push and pull of one file of `--size` random bytes (default 1 GiB);
- push and pull of a folder of `--files` files of 1-4 KiB (default 1,000);

each by three clients, in turns within every round so that machine noise
hits all of them alike:

- vault (`s3://BUCKET/PREFIX`, `--threads` connections for the large file,
  default vault's own);
- Debian's `rclone` with a crypt remote over an S3 remote (`type = s3`,
  `provider = SeaweedFS`): the encrypted peer;
- plain `rclone copy` / `copyto` to the same bucket: the unencrypted
  ceiling of what the store takes and gives.

rclone runs with its defaults (4 transfers, 8 checkers, multipart uploads of
5 MiB chunks 4 at a time above 200 MiB) and without `AWS_CA_BUNDLE` in its
environment, which it refuses to start with. vault's folder push is
`push --recursive --name fold DIR URL` when `vault push --help` offers it,
else one `vault push FILE... URL` of every file (said in the table); its
folder pull likewise `pull --recursive` or `pull URL NAME... -C DIR`.

Each figure is the median of `--runs` runs: wall time of the whole command
and its peak resident memory (GNU time's %M, children included). MB/s is
1e6 bytes per second. Every pulled copy is compared with the original once.
Between rounds everything stored is removed and SeaweedFS compacts its
volumes, so the store's disk use stays at one round's. The table goes to
stdout and to its own section of bench/results.md.

Needs about 5x `--size` free in the work folder (the input, the store's
copies, one pulled copy); a RAM-backed folder (`--workdir /dev/shm/...`)
keeps the disk out of the comparison.

Installs what is missing (apt-get): rclone, time.
"""

import argparse
import datetime
import filecmp
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from common import (TIME, cpu_model, markers, need_free, parse_size, publish,  # noqa: E402
                    require_tools, sayer)
from common import rclone_version as rclone_banner  # noqa: E402
from farlink import build, make_files  # noqa: E402
from server import Server  # noqa: E402

BEGIN, END = markers("s3.py")
CLIENTS = ["vault", "rclone crypt", "rclone"]

say = sayer("s3 bench")


def ensure_tools(install):
    require_tools("s3 bench", {"rclone": shutil.which("rclone")}, {"rclone": "rclone"}, install,
                  say)


def rclone_env(s, work):
    """rclone remotes in the environment and an empty config file: `bs3:`
    (the SeaweedFS) and `bcrypt:` (crypt over `bs3:BUCKET/rclone-crypt`)."""
    obscure = lambda text: subprocess.run(  # noqa: E731
        ["rclone", "obscure", text], capture_output=True, text=True, check=True).stdout.strip()
    conf = os.path.join(work, "rclone.conf")
    open(conf, "w").close()
    # rclone refuses to start when AWS_CA_BUNDLE is set; no AWS_* at all, so
    # that nothing but this configuration reaches it.
    env = {k: v for k, v in s.env.items() if not k.startswith("AWS_")}
    env.update({
        "RCLONE_CONFIG": conf,
        "RCLONE_CONFIG_BS3_TYPE": "s3",
        "RCLONE_CONFIG_BS3_PROVIDER": "SeaweedFS",
        "RCLONE_CONFIG_BS3_ACCESS_KEY_ID": s.s3["access_key"],
        "RCLONE_CONFIG_BS3_SECRET_ACCESS_KEY": s.s3["secret_key"],
        "RCLONE_CONFIG_BS3_ENDPOINT": s.s3["endpoint"],
        "RCLONE_CONFIG_BS3_REGION": s.s3["region"],
        "RCLONE_CONFIG_BCRYPT_TYPE": "crypt",
        "RCLONE_CONFIG_BCRYPT_REMOTE": f"bs3:{s.s3['bucket']}/rclone-crypt",
        "RCLONE_CONFIG_BCRYPT_PASSWORD": obscure("vault-bench-password"),
        "RCLONE_CONFIG_BCRYPT_PASSWORD2": obscure("vault-bench-salt"),
    })
    return env


class Run:
    """One command's outcome: seconds and peak MiB, or why not (`note`)."""

    def __init__(self, secs=None, peak=None, note=None):
        self.secs, self.peak, self.note = secs, peak, note


def timed(argv, env, cwd=None, timeout=1800):
    stats = tempfile.NamedTemporaryFile(prefix="vault-s3bench-", delete=False)
    stats.close()
    start = time.perf_counter()
    p = subprocess.Popen([TIME, "-f", "%M", "-o", stats.name] + argv, env=env, cwd=cwd,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, start_new_session=True, text=True)
    try:
        _, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        os.unlink(stats.name)
        return Run(note=f"stopped after {timeout} s")
    secs = time.perf_counter() - start
    peak = None
    try:
        with open(stats.name) as f:
            peak = int(f.read().split()[-1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    os.unlink(stats.name)
    if p.returncode != 0:
        lines = (err or "").strip().splitlines()
        msg = lines[-1][:300] if lines else f"exit {p.returncode}"
        say(f"  failed: {' '.join(argv)[:200]}: {msg}")
        return Run(note=f"failed: {msg}")
    return Run(secs, peak)


def median(xs):
    return statistics.median(xs) if xs else None


class Bench:
    def __init__(self, a, vault, s, work):
        self.a, self.vault, self.s, self.work = a, vault, s, work
        self.bucket = s.s3["bucket"]
        self.venv = s.s3_env()
        self.venv["VAULT_HOME"] = os.path.join(work, "keystore")
        for v in ["VAULT_THREADS", "VAULT_PASSPHRASE_FILE", "VAULT_PASSPHRASE_COMMAND"]:
            self.venv.pop(v, None)
        self.renv = rclone_env(s, work)
        self.results = {}  # (work, client) -> [Run]
        self.order = []
        help_push = subprocess.run([vault, "push", "--help"], capture_output=True,
                                   text=True).stdout
        help_pull = subprocess.run([vault, "pull", "--help"], capture_output=True,
                                   text=True).stdout
        self.push_r = "--recursive" in help_push
        self.pull_r = "--recursive" in help_pull
        say(f"vault push --recursive: {'yes' if self.push_r else 'no'}; "
            f"pull --recursive: {'yes' if self.pull_r else 'no'}")

    def setup(self):
        subprocess.run([self.vault, "keygen", "--no-passphrase"], env=self.venv, check=True,
                       capture_output=True)
        self.big = os.path.join(self.work, "big.bin")
        say(f"writing {self.a.size / 2**20:.0f} MiB of random bytes")
        with open(self.big, "wb") as f:
            left = self.a.size
            while left:
                n = min(left, 16 << 20)
                f.write(os.urandom(n))
                left -= n
        self.folder = os.path.join(self.work, "fold")
        self.names = make_files(self.folder, self.a.files, seed=17)
        self.folder_bytes = sum(os.path.getsize(os.path.join(self.folder, n))
                                for n in self.names)

    def record(self, work, client, run):
        key = (work, client)
        if key not in self.order:
            self.order.append(key)
        self.results.setdefault(key, []).append(run)
        shown = f"{run.secs:.2f} s, {run.peak:.0f} MiB" if run.secs is not None else run.note
        say(f"{work} / {client}: {shown}")
        return run

    def vault_cmd(self, *args):
        threads = ["--threads", str(self.a.threads)] if self.a.threads else []
        if args[0] in ("push", "pull"):
            return [self.vault, args[0], "-q", *threads, *args[1:]]
        return [self.vault, *args]

    def out(self, name):
        p = os.path.join(self.work, "out", name)
        shutil.rmtree(p, ignore_errors=True)
        if os.path.exists(p):
            os.unlink(p)
        return p

    def round(self, k):
        a, b = self.a, self.bucket
        mib = a.size / 2**20
        url_big = f"s3://{b}/vault-big-{k}"
        url_fold = f"s3://{b}/vault-fold-{k}"
        os.makedirs(os.path.join(self.work, "out"), exist_ok=True)
        check = k == 0

        work = f"push {mib:.0f} MiB"
        pushed = {
            "vault": self.record(work, "vault", timed(
                self.vault_cmd("push", "--name", "big", self.big, url_big), self.venv)),
            "rclone crypt": self.record(work, "rclone crypt", timed(
                ["rclone", "copyto", self.big, f"bcrypt:big-{k}"], self.renv)),
            "rclone": self.record(work, "rclone", timed(
                ["rclone", "copyto", self.big, f"bs3:{b}/plain/big-{k}"], self.renv)),
        }
        work = f"pull {mib:.0f} MiB"
        runs = [
            ("vault", self.vault_cmd("pull", "-f", url_big, "big", "-o", "{out}"), self.venv),
            ("rclone crypt", ["rclone", "copyto", f"bcrypt:big-{k}", "{out}"], self.renv),
            ("rclone", ["rclone", "copyto", f"bs3:{b}/plain/big-{k}", "{out}"], self.renv),
        ]
        for client, out in self.pulls(work, pushed, runs, "big"):
            if check and os.path.exists(out) and not filecmp.cmp(out, self.big, shallow=False):
                raise SystemExit(f"s3 bench: {client} pulled other bytes than it pushed")
            if os.path.exists(out):
                os.unlink(out)

        nf = len(self.names)
        work = f"push {nf:,} files"
        if self.push_r:
            argv = self.vault_cmd("push", "--recursive", "--name", "fold", self.folder, url_fold)
        else:
            argv = self.vault_cmd("push", *self.names, url_fold)
        pushed = {
            "vault": self.record(work, "vault", timed(argv, self.venv, cwd=self.folder)),
            "rclone crypt": self.record(work, "rclone crypt", timed(
                ["rclone", "copy", self.folder, f"bcrypt:fold-{k}"], self.renv)),
            "rclone": self.record(work, "rclone", timed(
                ["rclone", "copy", self.folder, f"bs3:{b}/plain/fold-{k}"], self.renv)),
        }
        work = f"pull {nf:,} files"
        if self.pull_r:
            vargv = self.vault_cmd("pull", "--recursive", url_fold, "fold", "-C", "{out}")
        else:
            vargv = self.vault_cmd("pull", url_fold, *self.names, "-C", "{out}")
        runs = [
            ("vault", vargv, self.venv),
            ("rclone crypt", ["rclone", "copy", f"bcrypt:fold-{k}", "{out}"], self.renv),
            ("rclone", ["rclone", "copy", f"bs3:{b}/plain/fold-{k}", "{out}"], self.renv),
        ]
        for client, out in self.pulls(work, pushed, runs, "fold", folder=True):
            if check:
                got = out if not (client == "vault" and self.pull_r) else os.path.join(out, "fold")
                cmp = filecmp.dircmp(self.folder, got)
                if cmp.left_only or cmp.diff_files or cmp.funny_files:
                    raise SystemExit(f"s3 bench: {client} pulled another folder than it pushed")
            shutil.rmtree(out, ignore_errors=True)
        self.clean()

    def pulls(self, work, pushed, runs, name, folder=False):
        """Time each client's pull of `runs` (client, argv with `{out}`,
        environment) into a fresh output `name`, skipped where its push
        failed; yield (client, output) for the caller to check and remove."""
        for client, argv, env in runs:
            if pushed[client].secs is None:
                self.record(work, client, Run(note="skipped (the push failed)"))
                continue
            out = self.out(name)
            if folder:
                os.makedirs(out)
            self.record(work, client, timed([x.replace("{out}", out) for x in argv], env))
            yield client, out

    def clean(self):
        """Remove everything stored and give the space back."""
        r = subprocess.run(["rclone", "purge", f"bs3:{self.bucket}"], env=self.renv,
                           capture_output=True, text=True)
        if r.returncode != 0:
            say(f"rclone purge: {r.stderr.strip()[-300:]}")
        subprocess.run(["rclone", "mkdir", f"bs3:{self.bucket}"], env=self.renv,
                       capture_output=True)
        try:
            self.s.vacuum()
        except RuntimeError as e:
            say(str(e))

    # -- report ------------------------------------------------------------
    def cell(self, work, client):
        runs = self.results.get((work, client), [])
        secs = [r.secs for r in runs if r.secs is not None]
        if not secs:
            notes = [r.note for r in runs if r.note]
            return None, None, (notes[0] if notes else "n/a")
        peak = median([r.peak for r in runs if r.peak is not None])
        return median(secs), peak, None

    def label(self, work, client):
        if client != "vault" or "files" not in work:
            return client
        if work.startswith("push"):
            return "vault (`push --recursive`)" if self.push_r else "vault (`push FILE...`)"
        return "vault (`pull --recursive`)" if self.pull_r else "vault (`pull NAME... -C`)"

    def table(self):
        mb = {f"push {self.a.size / 2**20:.0f} MiB": self.a.size,
              f"pull {self.a.size / 2**20:.0f} MiB": self.a.size}
        lines = ["| work | client | seconds | MB/s | peak RSS MiB |", "|---|---|---|---|---|"]
        for work, client in self.order:
            secs, peak, note = self.cell(work, client)
            if secs is None:
                lines.append(f"| {work} | {self.label(work, client)} | {note} | | |")
                continue
            rate = f"{mb[work] / secs / 1e6:.0f}" if work in mb else \
                f"{self.a.files / secs:.0f} files/s"
            lines.append(f"| {work} | {self.label(work, client)} | {secs:.2f} | {rate} | "
                         f"{peak:.0f} |")
        return "\n".join(lines)

    def targets(self):
        mib = f"{self.a.size / 2**20:.0f} MiB"
        nf = f"{len(self.names):,} files"
        checks = [
            (f"push {mib}: vault speed / rclone crypt", f"push {mib}", "rclone crypt", 1.5),
            (f"push {mib}: vault speed / plain rclone", f"push {mib}", "rclone", 0.9),
            (f"pull {mib}: vault speed / rclone crypt", f"pull {mib}", "rclone crypt", 1.5),
            (f"pull {mib}: vault speed / plain rclone", f"pull {mib}", "rclone", 0.9),
            (f"push {nf}: vault speed / rclone crypt", f"push {nf}", "rclone crypt", 1.0),
            (f"pull {nf}: vault speed / rclone crypt", f"pull {nf}", "rclone crypt", 1.0),
        ]
        lines = ["| target | goal | this run |", "|---|---|---|"]
        for name, work, theirs, goal in checks:
            mine_s, _, _ = self.cell(work, "vault")
            their_s, _, _ = self.cell(work, theirs)
            if mine_s is None or their_s is None:
                lines.append(f"| {name} | >= {goal} | not measured |")
                continue
            v = their_s / mine_s
            lines.append(f"| {name} | >= {goal} | {v:.2f}x {'met' if v >= goal else 'MISSED'} |")
        peaks = [(self.cell(w, c)[1], w) for w, c in self.order if c == "vault"]
        peaks = [(p, w) for p, w in peaks if p is not None]
        if peaks:
            p, w = max(peaks)
            lines.append(f"| peak RSS of vault (any row; largest: {w}) | < 64 MiB | "
                         f"{p:.1f} MiB {'met' if p < 64 else 'MISSED'} |")
        return "\n".join(lines)


def weed_version():
    try:
        scripts = subprocess.run([sys.executable, "-c", "import sysconfig; "
                                  "print(sysconfig.get_path('scripts'))"],
                                 capture_output=True, text=True).stdout.strip()
        weed = os.environ.get("VAULT_TEST_WEED") or os.path.join(scripts, "weed")
        out = subprocess.run([weed, "version"], capture_output=True, text=True).stdout
        return out.strip().splitlines()[0] if out.strip() else "weed (version unknown)"
    except OSError:
        return "weed (version unknown)"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=parse_size, default=parse_size("1GiB"))
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, help="vault --threads (default: vault's own)")
    ap.add_argument("--workdir", help="where the data and the store go (default: a temporary "
                    "folder; needs about 5x --size)")
    ap.add_argument("--no-build", action="store_true", help="use the release binaries built")
    ap.add_argument("--no-install", action="store_true", help="install nothing")
    ap.add_argument("--output", default=os.path.join(HERE, "results.md"))
    ap.add_argument("--no-write", action="store_true", help="print only")
    a = ap.parse_args()
    command = " ".join(["python3 bench/s3.py"] + sys.argv[1:])
    ensure_tools(not a.no_install)
    vault, server_bin = build(a.no_build)
    vault = os.path.abspath(vault)
    if a.workdir:
        os.makedirs(a.workdir, exist_ok=True)
    work = tempfile.mkdtemp(prefix="vault-s3bench.", dir=a.workdir)
    need_free("s3 bench", work, 5 * a.size + (256 << 20), "--workdir, --size", cleanup=True)
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.perf_counter()
    load_before = os.getloadavg()
    rclone_version = rclone_banner()
    try:
        with Server(tmpdir=work, exe=server_bin, s3=True) as s:
            b = Bench(a, vault, s, work)
            b.setup()
            for k in range(a.runs):
                say(f"round {k + 1} of {a.runs}")
                b.round(k)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    total = time.perf_counter() - t0
    load_after = os.getloadavg()
    fs = subprocess.run(["df", "--output=fstype", a.workdir or tempfile.gettempdir()],
                        capture_output=True, text=True).stdout.split()[-1:]
    text = f"""## S3: vault, rclone crypt and plain rclone on one SeaweedFS (bench/s3.py)

- Command: `{command}`
- Date: {started:%Y-%m-%d %H:%M} UTC; the run took {total / 60:.0f} min
- CPU: {cpu_model()}, {os.cpu_count()} cores; `{platform.platform()}`; load average
  {load_before[0]:.1f} before, {load_after[0]:.1f} after (other processes share the machine)
- vault: `{vault}`{f' --threads {a.threads}' if a.threads else ''}; {rclone_version}
  (defaults); {weed_version()}: one `weed server` on 127.0.0.1, plain HTTP, started by
  `examples/bench_server.rs --s3`; data, inputs and outputs on {fs[0] if fs else '?'}
- Medians of {a.runs} runs, the three clients in turns; wall time of the whole command,
  peak RSS from GNU time (%M); MB/s = 1e6 bytes/s; small files 1-4 KiB
  ({b.folder_bytes / 1e6:.1f} MB in all)

{b.table()}

Targets (issue 17), speed = the peer's time / vault's time:

{b.targets()}
"""
    publish(text, a.output, BEGIN, END, say, not a.no_write)


if __name__ == "__main__":
    main()
