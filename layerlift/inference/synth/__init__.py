"""Deterministic, seeded synthetic triplets (composite, logo, object, mask) for the benchmark
and for training. See generate.py for how a case is made."""

from layerlift.inference.synth.generate import Triplet, generate_triplet
from layerlift.inference.synth.io import generate_dataset, read_triplet, write_triplet
from layerlift.inference.synth.surfaces import KINDS

__all__ = ["KINDS", "Triplet", "generate_dataset", "generate_triplet", "read_triplet",
           "write_triplet"]
