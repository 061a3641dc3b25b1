"""Layerlift: split a product photo into a logo layer and a clean object layer.

One import namespace: the headless core (layerlift.inference), the desktop app
(layerlift.desktop), the trainer (layerlift.training) and the bundled files
(layerlift.resources). Importing this package imports none of them.
"""
