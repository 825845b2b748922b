"""Classic-model benchmark: random forests in C from tinyrt, emlearn and m2cgen, side by side.

Two forests on make_classification data (16 features, seeded; features rounded to integers x1000
so emlearn's int16 inputs carry the same values): 20 trees of depth 10, and 100 trees of depth
10. For each C form: ns per prediction timed in C over the held-out rows (median of passes, no
Python in the loop), agreement with scikit-learn's predict over 1000 held-out rows, and the
code/data size of one predict function as an x86-64 object and a Cortex-M4 object
(arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard -Os). emlearn
and m2cgen run when importable (install them in a separate venv), else they are reported as
"not installed". Then a GaussianNB and an MLPClassifier (16 -> 32 -> 16 -> 3, relu, in a Pipeline
after a StandardScaler for tinyrt; emlearn gets the bare MLP on the same scaled rows) the same way.

    python benchmarks/classic.py --out bench-out [--reps 31] [--quick]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier

from tinyrt import convert
from tinyrt.backends.c.cmodel import CORTEX_M4, cross_compile
from tinyrt.c.build import WARNINGS, build, compiler_version, flags_for, section_sizes

HARNESS = """#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "engine.h"

/* argv: rows.f32 n_rows n_features predictions.i32 reps; prints the median ns per prediction */
int main(int argc, char **argv)
{
    int n, nf, reps, i, k, j, *pred;
    float *rows;
    INPUT_T *x;
    double ns[101], key;
    volatile long sink = 0;
    struct timespec a, b;
    FILE *f;
    if (argc != 6)
        return 2;
    n = atoi(argv[2]);
    nf = atoi(argv[3]);
    reps = atoi(argv[5]);
    rows = malloc(sizeof(float) * (size_t)n * (size_t)nf);
    x = malloc(sizeof(INPUT_T) * (size_t)n * (size_t)nf);
    pred = malloc(sizeof(int) * (size_t)n);
    f = fopen(argv[1], "rb");
    if (!f || fread(rows, sizeof(float), (size_t)n * (size_t)nf, f) != (size_t)n * (size_t)nf)
        return 3;
    fclose(f);
    for (i = 0; i < n * nf; i++)
        x[i] = (INPUT_T)rows[i];
    for (i = 0; i < n; i++)
        pred[i] = PREDICT(x + (size_t)i * nf);
    f = fopen(argv[4], "wb");
    fwrite(pred, sizeof(int), (size_t)n, f);
    fclose(f);
    for (k = 0; k < reps; k++) {
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (i = 0; i < n; i++)
            sink += PREDICT(x + (size_t)i * nf);
        clock_gettime(CLOCK_MONOTONIC, &b);
        key = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / n;
        for (j = k; j > 0 && ns[j - 1] > key; j--)
            ns[j] = ns[j - 1];
        ns[j] = key;
    }
    printf("%.1f\\n", ns[reps / 2]);
    return (int)(sink & 0);
}
"""


def forest(n_trees: int, seed: int = 0):
    """Return (fitted forest, held-out X as float32 integers, held-out y) for the benchmark."""
    X, y = make_classification(n_samples=6000, n_features=16, n_informative=10, random_state=seed)
    X = np.round(X * 1000).astype(np.float32)  # integer-valued: emlearn's int16 inputs hold them exactly
    assert np.abs(X).max() <= 32767
    rf = RandomForestClassifier(n_estimators=n_trees, max_depth=10, random_state=seed, n_jobs=1)
    return rf.fit(X[:5000], y[:5000]), X[5000:], y[5000:]


def tinyrt_engines(rf, X) -> dict:
    """Return {engine: (header text, C input type, predict macro, device source)} of tinyrt's C forms."""
    out = {}
    for label, options in (("tinyrt nodes float32", {}), ("tinyrt nodes int16", {"features": "int16"}),
                           ("tinyrt inline float32", {"form": "inline"})):
        cm = convert(rf, "forest", **options)
        int16 = cm.scale is not None
        # int16 inputs are quantised once, before timing, like emlearn's (the harness reads them as float)
        out[label] = {"header": cm.header(), "input": "int16_t" if int16 else "float", "cmodel": cm,
                      "predict": "forest_predict(r)", "rows": cm.quantize(X).astype(np.float32) if int16 else X}
    return out


def emlearn_engines(rf, X) -> dict:
    """Return emlearn's C forms of the forest (loadable node arrays and inline code), int16 features."""
    import emlearn
    include = Path(emlearn.__file__).parent
    out = {}
    for method in ("loadable", "inline"):
        with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):
            path = Path(tmp) / "eml_forest.h"
            emlearn.convert(rf, method=method).save(file=str(path), name="eml_forest")
            text = path.read_text()
        out[f"emlearn {method} int16"] = {"header": text, "input": "int16_t", "include": include,
                                          "predict": "eml_forest_predict(r, 16)", "rows": X}
    return out


def m2cgen_engines(rf, X) -> dict:
    """Return m2cgen's C form of the forest (double inputs, class probabilities out)."""
    import m2cgen
    text = m2cgen.export_to_c(rf) + """
static int m2c_predict(double *x)
{
    double p[2];
    score(x, p);
    return p[1] > p[0];
}
"""
    return {"m2cgen double": {"header": text, "input": "double", "predict": "m2c_predict(r)", "rows": X}}


def measure(label: str, engine: dict, rf, X, reps: int, profile: str) -> dict:
    """Return ns per prediction, agreement with scikit-learn and object sizes of one engine."""
    flags = ([] if label.startswith("tinyrt") else ["-w", "-Wno-error"])  # third-party code: no -Werror
    flags += ["-I", str(engine["include"])] if "include" in engine else []
    extra = [*flags, f"-DINPUT_T={engine['input']}", f"-DPREDICT(r)={engine['predict']}"]
    files = {"engine.h": engine["header"], "harness.c": HARNESS}
    exe = build(files, "classic-bench", kind="executable", profile=profile, extra_flags=extra)
    with tempfile.TemporaryDirectory() as tmp:
        rows, pred = Path(tmp) / "rows.f32", Path(tmp) / "pred.i32"
        np.ascontiguousarray(engine["rows"], dtype=np.float32).tofile(rows)
        out = subprocess.run([str(exe), str(rows), str(len(X)), str(X.shape[1]), str(pred), str(reps)],
                             capture_output=True, text=True, check=True)
        ours = np.fromfile(pred, dtype=np.int32)
    call = engine["predict"].replace("(r", "(x")
    device = (f'#include "engine.h"\nint device_predict({engine["input"]} *x);\n'
              f'int device_predict({engine["input"]} *x)\n{{\n    return {call};\n}}\n')
    dev_files = {"engine.h": engine["header"], "device.c": device}
    host = section_sizes(build(dev_files, "device.o", kind="object", profile="portable", extra_flags=flags))
    m4 = section_sizes(cross_compile(dev_files, "arm-none-eabi-gcc", CORTEX_M4 + flags), "arm-none-eabi-size")
    agree = int((rf.classes_[ours] == rf.predict(X)).sum())
    result = {"engine": label, "ns_per_prediction": float(out.stdout.strip()), "agree": agree, "rows": len(X),
              "x86_object": host, "cortex_m4_object": m4,
              "cortex_m4_flash": m4["text"] + m4["rodata"] + m4["data"], "cortex_m4_ram": m4["data"] + m4["bss"]}
    print(f"  {label:24s} {result['ns_per_prediction']:8.1f} ns  {agree}/{len(X)} agree  "
          f"x86 text {host['text']:7d} rodata {host['rodata']:7d}  M4 text {m4['text']:7d} "
          f"flash {result['cortex_m4_flash']:7d} RAM {result['cortex_m4_ram']}", flush=True)
    return result


def classic_models(seed: int = 0) -> list:
    """Return [(label, fitted estimator for tinyrt, estimator for emlearn or None, held-out X float32)]."""
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    X, y = make_classification(n_samples=6000, n_features=16, n_informative=10, n_classes=3, random_state=seed)
    X = X.astype(np.float32)
    nb = GaussianNB().fit(X[:5000].astype(np.float64), y[:5000])
    mlp = make_pipeline(StandardScaler(), MLPClassifier((32, 16), max_iter=300, random_state=seed))
    mlp.fit(X[:5000].astype(np.float64), y[:5000])
    return [("GaussianNB", nb, nb, X[5000:]), ("MLPClassifier 16-32-16-3", mlp, mlp.steps[-1][1], X[5000:])]


def emlearn_model(est) -> dict:
    """Return emlearn's C form of a GaussianNB or MLPClassifier (float features)."""
    import emlearn
    # emlearn.convert builds a Python extension of the model in ./tmp: keep that out of the repository
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):
        path = Path(tmp) / "eml_model.h"
        emlearn.convert(est).save(file=str(path), name="eml_model")
        text = path.read_text()
    return {"header": text, "input": "float", "include": Path(emlearn.__file__).parent,
            "predict": "eml_model_predict(r, 16)"}


def model_rows(args, results: dict) -> None:
    """Benchmark tinyrt (and emlearn when importable) on a GaussianNB and an MLP; add the rows to results."""
    results["models"] = []
    for label, est, bare, X in classic_models():
        print(f"{label}: {len(X)} held-out rows", flush=True)
        cm = convert(est, "model")
        engines = {"tinyrt float64 math": {"header": cm.header(), "input": "float", "predict": "model_predict(r)",
                                           "rows": X}}
        try:
            scaled = X if bare is est else est[:-1].transform(X).astype(np.float32)
            engines["emlearn float"] = {**emlearn_model(bare), "rows": scaled}
        except ImportError:
            print("  emlearn: not installed")
        except Exception as exc:  # noqa: BLE001 - a third-party converter's own refusal, reported as such
            print(f"  emlearn: could not convert ({type(exc).__name__}: {exc})")
        rows = []
        for profile in ("portable", "native"):
            for name, engine in engines.items():
                rows.append({**measure(name, engine, est, X, args.reps, profile), "profile": profile})
        results["models"].append({"model": label, "agreement": cm.agreement(est, X), "results": rows})


def main() -> None:
    """Run the benchmark and write classic.json into --out."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench-out")
    ap.add_argument("--reps", type=int, default=31, help="timed passes over the rows (median taken, at most 101)")
    ap.add_argument("--quick", action="store_true", help="only the 20-tree forest")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    results = {"machine": platform.processor() or platform.machine(), "compiler": compiler_version("gcc"),
               "flags": {p: flags_for(p) for p in ("portable", "native")}, "m4_flags": WARNINGS + CORTEX_M4,
               "forests": []}
    for n_trees in (20,) if args.quick else (20, 100):
        rf, X, _ = forest(n_trees)
        nodes = sum(e.tree_.node_count for e in rf.estimators_)
        print(f"forest: {n_trees} trees, depth 10, 16 features, {nodes} nodes; {len(X)} held-out rows", flush=True)
        engines = tinyrt_engines(rf, X)
        for name, make in (("emlearn", emlearn_engines), ("m2cgen", m2cgen_engines)):
            try:
                engines.update(make(rf, X))
            except ImportError:
                print(f"  {name}: not installed")
                results["not_installed"] = sorted(set(results.get("not_installed", [])) | {name})
        rows = []
        for profile in ("portable", "native"):
            print(f" profile {profile}: {' '.join(flags_for(profile))}", flush=True)
            for label, engine in engines.items():
                rows.append({**measure(label, engine, rf, X, args.reps, profile), "profile": profile})
        int16 = engines["tinyrt nodes int16"]["cmodel"].agreement(rf, X)
        print(f"  tinyrt int16 vs scikit-learn on the float inputs: {int16}")
        results["forests"].append({"trees": n_trees, "max_depth": 10, "features": 16, "nodes": nodes,
                                   "int16_agreement": int16, "results": rows})
    model_rows(args, results)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "classic.json").write_text(json.dumps(results, indent=1))
    print(f"wrote {out / 'classic.json'}")


if __name__ == "__main__":
    main()
