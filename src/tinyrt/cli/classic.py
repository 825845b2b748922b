"""Verbs for classic ML: predict (a converted scikit-learn model's C on a table), features (C audio features)."""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import InputError
from ..files import atomic_path
from .common import load_model, non_negative_float, positive_int, samples_table


def cmd_predict(args) -> int:
    """Run a converted classic model's C library on samples; optionally compare with the estimator."""
    import numpy as np

    from ..backends.c.cmodel import CModel
    from ..frontends.sklearn import load_estimator
    cmodel = CModel(load_model(args.model), features=args.features)
    x = samples_table(args.samples)
    y = getattr(cmodel, args.method)(x)
    if args.output:
        out = Path(args.output)
        with atomic_path(out, "predictions file") as tmp:
            if out.suffix == ".npy":
                np.save(tmp, y, allow_pickle=False)
            else:
                np.savetxt(tmp, np.asarray(y).reshape(len(y), -1), delimiter=",", fmt="%.9g")
        print(f"wrote {out} ({args.method} of {len(x)} samples, C library {cmodel.name})")
    else:
        print("\n".join(" ".join(f"{v:.9g}" if isinstance(v, float) else str(v) for v in np.ravel(row))
                        for row in np.asarray(y).reshape(len(y), -1).tolist()))
    if args.compare:
        a = cmodel.agreement(load_estimator(args.compare), x)
        print(f"agreement with {Path(args.compare).name}: {a['agree']}/{a['samples']} predictions, "
              f"largest difference in probabilities/scores/values {a['max_abs_error']:.3g}", file=sys.stderr)
        return 0 if a["agree"] == a["samples"] else 1
    return 0


def cmd_features(args) -> int:
    """Compute feature frames of a WAV file with the C feature library and save them (.npy or .csv)."""
    import numpy as np

    from ..audio import FeatureExtractor, read_wav
    audio, rate = read_wav(args.input)
    if audio.ndim == 2:
        if audio.shape[1] != 1:
            raise InputError(f"{args.input} has {audio.shape[1]} channels; features are computed on mono audio, "
                             f"mix it down first.")
        audio = audio[:, 0]
    names = [f.strip() for f in args.features.split(",") if f.strip()]
    fx = FeatureExtractor(rate, args.n_fft, args.hop, names, n_mels=args.n_mels, fmin=args.fmin, fmax=args.fmax,
                          htk=args.htk)
    frames = np.concatenate([fx.process(audio[i:i + args.block]) for i in range(0, len(audio), args.block)]
                            + [np.zeros((0, fx.n_features), np.float32)])
    out = Path(args.output)
    if out.suffix not in (".npy", ".csv"):
        raise InputError(f"the output file must end in .npy or .csv, got '{out.name}'.")
    with atomic_path(out, "features file") as tmp:
        if out.suffix == ".npy":
            np.save(tmp, frames, allow_pickle=False)
        else:
            np.savetxt(tmp, frames, delimiter=",", fmt="%.9g", header=",".join(fx.names), comments="")
    print(f"wrote {out}: {len(frames)} frames x {fx.n_features} values ({', '.join(names)}; n_fft {fx.n_fft}, "
          f"hop {fx.hop} at {rate} Hz, fed in {args.block}-sample blocks)")
    return 0


def add_parsers(sub) -> None:
    """Add the classic-ML verbs to the command's subparsers."""
    s = sub.add_parser("predict", help="run a converted scikit-learn model's compiled C on a table of samples")
    s.add_argument("model", help=".tinyrt from tinyrt convert, or the estimator's .pkl/.joblib")
    s.add_argument("samples", help="samples x features: a .npy array or a .csv file (comma separated)")
    s.add_argument("--method", default="predict",
                   choices=("predict", "predict_proba", "decision_function", "score_samples"))
    s.add_argument("--features", default="float32", choices=("float32", "int16"))
    s.add_argument("--compare", help="the original estimator (.pkl/.joblib): report agreement, exit 1 if any differs")
    s.add_argument("-o", "--output", help="write the results here (.npy or .csv)")
    s.set_defaults(func=cmd_predict)

    s = sub.add_parser("features", help="audio features of a WAV file computed by the C feature library")
    s.add_argument("input", help="mono WAV file")
    s.add_argument("-o", "--output", required=True, help="feature frames, one row per frame (.npy or .csv)")
    s.add_argument("--features", default="log_mel",
                   help="comma-separated: log_mel, mel, power, rms, zcr, centroid, bandwidth, rolloff, flatness")
    s.add_argument("--n-fft", type=positive_int, default=512, help="window and FFT size, a power of two (default 512)")
    s.add_argument("--hop", type=positive_int, help="samples between frames (default n_fft / 4)")
    s.add_argument("--n-mels", type=positive_int, default=40)
    s.add_argument("--fmin", type=non_negative_float, default=0.0)
    s.add_argument("--fmax", type=non_negative_float, help="highest mel frequency (default: half the sample rate)")
    s.add_argument("--htk", action="store_true", help="HTK mel scale instead of Slaney's")
    s.add_argument("--block", type=positive_int, default=64,
                   help="feed the audio in blocks of this many samples (default 64)")
    s.set_defaults(func=cmd_features)
