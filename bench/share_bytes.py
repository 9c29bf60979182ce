#!/usr/bin/env python3
"""How many bytes does `vault share` move, for a small and a large object?

Issue 4 asks that re-sharing a pushed object costs kilobytes whatever the
object's size: `share` replaces only the object's head (header + sealed
metadata), never its payload. This script measures it on the wire: it
starts the benchmarks' sshd on loopback with a counting proxy in front
(examples/bench_server.rs, no delay; bench/server.py), pushes objects of
each size directly, then runs `vault share` through the proxy and prints
the bytes sent each way (SSH handshake and auth included) and the proxy's
turns (round trips), next to the object's size.

    python3 bench/share_bytes.py [--vault target/release/vault] [--sizes 1MiB,1GiB]
"""
import argparse
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server import Server  # noqa: E402

UNITS = {"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}


def parse_size(s):
    for u, m in UNITS.items():
        if s.endswith(u):
            return int(s[: -len(u)]) * m
    return int(s)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vault", default="target/release/vault")
    ap.add_argument("--sizes", default="1MiB,1GiB")
    args = ap.parse_args()
    vault = os.path.abspath(args.vault)

    with Server(delay_ms=0) as s, tempfile.TemporaryDirectory(prefix="vault-share-bench-") as work:
        def run(home, *argv):
            env = dict(s.env, VAULT_HOME=f"{work}/{home}")
            return subprocess.run([vault, *argv], env=env, check=True,
                                  capture_output=True, text=True).stdout

        run("alice", "keygen", "--no-passphrase")
        run("carol", "keygen", "--no-passphrase")
        carol = run("carol", "id").strip()

        print(f"{'object':>10} {'share: client->server':>22} {'server->client':>15} {'turns':>6}"
              "  payload mtime kept")
        for spec in args.sizes.split(","):
            size = parse_size(spec)
            # One vault per object, so that the listing `share` reads to
            # find the name is the same size for every row.
            direct = s.url(f"v-{spec}", direct=True)
            counted = s.url(f"v-{spec}")
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
            s.reset()
            run("alice", "share", counted, spec, "-r", carol)
            st = s.stats()
            up, down = st["up"], st["down"]
            after = {p: os.stat(os.path.join(objects, p)).st_mtime_ns
                     for p in payloads}
            kept = "yes" if after == payloads else "NO"
            print(f"{spec:>10} {up:>16,} bytes {down:>9,} bytes {st['turns']:>6}  {kept}")
            # carol can now open it (checks that the share really happened)
            run("carol", "pull", "--quiet", direct, spec, "-o", "/dev/null")


if __name__ == "__main__":
    main()
