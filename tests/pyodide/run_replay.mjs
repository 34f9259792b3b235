// Run a small smars_sim replay inside Pyodide on Node and print one JSON line.
//
// Usage: node run_replay.mjs <repo-root>
//
// Only the package's .py files are copied into Pyodide's virtual file system
// (Scenario.small() reads no CSV). Nothing is fetched from the network: the npm
// `pyodide` package holds the interpreter and the standard library, and no
// extra Pyodide package (micropip, numpy, pandas...) is loaded.
import { loadPyodide } from "pyodide";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const repo = process.argv[2];
if (!repo) {
  console.error("usage: node run_replay.mjs <repo-root>");
  process.exit(2);
}

function pyFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== "__pycache__") out.push(...pyFiles(path));
    } else if (name.endsWith(".py")) {
      out.push(path);
    }
  }
  return out;
}

const started = Date.now();
const pyodide = await loadPyodide();
const loadedMs = Date.now() - started;

const root = "/home/pyodide/smars";
const files = pyFiles(join(repo, "smars_sim"));
for (const path of files) {
  const target = join(root, relative(repo, path));
  pyodide.FS.mkdirTree(target.slice(0, target.lastIndexOf("/")));
  pyodide.FS.writeFile(target, readFileSync(path));
}

const out = pyodide.runPython(`
import json, sys, time
sys.path.insert(0, ${JSON.stringify(root)})
before = set(sys.modules)
import smars_sim
from smars_sim import Scenario, replay
on_import = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in ("pandas", "numpy", "pyarrow"))
t0 = time.perf_counter()
result = replay(Scenario.small())
elapsed = time.perf_counter() - t0
s = result.summary
json.dumps({
    "platform": sys.platform,
    "python": sys.version.split()[0],
    "digest": s.execution_digest,
    "child_orders": s.child_orders,
    "executions": s.executions,
    "loss_usd": s.loss_usd,
    "heavy_modules_on_import": on_import,
    "pandas_loaded": "pandas" in sys.modules,
    "replay_s": round(elapsed, 3),
})
`);
const data = JSON.parse(out);
data.files = files.length;
data.pyodide_version = pyodide.version;
data.load_ms = loadedMs;
console.log(JSON.stringify(data));
