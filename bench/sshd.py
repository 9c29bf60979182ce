"""A throwaway OpenSSH server on 127.0.0.1 for benchmarks.

Mirrors tests/common/sshd.rs: generated host and client keys, its own
sshd_config, a random free port, a client HOME with ~/.ssh/config (alias
`vaultbench`) and known_hosts. Use as a context manager:

    with Sshd(cipher="chacha20-poly1305@openssh.com") as s:
        s.env   # environment for clients (HOME, no agent)
        s.url("v")  # sftp://vaultbench/<server root>/v
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

ALIAS = "vaultbench"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sshd:
    def __init__(self, cipher="chacha20-poly1305@openssh.com", root=None):
        self.cipher = cipher
        self.base = tempfile.mkdtemp(prefix="vault-bench-sshd-", dir=root)
        self.proc = None

    def __enter__(self):
        d = self.base
        for name in ("host", "client"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                            f"{d}/{name}"], check=True)
        shutil.copy(f"{d}/client.pub", f"{d}/authorized_keys")
        self.srv = f"{d}/srv"
        os.makedirs(self.srv)
        self.port = _free_port()
        user = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
        with open(f"{d}/sshd_config", "w") as f:
            f.write(f"""ListenAddress 127.0.0.1
Port {self.port}
HostKey {d}/host
AuthorizedKeysFile {d}/authorized_keys
PidFile {d}/sshd.pid
Subsystem sftp internal-sftp
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers {user}
Ciphers {self.cipher}
""")
        os.makedirs("/run/sshd", exist_ok=True)
        self.proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", f"{d}/sshd_config"],
                                     stderr=open(f"{d}/sshd.log", "w"))
        for _ in range(500):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    if s.recv(4).startswith(b"SSH-"):
                        break
            except OSError:
                time.sleep(0.02)
        self.home = f"{d}/home"
        os.makedirs(f"{self.home}/.ssh", mode=0o700)
        shutil.copy(f"{d}/client", f"{self.home}/.ssh/id_ed25519")
        os.chmod(f"{self.home}/.ssh/id_ed25519", 0o600)
        host_pub = open(f"{d}/host.pub").read().split()[:2]
        with open(f"{self.home}/.ssh/known_hosts", "w") as f:
            f.write(f"[127.0.0.1]:{self.port} {' '.join(host_pub)}\n")
        with open(f"{self.home}/.ssh/config", "w") as f:
            # Absolute paths: OpenSSH's own client reads ~ from the password
            # database, not $HOME, so it is pointed at this file with -F.
            f.write(f"Host {ALIAS}\n  HostName 127.0.0.1\n  Port {self.port}\n  User {user}\n"
                    f"  IdentityFile {self.home}/.ssh/id_ed25519\n"
                    f"  UserKnownHostsFile {self.home}/.ssh/known_hosts\n"
                    f"  Ciphers {self.cipher}\n")
        self.env = dict(os.environ, HOME=self.home)
        self.env.pop("SSH_AUTH_SOCK", None)
        return self

    def url(self, sub):
        return f"sftp://{ALIAS}{self.srv}/{sub}"

    def sftp_batch(self, commands):
        """Run OpenSSH `sftp` with a batch of commands; returns seconds."""
        t = time.perf_counter()
        subprocess.run(["sftp", "-q", "-F", f"{self.home}/.ssh/config", "-b", "-", ALIAS], input="\n".join(commands) + "\n",
                       text=True, env=self.env, check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - t

    def __exit__(self, *exc):
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait()
        shutil.rmtree(self.base, ignore_errors=True)
