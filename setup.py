"""Package discovery for setuptools (all metadata lives in pyproject.toml).

pyproject's `packages.find` cannot also map a package to a folder of another name, and the shipped corpus and
model live in the top-level `data/` folder of the checkout. Here every package and subpackage is discovered,
and `data/` is installed as the package `tkit_data`, so a wheel carries them (`importlib.resources`).
"""
from setuptools import find_packages, setup

CODE = ["tokenizers_kit", "ngram", "neural", "cli"]

setup(
    packages=find_packages(include=[p for name in CODE for p in (name, f"{name}.*")]) + ["tkit_data"],
    package_dir={"tkit_data": "data"},
)
