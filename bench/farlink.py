#!/usr/bin/env python3
"""The far-link benchmark: vault, OpenSSH `sftp` and rclone crypt over a slow link.

    python3 bench/farlink.py [--quick] [--rtt 0,40,100] [--objects 1000,10000]
                             [--rows ls,pull,folder,big] [--timeout 300]

One real OpenSSH sshd on 127.0.0.1 (examples/bench_server.rs, the tests'
server) with the delaying proxy of tests/common/delayproxy.rs in front of
it; every client goes through the proxy, whose one-way delay is set to
RTT/2 for each RTT in turn (+0 ms still goes through it). For each RTT, the
same work for each client, one command at a time:

- ls: list 1,000 and 10,000 objects. vault: `vault ls` with an empty
  `$XDG_CACHE_HOME` (cold), then again with the same one (warm); sftp:
  `ls -l` of the vault's `objects/` folder (2 files per object); rclone:
  `lsl` of a crypt remote holding as many files.
- pull: one object of the largest vault (vault `pull`, with the cache the
  ls rows left; sftp `get` of that object's payload file; rclone `copyto`
  of one file of the crypt remote).
- folder: push a folder of 1,000 files of 1-4 KiB into an empty vault /
  folder / crypt remote (vault `push --recursive` if it has it, else
  `push FILE...` of the same files; sftp `put -r`, and one `put` per file in
  one batch; rclone `copy`), push it unchanged again (vault `push
  --recursive` again, n/a without it; rclone `copy`), pull it back (vault
  `pull --recursive` if it has it, else `pull NAME... -C DIR`; sftp `get
  -r`; rclone `copy`).
- big: push and pull one 256 MiB file (vault push/pull, sftp put/get,
  rclone copyto).

Each row: wall time of the whole command, its peak RSS (GNU time), and what
the proxy counted: turns (round trips, exactly as delayproxy.rs defines
them), connections, bytes each way. A row is stopped after `--timeout`
seconds and shown as "> T s". At a higher RTT, a row whose lower-RTT run was
bound by its turns (time >= 80% of turns x RTT, so its requests went one
after another) is not run again when that many turns at the new RTT
already exceed the timeout; it is shown as "> T s (est.)" with the turns it
is estimated from (`--measure-all` runs it anyway).

Set-up, never over the delayed link: the vaults to list are made in one
local `vault push f1 ... fN SERVER_FOLDER` each (the local-folder transport,
straight onto the server's disk; under eatmydata when installed, as their
durability does not matter), the crypt remotes to list with `rclone copy`
to the same crypt remote reached through the local file system. Commands
vault does not have yet (`push --recursive`, `pull --recursive`) give "n/a"
rows, detected from `vault push --help`.

The tables, the targets of issue 13 with this run's ratios, the command,
date and machine go to bench/results.md between the markers below
(bench/run.py keeps that section when it rewrites the file).

Installs what is missing (apt-get): rclone, time, eatmydata.
"""

import argparse
import datetime
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from server import Server  # noqa: E402
from sftp import rclone_env  # noqa: E402
from common import (TIME, cpu_model, markers, need_free, parse_size, publish,  # noqa: E402
                    require_tools, sayer)
from common import rclone_version as rclone_banner  # noqa: E402

BEGIN, END = markers("farlink.py")
PULL_NAME = "f00042"

say = sayer("farlink")


def ensure_tools(install):
    need = {"rclone": shutil.which("rclone"), "eatmydata": shutil.which("eatmydata"),
            "openssh-client": shutil.which("sftp")}
    require_tools("farlink", need, {"sftp": "openssh-client", "rclone": "rclone"}, install, say,
                  " for peak memory")


def build(skip):
    if not skip:
        say("cargo build --release --locked (vault, examples/bench_server)")
        subprocess.run(["cargo", "build", "--release", "--locked", "--bin", "vault",
                        "--example", "bench_server"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "vault"), \
        os.path.join(target, "release", "examples", "bench_server")


def make_files(folder, count, seed):
    """`count` files of 1-4 KiB of random bytes, named f00000..."""
    os.makedirs(folder, exist_ok=True)
    rng = random.Random(seed)
    names = []
    for i in range(count):
        name = f"f{i:05d}"
        with open(os.path.join(folder, name), "wb") as f:
            f.write(os.urandom(rng.randint(1024, 4096)))
        names.append(name)
    return names


class Result:
    """One command's outcome: seconds (None if it did not finish), peak
    MiB, proxy counters, and why it has no time (`note`)."""

    def __init__(self, secs=None, peak=None, stats=None, note=None, timed_out=False,
                 estimated_from=None):
        self.secs, self.peak, self.stats, self.note = secs, peak, stats or {}, note
        self.timed_out, self.estimated_from = timed_out, estimated_from

    def ok(self):
        return self.secs is not None

    def shown(self, timeout):
        if self.ok():
            return f"{self.secs:.2f}" if self.secs < 10 else f"{self.secs:.1f}"
        if self.estimated_from is not None:
            return f"> {timeout} (est.)"
        if self.timed_out:
            return f"> {timeout}"
        if self.note and self.note.startswith("failed"):
            return "failed"
        return self.note or "n/a"


class Bench:
    def __init__(self, args, vault, server, work):
        self.a, self.vault, self.s, self.work = args, vault, server, work
        self.results = {}  # (rtt, work, client) -> Result
        self.order = []  # (work, client) in first-seen order
        self.rtt = 0
        self.venv = dict(server.env, VAULT_HOME=os.path.join(work, "keystore"))
        for v in ["VAULT_THREADS", "VAULT_PASSPHRASE_FILE", "VAULT_PASSPHRASE_COMMAND"]:
            self.venv.pop(v, None)
        self.renv = rclone_env(server, work)
        self.sftp = server.sftp_argv()

    # -- running one row ---------------------------------------------------
    def estimate(self, key):
        """Turns of the same row at the highest lower RTT, if that run was
        bound by its turns and they alone now exceed the timeout."""
        if self.a.measure_all:
            return None
        lower = [r for r in self.a.rtts if 0 < r < self.rtt and (r, *key) in self.results]
        if not lower:
            return None
        prev_rtt = max(lower)
        prev = self.results[(prev_rtt, *key)]
        turns = prev.stats.get("turns", 0)
        elapsed = prev.secs if prev.ok() else (self.a.timeout if prev.timed_out else None)
        if elapsed is None or prev.estimated_from is not None or not turns:
            return None
        if elapsed < 0.8 * turns * prev_rtt / 1000:
            return None  # its turns overlapped (pipelining, several connections)
        if 0.8 * turns * self.rtt / 1000 >= self.a.timeout:
            return turns
        return None

    def row(self, work, client, argv, env=None, stdin=None, cwd=None, note=None):
        """Run one measured command (argv None: record `note` instead)."""
        key = (work, client)
        if key not in self.order:
            self.order.append(key)
        if argv is None:
            res = Result(note=note or "n/a")
        elif (turns := self.estimate(key)) is not None:
            res = Result(estimated_from=turns, stats={"turns": turns})
            say(f"RTT +{self.rtt}: {work} / {client}: skipped, {turns} turns at a lower RTT")
        else:
            res = self._run(argv, env or self.venv, stdin, cwd)
            shown = res.shown(self.a.timeout)
            say(f"RTT +{self.rtt}: {work} / {client}: {shown} s, "
                f"{res.stats.get('turns', '?')} turns" + (f" ({res.note})" if res.note and res.ok()
                                                          else ""))
        self.results[(self.rtt, *key)] = res
        return res

    def _run(self, argv, env, stdin, cwd):
        stats_file = os.path.join(self.work, "time.out")
        if os.path.exists(stats_file):
            os.unlink(stats_file)
        self.s.reset()
        start = time.perf_counter()
        p = subprocess.Popen([TIME, "-f", "%M", "-o", stats_file] + argv, env=env, cwd=cwd,
                             stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             start_new_session=True, text=True)
        timed_out = False
        try:
            _, err = p.communicate(stdin, timeout=self.a.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(p.pid, signal.SIGKILL)
            _, err = p.communicate()
        secs = time.perf_counter() - start
        time.sleep(0.05)  # let the proxy see the last bytes of a closing connection
        stats = self.s.stats()
        if timed_out:
            return Result(stats=stats, timed_out=True)
        peak = None
        try:
            with open(stats_file) as f:
                peak = int(f.read().split()[-1]) / 1024
        except (OSError, ValueError, IndexError):
            pass
        if p.returncode != 0:
            last = (err or "").strip().splitlines()
            msg = last[-1][:200] if last else f"exit {p.returncode}"
            say(f"  failed: {' '.join(argv)[:200]}: {msg}")
            return Result(stats=stats, note=f"failed: {msg}")
        return Result(secs, peak, stats)

    def vault_cmd(self, *args):
        return [self.vault, *args]

    def help(self, command):
        return subprocess.run([self.vault, command, "--help"], env=self.venv,
                              capture_output=True, text=True).stdout

    # -- set-up ------------------------------------------------------------
    def setup(self):
        a, s, w = self.a, self.s, self.work
        subprocess.run([self.vault, "keygen", "--no-passphrase"], env=self.venv, check=True,
                       capture_output=True)
        eat = ["eatmydata"] if shutil.which("eatmydata") else []
        self.data = {}
        for n in a.objects:
            folder = os.path.join(w, "data", f"ls{n}")
            names = make_files(folder, n, seed=n)
            self.data[n] = names
            t = time.perf_counter()
            # One local push onto the server's disk (set-up, not measured):
            # the folder at once where push takes folders (argv would not hold
            # 100,000 names), else every file named.
            if "--recursive" in self.help("push"):
                argv = [self.vault, "push", "-q", "--recursive", folder, f"{s.srv}/v{n}"]
            else:
                argv = [self.vault, "push", "-q", *names, f"{s.srv}/v{n}"]
            subprocess.run(eat + argv, env=self.venv, cwd=folder, check=True)
            subprocess.run(["rclone", "copy", folder, f"lcrypt:ls{n}"], env=self.renv,
                           check=True)
            say(f"set-up: {n} objects in a vault and a crypt remote in "
                f"{time.perf_counter() - t:.0f} s")
        self.folder = os.path.join(w, "data", "folder")
        self.folder_names = make_files(self.folder, a.folder_files, seed=1)
        self.big = os.path.join(w, "data", "big.bin")
        with open(self.big, "wb") as f:
            left = a.big_size
            while left:
                block = os.urandom(min(left, 8 << 20))
                f.write(block)
                left -= len(block)
        # The payload of the object pulled in the pull rows, for sftp to get.
        nmax = max(a.objects)
        ls = subprocess.run([self.vault, "ls", "--json", f"{s.srv}/v{nmax}"], env=self.venv,
                            check=True, capture_output=True, text=True).stdout
        objs = [o for o in json.loads(ls)["objects"] if o["name"] == PULL_NAME]
        # Layout v2: a small object is one head file with its payload inline
        # (objects/ID.REV.h); a larger one has objects/ID.p.
        obj_dir = f"{s.srv}/v{nmax}/objects"
        stem = objs[0]["id"]
        mine = sorted(n for n in os.listdir(obj_dir) if n.startswith(stem))
        payload = [n for n in mine if n.endswith(".p")]
        self.pull_payload = f"{obj_dir}/{(payload or mine)[-1]}"
        self.push_r = "--recursive" in self.help("push")
        self.pull_r = "--recursive" in self.help("pull")
        say(f"vault push --recursive: {'yes' if self.push_r else 'no'}; "
            f"pull --recursive: {'yes' if self.pull_r else 'no'}")

    # -- the work, at one RTT ----------------------------------------------
    def at(self, rtt):
        self.rtt = rtt
        self.s.set_delay(rtt // 2)
        a, s, w = self.a, self.s, self.work
        rows = a.rows
        tag = f"rtt{rtt}"
        scratch = os.path.join(w, "out", tag)
        os.makedirs(scratch, exist_ok=True)
        nmax = max(a.objects)
        caches = {}
        if "ls" in rows:
            for n in a.objects:
                cache = os.path.join(w, "cache", tag, f"ls{n}")
                os.makedirs(cache)
                caches[n] = cache
                env = dict(self.venv, XDG_CACHE_HOME=cache)
                url = s.url(f"v{n}")
                work = f"list {n:,} objects"
                cold = self.row(work, "vault ls (cold)", self.vault_cmd("ls", url), env)
                if cold.ok():
                    self.row(work, "vault ls (warm)", self.vault_cmd("ls", url), env)
                else:
                    self.row(work, "vault ls (warm)", None, note="skipped (cold did not finish)")
                self.row(work, "sftp ls -l", self.sftp, s.env, f"ls -l {s.srv}/v{n}/objects\n")
                self.row(work, "rclone lsl", ["rclone", "lsl", f"bcrypt:ls{n}"], self.renv)
        if "pull" in rows:
            work = f"pull 1 object of {nmax:,}"
            cache = caches.get(nmax) or os.path.join(w, "cache", tag, "pull")
            os.makedirs(cache, exist_ok=True)
            env = dict(self.venv, XDG_CACHE_HOME=cache)
            out = os.path.join(scratch, "one")
            self.row(work, "vault pull", self.vault_cmd("pull", "-q", "-f", s.url(f"v{nmax}"),
                                                        PULL_NAME, "-o", out), env)
            self.row(work, "sftp get", self.sftp, s.env, f"get {self.pull_payload} {out}\n")
            self.row(work, "rclone copyto", ["rclone", "copyto", f"bcrypt:ls{nmax}/{PULL_NAME}",
                                             out], self.renv)
        if "folder" in rows:
            self.folder_rows(tag, scratch)
        if "big" in rows:
            self.big_rows(tag, scratch)
        shutil.rmtree(scratch, ignore_errors=True)

    def folder_rows(self, tag, scratch):
        a, s, w = self.a, self.s, self.work
        nf = len(self.folder_names)
        env = dict(self.venv, XDG_CACHE_HOME=os.path.join(w, "cache", tag, "folder"))
        os.makedirs(env["XDG_CACHE_HOME"])
        url = s.url(f"fold-{tag}")
        work = f"push a folder of {nf:,} files"
        if self.push_r:
            push = self.vault_cmd("push", "-q", "--recursive", "--name", "fold", self.folder, url)
            v = self.row(work, "vault push --recursive", push, env)
        else:
            push = self.vault_cmd("push", "-q", *self.folder_names, url)
            v = self.row(work, "vault push FILE...", push, env, cwd=self.folder)
        sftp_dir = f"{s.srv}/sftp-{tag}"
        self.row(work, "sftp put -r", self.sftp, s.env, f"put -r {self.folder} {sftp_dir}\n")
        one_by_one = [f"mkdir {sftp_dir}-each", f"cd {sftp_dir}-each", f"lcd {self.folder}"]
        one_by_one += [f"put {n}" for n in self.folder_names]
        self.row(work, "sftp put (one per file)", self.sftp, s.env, "\n".join(one_by_one) + "\n")
        r = self.row(work, "rclone copy", ["rclone", "copy", self.folder, f"bcrypt:fold-{tag}"],
                     self.renv)

        work = "push the unchanged folder again"
        if self.push_r and v.ok():
            self.row(work, "vault push --recursive", push, env)
        else:
            self.row(work, "vault push --recursive", None,
                     note="n/a" if not self.push_r else "skipped (first push did not finish)")
        if r.ok():
            self.row(work, "rclone copy", ["rclone", "copy", self.folder, f"bcrypt:fold-{tag}"],
                     self.renv)
        else:
            self.row(work, "rclone copy", None, note="skipped (first copy did not finish)")

        work = "pull the folder back"
        back = os.path.join(scratch, "back")
        if not v.ok():
            label = "vault pull --recursive" if self.pull_r else "vault pull NAME..."
            self.row(work, label, None, note="skipped (push did not finish)")
        elif self.pull_r:
            os.makedirs(f"{back}-vault")
            self.row(work, "vault pull --recursive",
                     self.vault_cmd("pull", "-q", "--recursive", url, "fold", "-C",
                                    f"{back}-vault"), env)
        else:
            os.makedirs(f"{back}-vault")
            self.row(work, "vault pull NAME...",
                     self.vault_cmd("pull", "-q", url, *self.folder_names, "-C", f"{back}-vault"),
                     env)
        self.row(work, "sftp get -r", self.sftp, s.env, f"get -r {sftp_dir} {back}-sftp\n")
        if r.ok():
            self.row(work, "rclone copy", ["rclone", "copy", f"bcrypt:fold-{tag}",
                                           f"{back}-rclone"], self.renv)
        else:
            self.row(work, "rclone copy", None, note="skipped (push did not finish)")

    def big_rows(self, tag, scratch):
        a, s = self.a, self.s
        mib = a.big_size // (1 << 20)
        url = s.url(f"vbig-{tag}")
        remote = f"{s.srv}/big-{tag}.bin"
        out = os.path.join(scratch, "big.out")
        work = f"push one {mib} MiB file"
        v = self.row(work, "vault push", self.vault_cmd("push", "-q", "--name", "big", self.big,
                                                        url))
        sp = self.row(work, "sftp put", self.sftp, s.env, f"put {self.big} {remote}\n")
        rp = self.row(work, "rclone copyto", ["rclone", "copyto", self.big, f"bcrypt:big-{tag}"],
                      self.renv)
        work = f"pull one {mib} MiB file"
        for label, ok, argv, env, stdin in [
            ("vault pull", v.ok(), self.vault_cmd("pull", "-q", "-f", url, "big", "-o", out),
             None, None),
            ("sftp get", sp.ok(), self.sftp, s.env, f"get {remote} {out}\n"),
            ("rclone copyto", rp.ok(), ["rclone", "copyto", f"bcrypt:big-{tag}", out],
             self.renv, None),
        ]:
            if ok:
                self.row(work, label, argv, env, stdin)
            else:
                self.row(work, label, None, note="skipped (push did not finish)")
            if os.path.exists(out):
                os.unlink(out)
        # Free the server's copies before the next RTT.
        if os.path.exists(remote):
            os.unlink(remote)
        shutil.rmtree(f"{s.srv}/vbig-{tag}", ignore_errors=True)
        subprocess.run(["rclone", "deletefile", f"lcrypt:big-{tag}"], env=self.renv,
                       check=False, capture_output=True)

    # -- report ------------------------------------------------------------
    def get(self, rtt, work, client):
        return self.results.get((rtt, work, client))

    def tables(self):
        a = self.a
        t = a.timeout
        head = "| work | client | " + " | ".join(f"RTT +{r} ms" for r in a.rtts) + " |"
        lines = ["Wall time of the whole command, seconds (\"> T\": stopped after T s; "
                 "\"est.\": not run, see below):", "", head,
                 "|---|---|" + "---|" * len(a.rtts)]
        for work, client in self.order:
            cells = []
            for r in a.rtts:
                res = self.get(r, work, client)
                cells.append(res.shown(t) if res else "")
            lines.append(f"| {work} | {client} | " + " | ".join(cells) + " |")
        failures = [f"- RTT +{r} ms, {work} / {client}: {res.note}"
                    for (r, work, client), res in self.results.items()
                    if res.note and res.note.startswith("failed")]
        if failures:
            lines += ["", "Failed rows:", ""] + failures
        lines += ["", "Turns (round trips through the proxy, tests/common/delayproxy.rs), "
                  "connections, KiB up / down, peak RSS MiB:", "",
                  "| work | client | " + " | ".join(f"+{r} ms" for r in a.rtts) + " |",
                  "|---|---|" + "---|" * len(a.rtts)]
        for work, client in self.order:
            cells = []
            for r in a.rtts:
                res = self.get(r, work, client)
                if not res or not res.stats:
                    cells.append("")
                    continue
                st = res.stats
                if res.estimated_from is not None:
                    cells.append(f"est. from {res.estimated_from:,} turns")
                    continue
                done = "" if res.ok() else " (so far)"
                peak = f", {res.peak:.0f} MiB" if res.peak else ""
                cells.append(f"{st['turns']:,} t{done}, {st['connections']} c, "
                             f"{st['up'] / 1024:,.0f} / {st['down'] / 1024:,.0f} KiB{peak}")
            lines.append(f"| {work} | {client} | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def targets(self):
        a = self.a
        nmax = max(a.objects)
        n1 = min(a.objects)
        mib = a.big_size // (1 << 20)
        nf = len(self.folder_names)
        fold_push = "vault push --recursive" if self.push_r else "vault push FILE..."
        fold_pull = "vault pull --recursive" if self.pull_r else "vault pull NAME..."
        # (name, mine (work, client), theirs (work, client), goal, kind)
        # kind "time": mine/theirs <= goal; "speed": theirs/mine >= goal.
        checks = [
            (f"warm ls of {nmax:,} / sftp ls -l", (f"list {nmax:,} objects", "vault ls (warm)"),
             (f"list {nmax:,} objects", "sftp ls -l"), 1.5, "time"),
            (f"cold ls of {nmax:,} / sftp ls -l", (f"list {nmax:,} objects", "vault ls (cold)"),
             (f"list {nmax:,} objects", "sftp ls -l"), 5, "time"),
            (f"pull 1 of {nmax:,} / sftp get", (f"pull 1 object of {nmax:,}", "vault pull"),
             (f"pull 1 object of {nmax:,}", "sftp get"), 2, "time"),
            (f"folder push ({fold_push}) / rclone copy",
             (f"push a folder of {nf:,} files", fold_push),
             (f"push a folder of {nf:,} files", "rclone copy"), 0.5, "time"),
            (f"folder pull ({fold_pull}) / rclone copy", ("pull the folder back", fold_pull),
             ("pull the folder back", "rclone copy"), 0.5, "time"),
            (f"unchanged re-push / warm ls of {n1:,}",
             ("push the unchanged folder again", "vault push --recursive"),
             (f"list {n1:,} objects", "vault ls (warm)"), 1.5, "time"),
            (f"{mib} MiB push: speed / sftp put", (f"push one {mib} MiB file", "vault push"),
             (f"push one {mib} MiB file", "sftp put"), 1.0, "speed"),
            (f"{mib} MiB pull: speed / sftp get", (f"pull one {mib} MiB file", "vault pull"),
             (f"pull one {mib} MiB file", "sftp get"), 1.0, "speed"),
        ]
        head = "| target | goal | " + " | ".join(f"RTT +{r} ms" for r in a.rtts) + " |"
        lines = [head, "|---|---|" + "---|" * len(a.rtts)]
        for name, mine, theirs, goal, kind in checks:
            cells = []
            for r in a.rtts:
                m, p = self.get(r, *mine), self.get(r, *theirs)
                cells.append(self.ratio_cell(m, p, goal, kind))
            sign = "<=" if kind == "time" else ">="
            lines.append(f"| {name} | {sign} {goal} | " + " | ".join(cells) + " |")
        # Peak RSS of every vault command on the largest vault.
        cells = []
        for r in a.rtts:
            peaks = [res.peak for (rr, work, client), res in self.results.items()
                     if rr == r and client.startswith("vault") and res.peak
                     and (work == f"list {nmax:,} objects" or work == f"pull 1 object of {nmax:,}")]
            cells.append(f"{max(peaks):.1f} {'met' if max(peaks) < 64 else 'MISSED'}"
                         if peaks else "not measured")
        lines.append(f"| peak RSS of vault at {nmax:,} objects (MiB) | < 64 | "
                     + " | ".join(cells) + " |")
        return "\n".join(lines)

    def ratio_cell(self, mine, theirs, goal, kind):
        if not mine or not theirs or not theirs.ok():
            return "not measured"
        t = self.a.timeout
        if not mine.ok():
            if not (mine.timed_out or mine.estimated_from is not None):
                return "not measured" if mine.note in (None, "n/a") or mine.note.startswith(
                    "skipped") else "failed"
            # Took more than the timeout.
            if kind == "time":
                bound = t / theirs.secs
                return f"> {bound:.1f}x " + ("MISSED" if bound > goal else "(unknown)")
            bound = theirs.secs / t
            return f"< {bound:.2f}x " + ("MISSED" if bound < goal else "(unknown)")
        if kind == "time":
            v = mine.secs / theirs.secs
            return f"{v:.2f}x {'met' if v <= goal else 'MISSED'}"
        v = theirs.secs / mine.secs
        return f"{v:.2f}x {'met' if v >= goal else 'MISSED'}"






def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="1,000 objects, RTT 0 and 40 only (unless given)")
    ap.add_argument("--rtt", help="round-trip times to add, ms (default 0,40,100)")
    ap.add_argument("--objects", help="vault sizes to list (default 1000,10000)")
    ap.add_argument("--rows", default="ls,pull,folder,big",
                    help="which work: ls,pull,folder,big (default all)")
    ap.add_argument("--folder-files", type=int, default=1000)
    ap.add_argument("--big-size", type=parse_size, default=parse_size("256MiB"))
    ap.add_argument("--timeout", type=int, default=300, help="seconds per row (default 300)")
    ap.add_argument("--measure-all", action="store_true",
                    help="run every row, even those estimated to exceed the timeout")
    ap.add_argument("--no-build", action="store_true", help="use the release binaries built")
    ap.add_argument("--no-install", action="store_true", help="install nothing")
    ap.add_argument("--workdir", help="where the data and the server's folder go "
                    "(default: a temporary folder; needs about 1.5 GiB)")
    ap.add_argument("--output", default=os.path.join(HERE, "results.md"),
                    help="markdown report (default bench/results.md; its own section)")
    ap.add_argument("--no-write", action="store_true", help="print only")
    a = ap.parse_args()
    a.rtts = [int(x) for x in (a.rtt or ("0,40" if a.quick else "0,40,100")).split(",")]
    a.objects = sorted(int(x) for x in (a.objects or ("1000" if a.quick else "1000,10000"))
                       .split(","))
    a.rows = a.rows.split(",")
    if any(r % 2 for r in a.rtts):
        raise SystemExit("farlink: RTTs must be even (half goes each way)")
    command = " ".join(["python3 bench/farlink.py"] + sys.argv[1:])

    ensure_tools(not a.no_install)
    vault, server_bin = build(a.no_build)
    vault = os.path.abspath(vault)
    work = a.workdir or tempfile.mkdtemp(prefix="vault-farlink.")
    os.makedirs(work, exist_ok=True)
    need_free("farlink", work, 4 * a.big_size + (512 << 20), "--workdir")
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.perf_counter()
    load_before = os.getloadavg()
    rclone_version = rclone_banner()
    ssh_version = subprocess.run(["ssh", "-V"], capture_output=True, text=True).stderr.strip()
    try:
        with Server(delay_ms=0, tmpdir=work, exe=server_bin) as s:
            b = Bench(a, vault, s, work)
            b.setup()
            setup_secs = time.perf_counter() - t0
            for rtt in a.rtts:
                say(f"RTT +{rtt} ms ({rtt // 2} ms each way)")
                b.at(rtt)
    finally:
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)
    total = time.perf_counter() - t0
    load_after = os.getloadavg()
    tables, targets = b.tables(), b.targets()
    estimated = any(r.estimated_from is not None for r in b.results.values())
    text = f"""## Far link (bench/farlink.py)

- Command: `{command}`
- Date: {started:%Y-%m-%d %H:%M} UTC; the run took {total / 60:.0f} min
  ({setup_secs:.0f} s of set-up)
- CPU: {cpu_model()}, {os.cpu_count()} cores; `{platform.platform()}`; load average
  {load_before[0]:.1f} before, {load_after[0]:.1f} after (other processes share the machine)
- vault: `{vault}` (`push --recursive`: {'yes' if b.push_r else 'no'}, `pull --recursive`:
  {'yes' if b.pull_r else 'no'}); {ssh_version}; {rclone_version}
- One sshd on 127.0.0.1 (chacha20-poly1305@openssh.com only) behind the delaying
  proxy, half the RTT each way; every command goes through the proxy, one at a time.
  Each row is stopped after {a.timeout} s.{'''
  "est.": not run at this RTT because the same row at the lower RTT went one turn
  after another (its time was at least 80% of turns x RTT) and that many turns at
  this RTT already take longer than the timeout.''' if estimated else ''}

{tables}

### Issue 13 targets, this run's ratios (the targets are for RTT +40 ms)

Time ratios are vault's time / the peer's time; speed ratios the peer's time
/ vault's time. "> Nx MISSED": vault was stopped at the timeout, so the ratio
is at least N.

{targets}
"""
    publish(text, a.output, BEGIN, END, say, not a.no_write, os.path.relpath(a.output))


if __name__ == "__main__":
    main()
