"""Push/pull throughput against OpenSSH `sftp` and `rclone` crypt, on loopback.

Run alone:

    python3 bench/sftp.py --size 1GiB [--vault target/release/vault] [--runs 3]

or import and call `run(vault_bin, input_path, workdir)`, which returns one
dict per row: `label`, `mb_s` (median of the runs, MB = 1e6 bytes, whole
command wall time), `peak_mib` (median peak resident memory of the command
and its children, from /usr/bin/time %M; None if unavailable) and
`baseline` (the label of the row it is compared with, or None).

Every client talks to one throwaway sshd on 127.0.0.1, started by
examples/bench_server.rs (bench/server.py), the test harness's server,
whose `Ciphers` line allows only chacha20-poly1305@openssh.com, so OpenSSH
`sftp`, libssh2 (vault) and rclone's Go SSH all use the same one. Transfers
of the same run are interleaved (sftp, vault, rclone, then again) so that
machine noise hits all of them alike.

A row that fails (a peer missing or refusing) is reported with its error
and does not cost the other rows. The server's folder must hold a copy of
the input and the downloaded copy beside it: the run checks the free space
first, since a full disk shows up from the server only as SFTP's
`SSH_FX_FAILURE` ("Failure"), which is what rclone printed on a machine
whose temporary folder ran full (`--workdir` puts everything elsewhere).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server import Server  # noqa: E402
from common import parse_size  # noqa: E402

CIPHER = "chacha20-poly1305@openssh.com"  # the only one tests/common/sshd.rs offers
TIME = "/usr/bin/time"


def _timed(cmd, env, stdin=None):
    """Run cmd; return (seconds, peak MiB or None). Raises on failure."""
    peak_file = None
    full = list(cmd)
    if os.path.exists(TIME):
        fd, peak_file = tempfile.mkstemp(prefix="vault-bench-rss-")
        os.close(fd)
        full = [TIME, "-f", "%M", "-o", peak_file] + full
    t = time.perf_counter()
    p = subprocess.run(full, env=env, input=stdin, text=stdin is not None,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    secs = time.perf_counter() - t
    peak = None
    if peak_file:
        try:
            lines = [ln for ln in open(peak_file).read().split("\n") if ln.strip().isdigit()]
            peak = int(lines[-1]) / 1024 if lines else None
        finally:
            os.unlink(peak_file)
    if p.returncode != 0:
        err = p.stderr if isinstance(p.stderr, str) else p.stderr.decode(errors="replace")
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {err.strip()[-2000:]}")
    return secs, peak


def _rm(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def rclone_env(s, base, port=None):
    """rclone remotes, all in the environment and a fresh empty config file:
    `bsftp:` (the server, at `port`, default the server's client port),
    `bcrypt:` (crypt over `bsftp:{srv}/rclone`) and `lcrypt:` (the same
    crypt remote reached through the local file system, for set-up work)."""
    obscured = subprocess.run(["rclone", "obscure", "vault-bench-password"], capture_output=True,
                              text=True, check=True).stdout.strip()
    salt = subprocess.run(["rclone", "obscure", "vault-bench-salt"], capture_output=True,
                          text=True, check=True).stdout.strip()
    conf = os.path.join(base, "rclone.conf")
    open(conf, "w").close()
    env = dict(s.env)
    env.update({
        "RCLONE_CONFIG": conf,
        "RCLONE_CONFIG_BSFTP_TYPE": "sftp",
        "RCLONE_CONFIG_BSFTP_HOST": "127.0.0.1",
        "RCLONE_CONFIG_BSFTP_PORT": str(port or s.port),
        "RCLONE_CONFIG_BSFTP_USER": s.user,
        "RCLONE_CONFIG_BSFTP_KEY_FILE": s.key,
        "RCLONE_CONFIG_BSFTP_KNOWN_HOSTS_FILE": s.known_hosts,
        "RCLONE_CONFIG_BSFTP_DISABLE_HASHCHECK": "true",
        # Known to be a Unix shell: skips the detection command and the
        # config write that follows it.
        "RCLONE_CONFIG_BSFTP_SHELL_TYPE": "unix",
        "RCLONE_CONFIG_BCRYPT_TYPE": "crypt",
        "RCLONE_CONFIG_BCRYPT_REMOTE": f"bsftp:{s.srv}/rclone",
        "RCLONE_CONFIG_BCRYPT_PASSWORD": obscured,
        "RCLONE_CONFIG_BCRYPT_PASSWORD2": salt,
        "RCLONE_CONFIG_LCRYPT_TYPE": "crypt",
        "RCLONE_CONFIG_LCRYPT_REMOTE": f"{s.srv}/rclone",
        "RCLONE_CONFIG_LCRYPT_PASSWORD": obscured,
        "RCLONE_CONFIG_LCRYPT_PASSWORD2": salt,
    })
    return env


def check_space(folder, need, what):
    """Fail with a clear message when `folder` has less than `need` bytes
    free (a full disk reaches SFTP clients only as "Failure")."""
    free = shutil.disk_usage(folder).free
    if free < need:
        raise RuntimeError(
            f"{what} needs {need / 2**30:.1f} GiB free in {folder}, which has "
            f"{free / 2**30:.1f} GiB; use a smaller --size or a --workdir with more room")


def run(vault_bin: str, input_path: str, workdir: str, runs: int = 3) -> list[dict]:
    """Measure every row; see the module docs."""
    size = os.path.getsize(input_path)
    vault_bin = os.path.abspath(vault_bin)
    base = tempfile.mkdtemp(prefix="sftp-bench-", dir=workdir)
    times = {}
    peaks = {}
    errors = {}

    def record(label, argv, env, stdin=None):
        """Time one command into its row; a failure marks the row, once."""
        try:
            secs, peak = _timed(argv, env, stdin)
        except RuntimeError as e:
            errors.setdefault(label, str(e).strip().splitlines()[-1][:300])
            return False
        times.setdefault(label, []).append(size / secs / 1e6)
        if peak is not None:
            peaks.setdefault(label, []).append(peak)
        return True

    try:
        # The server's folder and the downloaded copy live under `base`.
        check_space(base, 2 * size + (64 << 20), "bench/sftp.py")
        with Server(tmpdir=base) as s:
            venv = dict(s.env, VAULT_HOME=os.path.join(base, "vault-home"))
            venv.pop("VAULT_THREADS", None)
            subprocess.run([vault_bin, "keygen", "--no-passphrase"], env=venv, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            url = s.url("v")
            have_rclone = shutil.which("rclone") is not None
            if have_rclone:
                renv = rclone_env(s, base)
            else:
                print("bench/sftp.py: rclone not found (apt-get install rclone); "
                      "skipping its rows", file=sys.stderr)
            out = os.path.join(base, "out.bin")
            remote_plain = f"{s.srv}/plain.bin"
            sftp = s.sftp_argv()
            for _ in range(runs):
                if record("sftp put", sftp, s.env, f"put {input_path} {remote_plain}\n"):
                    record("sftp get", sftp, s.env, f"get {remote_plain} {out}\n")
                _rm(remote_plain)
                _rm(out)

                for label, extra in (("vault push", []),
                                     ("vault push (1 connection)", ["--threads", "1"])):
                    pull = label.replace("push", "pull")
                    if record(label, [vault_bin, "push", "-q", *extra, "--name", "b",
                                      input_path, url], venv):
                        record(pull, [vault_bin, "pull", "-q", *extra, url, "b", "-o", out], venv)
                        subprocess.run([vault_bin, "rm", url, "b"], env=venv, check=False,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    _rm(out)

                if have_rclone:
                    if record("rclone crypt up", ["rclone", "copyto", input_path, "bcrypt:f.bin"],
                              renv):
                        record("rclone crypt down", ["rclone", "copyto", "bcrypt:f.bin", out],
                               renv)
                    _rm(out)
                    subprocess.run(["rclone", "purge", "bcrypt:"], env=renv, check=False,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        shutil.rmtree(base, ignore_errors=True)

    def row(label, baseline=None, shown=None):
        return {
            "label": shown or label,
            "mb_s": statistics.median(times[label]) if label in times else None,
            "peak_mib": statistics.median(peaks[label]) if peaks.get(label) else None,
            "baseline": baseline,
            "error": errors.get(label),
        }

    rows = [
        row("sftp put"),
        row("sftp get"),
        row("vault push", "sftp put"),
        row("vault pull", "sftp get"),
        row("vault push (1 connection)", "sftp put"),
        row("vault pull (1 connection)", "sftp get"),
    ]
    if have_rclone:
        rows += [
            row("rclone crypt up"),
            row("rclone crypt down"),
            row("vault push", "rclone crypt up", "vault push vs rclone"),
            row("vault pull", "rclone crypt down", "vault pull vs rclone"),
        ]
    return rows




def table(rows):
    by = {r["label"]: r for r in rows}
    lines = ["| row | MB/s | peak RSS MiB | vs | ratio |", "|---|---|---|---|---|"]
    for r in rows:
        peak = f"{r['peak_mib']:.1f}" if r["peak_mib"] is not None else "-"
        base = r["baseline"] or ""
        ratio = ""
        if r["mb_s"] and base in by and by[base]["mb_s"]:
            ratio = f"{r['mb_s'] / by[base]['mb_s']:.2f}x"
        mbs = f"{r['mb_s']:.0f}" if r["mb_s"] else "failed"
        lines.append(f"| {r['label']} | {mbs} | {peak} | {base} | {ratio} |")
    failures = [f"- {r['label']}: {r['error']}" for r in rows if r.get("error")]
    return "\n".join(lines + ([""] + failures if failures else []))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", default="1GiB")
    ap.add_argument("--vault", default=os.path.join(os.path.dirname(__file__), "..",
                                                   "target/release/vault"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workdir", default=None)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="vault-sftp-bench-", dir=a.workdir)
    try:
        inp = os.path.join(work, "input.bin")
        left = parse_size(a.size)
        with open(inp, "wb") as f:
            while left:
                n = min(left, 8 << 20)
                f.write(os.urandom(n))
                left -= n
        rows = run(a.vault, inp, work, runs=a.runs)
        print(f"SSH cipher {CIPHER}, {a.size}, median of {a.runs}")
        print(table(rows))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
