"""Bundled resources: icons, stylesheet, the sample photo and mask, default prompts."""
