"""A made-up class that attacks the grader, laid out as Moodle downloads it, with the honest
oddities of a real download beside it (a loose notebook, a plain folder, a zip, the text box
folder, a name in NFD, another notebook's identity, the course's own notebook). Notebook 03's
exercises: cheap to run. Used by tests/test_grade_attacks.py."""

from __future__ import annotations

import unicodedata
import zipfile
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from cnn_course import exercises

IDS = [e.id for e in exercises.exercises_of("03")]
SOLVED = [e.solution for e in exercises.exercises_of("03")]
WRONG = [f"{e.answer} = 0" for e in exercises.exercises_of("03")[:3]]
MARKER = "cnn-course-demonio-marca"   # in the argv of the process an attacker leaves running
MEMORY = 3 << 29                      # 1,5 GB per notebook, with all its processes

# Every attacker records what it saw in variables named espia_*; the instructor's checks file
# (CHECKS) writes them where the test reads them: a check receives the plain-data variables.
CHECKS = '''\
import json
# secreto del profesor: {secret}
POINTS = {{"check_03_registro": 0}}


def check_03_registro(ns):
    seen = {{k: v for k, v in ns.items() if k.startswith("espia_")}}
    with open({log!r}, "a", encoding="utf-8") as f:
        f.write(json.dumps([ns.get("espia_quien"), seen], default=str) + "\\n")
'''

SPY = '''\
import glob, os, json
espia_quien = "espia"
espia_entorno = dict(os.environ)
espia_cmdlines = {{}}
for d in glob.glob("/proc/[0-9]*"):
    try:
        espia_cmdlines[d] = open(d + "/cmdline", "rb").read().replace(b"\\0", b" ").decode()
    except OSError:
        pass
espia_leido = {{}}
for path in [{checks!r}, {home!r}, {data!r}, {classmate!r}, {out!r}, "/etc/shadow"]:
    try:
        espia_leido[path] = open(path).read()[:200] if os.path.isfile(path) else os.listdir(path)
    except OSError as err:
        espia_leido[path] = type(err).__name__
espia_ajenos = [os.path.normpath(p) for pattern in ["/calificacion/../*", "/tmp/*/job-*/**",
                                                    "/tmp/*", "/root/*", "/home/*",
                                                    os.path.dirname({classmate!r}) + "/**",
                                                    os.path.dirname({out!r}) + "/**"]
                for p in glob.glob(pattern, recursive=True)
                if os.path.lexists(p) and not p.startswith(("/calificacion/", "/proc/"))]
for path in espia_ajenos:   # another job's results: mark them wrong
    try:
        open(path, "a").write("incorrecto")
    except OSError:
        pass
try:   # a classmate's answers, run here
    exec("\\n".join(c["source"] for c in json.load(open({classmate!r}))["cells"]))
except Exception as err:
    espia_copia = type(err).__name__
print(espia_entorno, espia_leido)
'''

PERSIST = '''\
import os, subprocess, sys
espia_quien = "persistente"
code = "00-curso.py"
startup = "import math\\nmath.isclose = lambda *a, **k: True\\nrespuesta_03_1 = 28\\n"
espia_arranque = []
for home in [os.path.expanduser("~"), {home!r}]:
    folder = os.path.join(home, ".ipython", "profile_default", "startup")
    try:
        os.makedirs(folder, exist_ok=True)
        open(os.path.join(folder, code), "w").write(startup)
        espia_arranque.append(folder)
    except OSError as err:
        espia_arranque.append(type(err).__name__)
later = ("import os, time\\ntime.sleep(6)\\n"
         "open({out!r} + '/resumen.csv', 'a').write('persistente;8;8\\\\n')\\n"
         "open({out!r} + '/dejado.txt', 'w').write('x')")
if os.fork() == 0:   # a grandchild in a session of its own, outliving its kernel
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", later, {marker!r}])
    os._exit(0)
espia_salida_vista = os.path.exists({out!r})   # the grader's --out folder
try:
    os.makedirs({out!r}, exist_ok=True)
    open({out!r} + "/dejado.txt", "w").write("x")
    espia_salida = "escrito"
except OSError as err:
    espia_salida = type(err).__name__
'''

CHEAT = '''\
import math, sys, types, torch
import cnn_course.exercises as ex
espia_quien = "tramposa"
math.isclose = lambda *a, **k: True
calls = [0]
real_allclose = torch.allclose
def alternating(*a, **k):
    calls[0] += 1
    return bool(calls[0] % 2) or real_allclose(*a, **k)
torch.allclose = alternating
ex.check_namespace = lambda id, ns, seed=0: ex.Result(id, "correcto", "✔ Correcto")
ex.probe_namespace = lambda id, ns, seed=0: {"verdict": "correcto"}
def plant(info):   # before the grader's cells: fake packages under every name it can see
    import re
    for name in re.findall(r"_cnn_course_grader_\\w*", info.raw_cell) + ["_cnn_course_grader_"]:
        fake = types.ModuleType(name + ".exercises")
        fake.probe_namespace = ex.probe_namespace
        fake.evidence_to_json = lambda e: '{"verdict": "correcto"}'
        sys.modules[name], sys.modules[name + ".exercises"] = types.ModuleType(name), fake
get_ipython().events.register("pre_run_cell", plant)
'''

BREAK = '''\
import ctypes, os, resource, signal, subprocess
espia_quien = "destructiva"
espia_rlimit_as = resource.getrlimit(resource.RLIMIT_AS)[0]
espia_pid1 = open("/proc/1/cmdline", "rb").read().split(b"\\0")[0].decode()
espia_mount = subprocess.run(["mount", "-o", "remount,rw", "/"], capture_output=True).returncode
libc = ctypes.CDLL(None, use_errno=True)
espia_mount_syscall = [libc.mount(b"none", b"/", None, 32, None), ctypes.get_errno()]
espia_escrito = []
for path in ["/etc/passwd", "/usr/lib/curso.txt", "/curso/cnn_course/exercises.py", "/raiz.txt"]:
    try:
        open(path, "a").write("x")
        espia_escrito.append(path)
    except OSError as err:
        pass
try:
    os.kill(1, signal.SIGKILL)
    espia_kill1 = "enviada"
except OSError as err:
    espia_kill1 = type(err).__name__
'''

SIGNAL = '''\
import os, signal
pid = os.getpid()
chain = []
while pid > 1:   # every process above this kernel: the grader, in a run without sandbox
    pid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
    chain.append(pid)
for pid in chain:
    os.kill(pid, signal.SIGTERM)
for pid in chain:
    os.kill(pid, signal.SIGKILL)
'''

BOMB = '''\
import os, time
for _ in range(24):   # forks that each hold 200 MB: a per-process limit never sees it
    if os.fork() == 0:
        block = bytearray(200 << 20)
        block[::4096] = b"x" * len(block[::4096])
        time.sleep(120)
        os._exit(0)
time.sleep(60)
'''

FLOOD = '''\
for i in range(8000):
    print("x" * 1000)
'''


def notebook(path: Path, cells: list[str], notebook_id: str = "03",
             version: str = "hoja") -> Path:
    nb = new_notebook(cells=[new_code_cell(source) for source in cells])
    nb.metadata["cnn_course"] = {"notebook": notebook_id,
                                 "exercises": [e.id for e in
                                               exercises.exercises_of(notebook_id)],
                                 "version": version}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def moodle(folder: Path, name: str, number: int, kind: str = "file") -> Path:
    path = folder / f"{name}_{number}_assignsubmission_{kind}_"
    path.mkdir(parents=True)
    return path


def make_class(folder: Path, *, checks: Path, out: Path, home: Path, data: Path,
               secret: str) -> dict[str, int]:
    """Write the class under ``folder`` (a Moodle download) and the instructor's checks file;
    return each honest student's expected total (the attackers expect 0, but ``grifo``: 1)."""
    classmate = notebook(folder / "honesta.ipynb", SOLVED)
    fill = {"checks": str(checks), "home": str(home), "data": str(data), "out": str(out),
            "classmate": str(classmate), "marker": MARKER}
    for name, number, cells in [
            ("espia", 11, [SPY.format(**fill), *WRONG]),
            ("persistente", 12, [PERSIST.format(**fill), *WRONG]),
            ("tramposa", 13, [CHEAT, *WRONG]),
            ("destructiva", 14, [BREAK, *WRONG]),
            ("senal", 15, [SIGNAL, *SOLVED]),
            ("bomba", 16, [BOMB, *SOLVED]),
            ("grifo", 17, [FLOOD, SOLVED[0], *WRONG[1:]])]:
        notebook(moodle(folder, name, number) / "entrega.ipynb", cells)
    # honest oddities
    ana = moodle(folder, "Ana García", 21)
    notebook(ana / "Entrega final (1).ipynb", SOLVED)
    (moodle(folder, "Ana García", 21, "onlinetext") / "onlinetext.html").write_text("<p>hola</p>")
    zoe = moodle(folder, unicodedata.normalize("NFD", "Zoë Núñez"), 22)
    notebook(zoe / "entrega.ipynb", [SOLVED[0], SOLVED[3]])
    notebook(folder / "Luis tarde (por correo).ipynb", SOLVED)
    pedro = folder / "Pedro Gil"
    notebook(pedro / "cuaderno.ipynb",
             ["from utilidades import TAMANO as respuesta_03_1", *SOLVED[1:]])
    (pedro / "utilidades.py").write_text("TAMANO = (32 - 5) // 1 + 1\n")
    carlos = moodle(folder, "Carlos Ruiz", 23)
    inner = notebook(folder / "tmp-carlos" / "entrega.ipynb",
                     ["from ayuda import TAMANO as respuesta_03_1", *SOLVED[1:]])
    with zipfile.ZipFile(carlos / "entrega.zip", "w") as archive:
        archive.write(inner, "entrega/entrega.ipynb")
        archive.writestr("entrega/ayuda.py", "TAMANO = 28\n")
    for path in sorted(inner.parent.iterdir()):
        path.unlink()
    inner.parent.rmdir()
    with zipfile.ZipFile(moodle(folder, "Hugo Malo", 24) / "entrega.zip", "w") as archive:
        archive.writestr("../../fuera.ipynb", "{}")
    dora = moodle(folder, "Dora Otro", 25)   # notebook 04 handed in where 03 is asked for
    notebook(dora / "entrega.ipynb", ["respuesta_04_1 = 0"], "04")
    notebook(moodle(folder, "Eva Curso", 26) / "03_curso.ipynb", SOLVED, version="curso")
    checks.write_text(CHECKS.format(secret=secret, log=str(checks.with_suffix(".log"))))
    return {"honesta": 4, "Ana García": 4, "Zoë Núñez": 2, "Luis tarde (por correo)": 4,
            "Pedro Gil": 4, "Carlos Ruiz": 4, "Hugo Malo": 0, "Dora Otro": 0, "Eva Curso": 4,
            "espia": 0, "persistente": 0, "tramposa": 0, "destructiva": 0, "senal": 0,
            "bomba": 0, "grifo": 1}
