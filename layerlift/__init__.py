"""Layerlift: split a product photo into a logo layer and a clean object layer.

One import namespace: the headless core (layerlift.inference), the desktop app
(layerlift.desktop), the trainer (layerlift.training) and the bundled files
(layerlift.resources). Importing this package imports none of them.
"""

# The one version number: pyproject.toml reads it (tool.setuptools.dynamic); the frozen
# bundle, which may carry no package metadata, prints it from here.
__version__ = "0.1.0"
