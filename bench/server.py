"""The benchmarks' servers: a thin client of examples/bench_server.rs.

That example is the one way to start the test servers (the real OpenSSH
sshd of tests/common/sshd.rs, optionally behind the delaying proxy of
tests/common/delayproxy.rs, and with s3=True the SeaweedFS of
tests/common/seaweedfs.rs); this module starts it, reads the JSON line it
prints, and talks to it over its standard input. Use as a context manager:

    with Server(delay_ms=20) as s:
        s.env            # environment for clients (HOME, no agent)
        s.url("v")       # sftp://vaultbench/<server root>/v (through the proxy)
        s.sftp_batch(["ls"])
        s.stats()        # {"up", "down", "turns", "connections"} since reset()

    with Server(s3=True) as s:
        s.s3             # {"endpoint", "bucket", "region", "access_key", "secret_key", "data"}
        s.s3_env()       # s.env plus the AWS_* variables vault reads
        s.vacuum()       # give back the space of deleted objects now

Closing its standard input (leaving the `with` block, or this process
dying) stops sshd, the proxy and SeaweedFS and removes their folders.
"""
import json
import os
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def binary(build=True):
    """Path of the release bench_server example, built if missing."""
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    path = os.path.join(target, "release", "examples", "bench_server")
    if build and not os.path.exists(path):
        subprocess.run(["cargo", "build", "--release", "--locked", "--example", "bench_server"],
                       cwd=ROOT, check=True)
    return path


class Server:
    def __init__(self, delay_ms=None, tmpdir=None, exe=None, s3=False):
        """`delay_ms`: put the delaying proxy in front (ms each way; 0 for
        counting only). `tmpdir`: where the server's folder (keys, config,
        the served files) and the client HOME go (default: $TMPDIR).
        `s3`: also start SeaweedFS (its data goes to `tmpdir` too)."""
        self.delay_ms = delay_ms
        self.want_s3 = s3
        self.tmpdir = tmpdir
        self.exe = exe or binary()
        self.proc = None

    def __enter__(self):
        argv = [self.exe] + ([] if self.delay_ms is None else ["--delay-ms", str(self.delay_ms)])
        argv += ["--s3"] if self.want_s3 else []
        env = dict(os.environ)
        if self.tmpdir:
            env["TMPDIR"] = os.path.abspath(self.tmpdir)
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1, env=env)
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            raise RuntimeError(f"{self.exe} did not start (exit {self.proc.returncode})")
        info = json.loads(line)
        self.info = info
        self.port = info["port"]
        self.direct_port = info["direct_port"]
        self.user = info["user"]
        self.alias = info["alias"]
        self.direct_alias = info["direct_alias"]
        self.home = info["home"]
        self.ssh_config = info["ssh_config"]
        self.known_hosts = info["known_hosts"]
        self.key = info["key"]
        self.srv = info["srv"]
        self.env = dict(os.environ, HOME=self.home)
        self.env.pop("SSH_AUTH_SOCK", None)
        self.s3 = info.get("s3")
        return self

    def s3_env(self):
        """`env` with the AWS_* variables vault (and the AWS tools) read for
        this SeaweedFS; other AWS_* variables of this process are dropped."""
        env = {k: v for k, v in self.env.items() if not k.startswith("AWS_")}
        env.update({
            "AWS_ACCESS_KEY_ID": self.s3["access_key"],
            "AWS_SECRET_ACCESS_KEY": self.s3["secret_key"],
            "AWS_ENDPOINT_URL": self.s3["endpoint"],
            "AWS_REGION": self.s3["region"],
        })
        return env

    def vacuum(self):
        """Compact SeaweedFS's volumes now (frees the space of deleted objects)."""
        return self._ask("vacuum")

    def _ask(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline())
        if "error" in answer:
            raise RuntimeError(f"bench_server: {answer['error']}")
        return answer

    def stats(self):
        """Proxy counters since the last reset (needs a delay_ms)."""
        return self._ask("stats")

    def reset(self):
        """Zero the proxy counters; returns what they were."""
        return self._ask("reset")

    def set_delay(self, ms):
        """Delay each direction by `ms` from now on."""
        self.delay_ms = ms
        return self._ask(f"delay {ms}")

    def url(self, sub, direct=False):
        return f"sftp://{self.direct_alias if direct else self.alias}{self.srv}/{sub}"

    def sftp_argv(self, direct=False):
        """OpenSSH `sftp` in batch mode, commands on stdin."""
        return ["sftp", "-q", "-F", self.ssh_config, "-b", "-",
                self.direct_alias if direct else self.alias]

    def sftp_batch(self, commands, direct=False):
        """Run OpenSSH `sftp` with a batch of commands; returns seconds."""
        t = time.perf_counter()
        subprocess.run(self.sftp_argv(direct), input="\n".join(commands) + "\n", text=True,
                       env=self.env, check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - t

    def __exit__(self, *exc):
        if self.proc:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                self.proc.wait()
