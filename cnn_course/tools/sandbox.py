"""The sandbox a graded notebook runs in: bubblewrap (``bwrap``, Debian/Ubuntu package
``bubblewrap``), with a memory cap and a process-tree watchdog. ``grade`` runs the whole notebook
(nbclient and its kernel) inside, so that no student code ever runs with the instructor's rights.

Inside, the file system is read-only except one private folder (``BOX``: the work folder, HOME,
/tmp, the data copy, the evidence written for the grader); the environment is cleared; the PID,
network, IPC, UTS and cgroup namespaces are new (and the user namespace where the system allows);
no capability is kept, even when the grader runs as root. Only what Python needs is visible:
``/usr``, the interpreter's prefixes, the package, a few files of ``/etc``; never the instructor's
HOME, data folder, ``--checks`` file or ``--out`` folder.

Memory: bubblewrap has no limit of its own, so every process gets ``RLIMIT_AS`` (the cap plus the
address space torch reserves without using it) and a watchdog in the grader sums the resident
memory of the sandbox's whole process tree (a forking bomb multiplies a per-process limit) and
kills the tree when it passes the cap or ``MAX_PROCESSES``.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import site
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BOX", "INSTALL_HINT", "MAX_PROCESSES", "PACKAGE_ROOT", "VIRTUAL_SLACK", "Outcome",
           "bwrap_command", "default_memory", "find_bwrap", "kill_all", "kill_tree", "run_limited",
           "sandbox_env"]

BOX = "/calificacion"   # where the private folder appears inside the sandbox
PACKAGE_ROOT = "/curso"  # the package's parent inside (PYTHONPATH)
INSTALL_HINT = "sudo apt-get install bubblewrap"
MAX_PROCESSES = 64       # processes one notebook may run at once (a kernel and its helpers)
VIRTUAL_SLACK = 4 << 30  # address space torch and its thread pools reserve without using it
MAX_FILE = 1 << 30       # RLIMIT_FSIZE: the largest file a notebook may write
_POLL = 0.2              # seconds between two looks of the watchdog
_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "passwd", "group",
        "nsswitch.conf", "hosts", "mime.types")


def find_bwrap() -> str | None:
    """The path of ``bwrap`` if it is installed and can create a sandbox here, else None."""
    path = shutil.which("bwrap")
    if path is None:
        return None
    probe = subprocess.run([path, "--unshare-all", "--die-with-parent", "--cap-drop", "ALL",
                            *_system_binds(), "--", "true"], capture_output=True)
    return path if probe.returncode == 0 else None


def default_memory(jobs: int) -> int:
    """Bytes each of ``jobs`` notebooks may use: 60 % of the machine's memory, shared out
    (at least 1 GiB)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return max(1 << 30, int(total * 0.6) // jobs)


def _system_binds() -> list[str]:
    """/usr, the merged-/usr links, the few /etc files a Python process reads."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in _ETC:
        if (Path("/etc") / name).exists():
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    return args


def _python_binds() -> list[str]:
    """The interpreter and its libraries, read-only at their own paths (a pyenv or a venv may
    live in the instructor's HOME: only those folders are shown, not the HOME)."""
    roots = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix),
             Path(os.path.realpath(sys.executable)).parent.parent,
             *(Path(p) for p in site.getsitepackages())}
    if site.ENABLE_USER_SITE and os.path.isdir(site.getusersitepackages()):
        roots.add(Path(site.getusersitepackages()))
    kept = sorted(r.resolve() for r in roots if r.is_dir() and r.resolve() != Path("/usr"))
    kept = [r for r in kept if not any(r != o and r.is_relative_to(o) for o in kept)
            and not r.is_relative_to("/usr")]
    args = []
    for root in kept:
        args += ["--ro-bind", str(root), str(root)]
    # the venv's own path, when it is reached through a link
    for path in {Path(sys.prefix), Path(sys.executable).parent.parent}:
        if path.resolve() != path and path.resolve() in kept:
            args += ["--symlink", str(path.resolve()), str(path)]
    return args


def _masks(binds: list[str], hidden: list[Path]) -> list[str]:
    """Arguments that hide each of ``hidden`` (the instructor's checks file, data and output
    folders) should it lie inside a folder the sandbox shows (a venv, the package)."""
    shown = [Path(binds[i + 2]) for i, arg in enumerate(binds) if arg == "--ro-bind"]
    args = []
    for path in (Path(p).resolve() for p in hidden):
        if path.exists() and any(path.is_relative_to(root) for root in shown):
            args += ["--tmpfs", str(path)] if path.is_dir() else ["--ro-bind", "/dev/null",
                                                                 str(path)]
    return args


def bwrap_command(bwrap: str, box: Path, package: Path, env: dict[str, str],
                  argv: list[str], hidden: list[Path] = ()) -> list[str]:
    """The bubblewrap command line that runs ``argv`` with ``box`` as its only writable folder
    (at ``BOX``), the package ``package`` at ``PACKAGE_ROOT``, only ``env``, and none of
    ``hidden``."""
    binds = [*_system_binds(), *_python_binds()]
    # the private /tmp first: a venv or package that lives under the host's /tmp (a CI clone)
    # is then bound on top of it, instead of hidden under it
    return [bwrap, "--unshare-all", "--die-with-parent", "--new-session",
            "--cap-drop", "ALL", "--hostname", "calificacion",
            "--bind", str(box / "tmp"), "/tmp", *binds, *_masks(binds, hidden),
            "--ro-bind", str(package), f"{PACKAGE_ROOT}/{package.name}",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/dev/shm",
            "--bind", str(box), BOX, "--remount-ro", "/", "--chdir", f"{BOX}/trabajo", "--clearenv",
            *(arg for key, value in sorted(env.items()) for arg in ("--setenv", key, value)),
            "--", *argv]


def sandbox_env(box: str, threads: int, full: bool, package_root: str) -> dict[str, str]:
    """The whole environment of a graded notebook: quick mode, its data copy, threads, HOME in
    its private folder; nothing of the instructor's."""
    bin_dir = str(Path(sys.executable).parent)
    env = {"HOME": f"{box}/home", "TMPDIR": f"{box}/tmp", "PATH": f"{bin_dir}:/usr/bin:/bin",
           "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8", "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONPATH": package_root, "PYTHONNOUSERSITE": "1",
           "PYDEVD_DISABLE_FILE_VALIDATION": "1", "CNN_COURSE_DATA": f"{box}/datos",
           "MPLBACKEND": "Agg", "TQDM_DISABLE": "1",
           **{k: str(threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                        "OPENBLAS_NUM_THREADS")}}
    if not full:
        env["CNN_COURSE_QUICK"] = "1"
    return env


@dataclass
class Outcome:
    """How a sandboxed run ended: its exit code, its log (for the maintainer, never shown to a
    student) and, if the grader stopped it, why (``"memoria"``, ``"procesos"``, ``"tiempo"``)."""

    returncode: int
    log: str
    stopped: str | None = None
    peak: int = 0   # the most resident memory its process tree held, in bytes


# rlimits set by a tiny interpreter that then becomes the command (preexec_fn is not safe in a
# grader that runs sandboxes from several threads)
_WITH_LIMITS = ("import os, resource, sys\n"
                "names = ('RLIMIT_AS', 'RLIMIT_FSIZE', 'RLIMIT_CORE')\n"
                "for name, value in zip(names, sys.argv[1:4]):\n"
                "    resource.setrlimit(getattr(resource, name), (int(value), int(value)))\n"
                "os.execvp(sys.argv[4], sys.argv[4:])")


def _limited(argv: list[str], memory: int) -> list[str]:
    return [sys.executable, "-I", "-S", "-c", _WITH_LIMITS, str(memory + VIRTUAL_SLACK),
            str(MAX_FILE), "0", *argv]


def _tree(pid: int) -> list:
    import psutil

    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    return []


def kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL ``proc``, its process group and every process below it (a sandbox's PID
    namespace dies with its first process; without a sandbox, the tree is what can be found)."""
    import psutil

    tree = _tree(proc.pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    for process in tree:
        with contextlib.suppress(psutil.Error):
            process.kill()


def _watch(proc: subprocess.Popen, memory: int, deadline: float, outcome: Outcome,
           done: threading.Event) -> None:
    import psutil

    while not done.wait(_POLL):
        tree = _tree(proc.pid)
        used = 0
        for process in tree:
            with contextlib.suppress(psutil.Error):
                used += process.memory_info().rss
        outcome.peak = max(outcome.peak, used)
        why = ("memoria" if used > memory else "procesos" if len(tree) > MAX_PROCESSES + 2
               else "tiempo" if time.monotonic() > deadline else None)
        if why:
            outcome.stopped = why
            kill_tree(proc)
            return


_LIVE: set[subprocess.Popen] = set()  # running sandboxes, killed if grading is interrupted


def kill_all() -> None:
    """Kill every sandbox still running (grading was interrupted)."""
    for proc in list(_LIVE):
        kill_tree(proc)


def run_limited(argv: list[str], *, memory: int, seconds: float, env: dict[str, str] | None,
                cwd: Path, log_limit: int = 1 << 20) -> Outcome:
    """Run ``argv`` (a sandbox, or a bare worker) under the memory cap and the time limit;
    kill its whole process tree when it ends, is stopped, or the grader is interrupted."""
    proc = subprocess.Popen(_limited(argv, memory), cwd=cwd, env=env, start_new_session=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    _LIVE.add(proc)
    outcome, done = Outcome(0, ""), threading.Event()
    watchdog = threading.Thread(target=_watch, daemon=True,
                                args=(proc, memory, time.monotonic() + seconds, outcome, done))
    watchdog.start()
    log = bytearray()
    try:
        # read as it comes (an endless print is cut), until the command has ended: a process it
        # left behind may keep the pipe open
        while True:
            ready = select.select([proc.stdout], [], [], _POLL)[0]
            chunk = os.read(proc.stdout.fileno(), 65536) if ready else b""
            if len(log) < log_limit:
                log += chunk[:log_limit - len(log)]
            if (ready and not chunk) or (not ready and proc.poll() is not None):
                break
        outcome.returncode = proc.wait()
    finally:
        done.set()
        kill_tree(proc)  # whatever it left behind
        proc.wait()
        proc.stdout.close()
        _LIVE.discard(proc)
        watchdog.join()
    outcome.log = log.decode(errors="replace")
    return outcome
