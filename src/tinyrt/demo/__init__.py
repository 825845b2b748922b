"""`tinyrt demo`, the main job on built-in data: guitar takes to three pedal models proven in C, and its report.

``run.py`` runs the pipeline (synthesise, capture, align, train, export, prove, render, time,
bench); ``report.py`` writes ``report.html`` / ``report.json`` / ``report.txt`` from its results.
"""
from .report import STUDY
from .run import EFFECTS, HOST_BLOCK, LATENCY, RATE, effect_config, jobs, run_demo

__all__ = ["EFFECTS", "HOST_BLOCK", "LATENCY", "RATE", "STUDY", "effect_config", "jobs", "run_demo"]
