"""The PySide6 desktop app. Imports inference/, never the reverse."""
