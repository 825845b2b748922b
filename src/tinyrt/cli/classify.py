"""Verbs of the audio-classification job: ``tinyrt classify train CFG.toml`` and ``tinyrt classify chain MODEL``."""
from __future__ import annotations

from pathlib import Path

from .common import positive_float


def cmd_train(args) -> int:
    """Train a classifier (CNN, forest, MLP) from a TOML config, prove its C chain and write the report."""
    from ..train.classify import load_config, train_classifier
    cfg = load_config(args.config)
    if args.minutes is not None:
        cfg.train.max_minutes = args.minutes
    out = Path(args.out) if args.out else Path("runs") / cfg.name
    result = train_classifier(cfg, out, cortex=not args.no_cortex)
    print(f"wrote {result.model_path}, {out / 'chain'}, {out / 'report.html'}, {out / 'report.json'}")
    return 0


def cmd_chain(args) -> int:
    """Write the C chain (audio window -> log-mel -> CNN -> probabilities) of a trained classifier."""
    from ..train.classify import classifier_chain
    chain = classifier_chain(args.model, name=args.name)
    paths = chain.write(args.out)
    s = chain.spec
    print(f"{chain.name}: {s.window}-sample windows at {s.sr} Hz, {len(chain.classes)} classes; "
          f"wrote {len(paths)} files to {args.out}")
    return 0


def add_parsers(sub) -> None:
    """Add the classify verbs to the command's subparsers."""
    p = sub.add_parser("classify", help="audio classification: train a CNN/forest/MLP, write its C chain")
    verbs = p.add_subparsers(dest="classify_command", required=True, metavar="VERB")
    s = verbs.add_parser("train", help="train from a TOML config and write the model, C chain and report")
    s.add_argument("config", help="TOML configuration ([data], [features], [augment], [model], [train], ...)")
    s.add_argument("--out", help="output folder (default runs/<name>)")
    s.add_argument("--minutes", type=positive_float, help="override [train] max_minutes")
    s.add_argument("--no-cortex", action="store_true", help="skip the Cortex-M4/M7 size builds")
    s.set_defaults(func=cmd_train)
    s = verbs.add_parser("chain", help="write the C chain of a trained classifier (.tinyrt)")
    s.add_argument("model")
    s.add_argument("-o", "--out", required=True, help="output folder")
    s.add_argument("--name", help="C name prefix (default <model>_chain)")
    s.set_defaults(func=cmd_chain)
