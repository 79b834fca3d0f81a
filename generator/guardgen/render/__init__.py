"""Render: a plan in, ``{relative path: text}`` out, through Jinja templates whose every value is
an HCL literal. No disk writes. Imports plan/ and the shared helpers; the only user of jinja2.
"""

from __future__ import annotations

from .moves import moved_files
from .terraform import MANAGEMENT, align, comment, label, markdown, render

__all__ = ["MANAGEMENT", "align", "comment", "label", "markdown", "moved_files", "render"]
