#!/usr/bin/env python3
"""How many bytes does `vault share` move, for a small and a large object?

Issue 4 asks that re-sharing a pushed object costs kilobytes whatever the
object's size: `share` replaces only the object's head (header + sealed
metadata), never its payload. This script measures it on the wire: it
starts a throwaway sshd on loopback (bench/sshd.py), pushes objects of
each size directly, then runs `vault share` through a byte-counting TCP
proxy and prints the bytes sent each way (SSH handshake and auth
included), next to the object's size.

    python3 bench/share_bytes.py [--vault target/release/vault] [--sizes 1MiB,1GiB]
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sshd import Sshd, ALIAS  # noqa: E402

UNITS = {"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}


def parse_size(s):
    for u, m in UNITS.items():
        if s.endswith(u):
            return int(s[: -len(u)]) * m
    return int(s)


class CountingProxy:
    """Forwards one loopback port to another and counts bytes each way."""

    def __init__(self, target_port):
        self.target = target_port
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.up = 0  # client -> server
        self.down = 0  # server -> client
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _pump(self, src, dst, upward):
        while True:
            try:
                data = src.recv(1 << 16)
            except OSError:
                data = b""
            if not data:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            with self.lock:
                if upward:
                    self.up += len(data)
                else:
                    self.down += len(data)
            try:
                dst.sendall(data)
            except OSError:
                return

    def _accept(self):
        while True:
            c, _ = self.sock.accept()
            s = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._pump, args=(c, s, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(s, c, False), daemon=True).start()

    def reset(self):
        with self.lock:
            self.up = self.down = 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vault", default="target/release/vault")
    ap.add_argument("--sizes", default="1MiB,1GiB")
    args = ap.parse_args()
    vault = os.path.abspath(args.vault)

    with Sshd() as s, tempfile.TemporaryDirectory(prefix="vault-share-bench-") as work:
        proxy = CountingProxy(s.port)
        host_key = open(f"{s.base}/host.pub").read().split()[:2]
        with open(f"{s.home}/.ssh/known_hosts", "a") as f:
            f.write(f"[127.0.0.1]:{proxy.port} {' '.join(host_key)}\n")
        with open(f"{s.home}/.ssh/config", "a") as f:
            f.write(f"Host counted\n  HostName 127.0.0.1\n  Port {proxy.port}\n"
                    f"  IdentityFile {s.home}/.ssh/id_ed25519\n"
                    f"  UserKnownHostsFile {s.home}/.ssh/known_hosts\n")

        def run(home, *argv):
            env = dict(s.env, VAULT_HOME=f"{work}/{home}")
            return subprocess.run([vault, *argv], env=env, check=True,
                                  capture_output=True, text=True).stdout

        run("alice", "keygen", "--no-passphrase")
        run("carol", "keygen", "--no-passphrase")
        carol = run("carol", "id").strip()

        print(f"{'object':>10} {'share: client->server':>22} {'server->client':>15}  payload mtime kept")
        for spec in args.sizes.split(","):
            size = parse_size(spec)
            # One vault per object, so that the listing `share` reads to
            # find the name is the same size for every row.
            direct = s.url(f"v-{spec}")
            counted = direct.replace(ALIAS, "counted", 1)
            objects = os.path.join(s.srv, f"v-{spec}", "objects")
            src = f"{work}/obj-{spec}"
            with open(src, "wb") as f:
                left = size
                block = os.urandom(1 << 20)
                while left:
                    n = min(left, len(block))
                    f.write(block[:n])
                    left -= n
            run("alice", "push", "--quiet", "--name", spec, src, direct)
            os.unlink(src)
            payloads = {p: os.stat(os.path.join(objects, p)).st_mtime_ns
                        for p in os.listdir(objects) if p.endswith(".p")}
            proxy.reset()
            run("alice", "share", counted, spec, "-r", carol)
            up, down = proxy.up, proxy.down
            after = {p: os.stat(os.path.join(objects, p)).st_mtime_ns
                     for p in payloads}
            kept = "yes" if after == payloads else "NO"
            print(f"{spec:>10} {up:>16,} bytes {down:>9,} bytes  {kept}")
            # carol can now open it (checks that the share really happened)
            run("carol", "pull", "--quiet", direct, spec, "-o", "/dev/null")


if __name__ == "__main__":
    main()
