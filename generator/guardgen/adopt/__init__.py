"""Adopt: hand-written Terraform read with python-hcl2, into guardgen's terms. Imports config/,
catalog/, policy/ and the shared helpers; it sits beside aws/, prove/, render/ and output/ and
imports none of them.

Two uses. ``guardgen import --terraform DIR`` reads a configuration's organization policies
(``aws_organizations_policy`` with ``jsonencode``, ``file``, ``templatefile`` or an
``aws_iam_policy_document``, cloudposse's YAML catalogs) and their attachments, and writes them
into guardgen.yaml as custom guardrails (:func:`import_terraform`); whatever it cannot translate
is reported with its file and line. ``guardgen generate`` reads the ``.tf`` files users keep in
its roots and refuses when one declares what guardgen generates (:func:`refuse_clashes`), and
reads the previous generation lazily for :mod:`guardgen.plan.moves` (:class:`Previous`).

Layout: :mod:`.syntax` (files into blocks with lines), :mod:`.evaluate` (expressions),
:mod:`.terraform` (modules, variables, references), :mod:`.policies` (policies and
attachments), :mod:`.merge` (the guardgen.yaml edit), :mod:`.ondisk` (the file system).
"""

from __future__ import annotations

from pathlib import Path

from ..config.models import Config
from .evaluate import Untranslatable
from .merge import Adoption, Guardrail, merge
from .ondisk import Folder, Previous, clashes, refuse_clashes, user_terraform
from .policies import Found, read
from .syntax import SyntaxProblem


def import_terraform(folder: Path, cfg: Config, text: str, *, origin: str) -> Adoption:
    """Read the Terraform configuration in ``folder`` and write its SCPs and RCPs into ``text``.

    Args:
        folder: The root module's folder.
        cfg: The config ``text`` loads as (for the OUs and accounts attachments name).
        text: The current guardgen.yaml.
        origin: ``folder`` as the user gave it, for the comments written.

    Returns:
        The new config text, the guardrails and attachments it gained, and every construct not
        translated as ``file:line: why`` (file names relative to ``folder``).

    Raises:
        Untranslatable: ``folder`` cannot be read at all.
    """
    return merge(read(Folder(folder)), cfg, text, origin=origin)


__all__ = [
    "Adoption", "Folder", "Found", "Guardrail", "Previous", "SyntaxProblem", "Untranslatable",
    "clashes", "import_terraform", "merge", "read", "refuse_clashes", "user_terraform",
]
