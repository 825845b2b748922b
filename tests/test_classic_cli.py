"""Classic models from the command line: a pickled estimator converted, exported and run as C."""
from __future__ import annotations

import pickle

import joblib
import numpy as np
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.svm import SVC

from test_cli import fail, run


def _forest(tmp_path):
    X, y = make_classification(n_samples=1400, n_features=8, n_informative=5, n_classes=3, random_state=0)
    X = X.astype(np.float32)
    est = RandomForestClassifier(n_estimators=8, max_depth=7, random_state=0).fit(X[:1000], y[:1000])
    joblib.dump(est, tmp_path / "rf.pkl")
    np.save(tmp_path / "X.npy", X[1000:])
    np.savetxt(tmp_path / "X.csv", X[1000:], delimiter=",", fmt="%.9g")
    return est, X[1000:]


def test_convert_export_and_predict_a_pickled_forest(tmp_path):
    est, X = _forest(tmp_path)
    run("convert", tmp_path / "rf.pkl", "-o", tmp_path / "rf.tinyrt")
    assert "tree_ensemble" in run("info", tmp_path / "rf.tinyrt").stdout
    # the compiled C agrees with the estimator on every held-out sample, from the .tinyrt or the pickle itself
    proc = run("predict", tmp_path / "rf.tinyrt", tmp_path / "X.npy", "--compare", tmp_path / "rf.pkl",
               "-o", tmp_path / "y.npy")
    assert "agreement with rf.pkl: 400/400 predictions" in proc.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), est.predict(X))
    proc = run("predict", tmp_path / "rf.pkl", tmp_path / "X.csv", "--method", "predict_proba")
    proba = np.array([[float(v) for v in line.split()] for line in proc.stdout.splitlines()])
    np.testing.assert_allclose(proba, est.predict_proba(X), atol=1e-6)
    run("predict", tmp_path / "rf.tinyrt", tmp_path / "X.npy", "--features", "int16", "--compare", tmp_path / "rf.pkl")
    for suffix in (".h", ".bin", ".csv"):
        run("export", tmp_path / "rf.tinyrt", "--to", "classic", "-o", tmp_path / f"forest{suffix}")
    header = (tmp_path / "forest.h").read_text()
    assert "forest_predict" in header and "malloc" not in header
    run("export", tmp_path / "rf.tinyrt", "--to", "classic", "--features", "int16", "--form", "inline",
        "--name", "rf16", "-o", tmp_path / "rf16.h")
    assert "rf16_quantize" in (tmp_path / "rf16.h").read_text()


def test_bad_classic_input_gets_one_sentence(tmp_path):
    est, X = _forest(tmp_path)
    with open(tmp_path / "dict.pkl", "wb") as f:
        pickle.dump({"not": "a model"}, f)
    (tmp_path / "junk.pkl").write_bytes(b"\x80\x04junk that is not a pickle")
    (tmp_path / "gone.pkl").write_bytes(b"cno_such_module_here\nModel\n.")  # a class this Python cannot import
    joblib.dump(SVC().fit(X[:50], est.predict(X[:50])), tmp_path / "svc.pkl")
    fail("convert", tmp_path / "dict.pkl", "-o", tmp_path / "x.tinyrt",
         message="holds a dict, not a scikit-learn estimator")
    fail("convert", tmp_path / "junk.pkl", "-o", tmp_path / "x.tinyrt",
         message="is not a readable pickle or joblib file")
    fail("convert", tmp_path / "gone.pkl", "-o", tmp_path / "x.tinyrt",
         message="was pickled with classes this Python cannot import")
    fail("convert", tmp_path / "svc.pkl", "-o", tmp_path / "x.tinyrt", message="tinyrt cannot convert SVC; it converts")
    np.save(tmp_path / "wide.npy", np.zeros((3, 9), np.float32))
    fail("predict", tmp_path / "rf.pkl", tmp_path / "wide.npy", message="expects X of shape (n_samples, 8), got (3, 9)")
    fail("predict", tmp_path / "rf.pkl", tmp_path / "none.npy", message="no such samples file")
    (tmp_path / "bad.csv").write_text("1,2,x\n")
    fail("predict", tmp_path / "rf.pkl", tmp_path / "bad.csv", message="cannot be read as a samples table")
    fail("export", tmp_path / "rf.pkl", "--to", "classic", "-o", tmp_path / "rf.txt",
         message="cannot tell the format of rf.txt")
