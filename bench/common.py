"""What the benchmark scripts share: sizes on the command line, the machine
line of a report, and sections of bench/results.md that each script owns.

Each script rewrites only the part of results.md between its own markers,
so that running one benchmark never erases another's figures.
"""

import os
import platform
import re
import shutil
import subprocess
import sys

# GNU time, for the peak memory of a run.
TIME = "/usr/bin/time"


def markers(script):
    """The begin and end markers of `script`'s own section of results.md."""
    return f"<!-- bench/{script}: begin -->", f"<!-- bench/{script}: end -->"


def sayer(prefix):
    """A `say(*a)` that prints a progress line under `prefix` on stderr."""
    def say(*a):
        print(f"{prefix}:", *a, file=sys.stderr, flush=True)
    return say


def parse_size(text):
    """`256MiB`, `1GiB`, `4K`, `100MB`, `1.5M` or a plain byte count.

    Binary units (K, KiB, M, MiB, G, GiB) are powers of 1024; KB, MB and GB
    are powers of 1000, as rclone and dd read them.
    """
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?)(i?)(B?)\s*", text, re.I)
    if not m:
        raise ValueError(f"not a size: {text!r} (e.g. 256MiB, 1GiB, 4K)")
    num, unit, i, b = m.groups()
    power = {"": 0, "K": 1, "M": 2, "G": 3}[unit.upper()]
    base = 1000 if (b and not i and unit) else 1024
    return int(float(num) * base**power)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def write_section(path, begin, end, text):
    """Replace the block between the `begin` and `end` markers of `path`
    with `text` (append the block when the markers are missing)."""
    try:
        with open(path) as f:
            old = f.read()
    except FileNotFoundError:
        old = "# Benchmark results\n"
    block = f"{begin}\n{text.rstrip()}\n{end}"
    b, e = old.find(begin), old.find(end)
    if 0 <= b < e:
        new = old[:b] + block + old[e + len(end):]
    else:
        new = old.rstrip() + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(new)


def publish(text, path, begin, end, say, write=True, shown=None):
    """Print a report and, when `write`, put it in its section of `path`
    (see `write_section`), saying so with `shown` (or `path`)."""
    print(text)
    if write:
        write_section(path, begin, end, text)
        say(f"wrote {shown or path}")


def apt_install_missing(need, install, say):
    """`need` maps Debian package names to whether the tool is present;
    install the missing ones with apt-get when `install` is set; the
    caller checks afterwards what it cannot do without."""
    missing = [pkg for pkg, have in need.items() if not have]
    if missing and install:
        say(f"installing {' '.join(missing)} with apt-get")
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        subprocess.run(sudo + ["apt-get", "install", "-y", "-q"] + missing, check=False,
                       stdout=subprocess.DEVNULL)


def require_tools(prefix, need, required, install, say, time_why=""):
    """Install what `need` lacks (as `apt_install_missing`, with GNU time
    added), then refuse to go on without each command of `required` (which
    maps it to its Debian package) or without GNU time."""
    apt_install_missing({**need, "time": os.path.exists(TIME) or None}, install, say)
    for tool, pkg in required.items():
        if not shutil.which(tool):
            raise SystemExit(f"{prefix}: {tool} is needed (apt-get install {pkg})")
    if not os.path.exists(TIME):
        raise SystemExit(f"{prefix}: {TIME} (Debian package time) is needed{time_why}")


def rclone_version():
    """The first line of `rclone version`."""
    return subprocess.run(["rclone", "version"], capture_output=True,
                          text=True).stdout.split("\n")[0]


def need_free(prefix, work, need, options, cleanup=False):
    """Refuse to run with less than `need` bytes free in `work` (removing
    `work` first when `cleanup`); `options` names what changes the need."""
    free = shutil.disk_usage(work).free
    if free < need:
        if cleanup:
            shutil.rmtree(work, ignore_errors=True)
        raise SystemExit(f"{prefix}: needs {need / 2**30:.1f} GiB free in {work}, which has "
                         f"{free / 2**30:.1f} GiB ({options})")
