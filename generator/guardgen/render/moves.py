"""``moved.tf``: the moved blocks of :func:`guardgen.plan.moves.derive`, one file per root that has
any, and for an account root whose folder changed, how to bring its state along. Pure."""

from __future__ import annotations

from ..plan import Plan
from ..plan.moves import MOVED_FILE, Moves
from .terraform import _header, _tf


def _state_move(plan: Plan, old: str, new: str) -> str:
    """How to carry a root's state from folder ``old`` to ``new``, for this config's backend."""
    if plan.backend is None:
        return f"move {old}/terraform.tfstate (local state) into {new}/"
    b = plan.backend

    def key(root: str) -> str:
        return "/".join(p for p in (b.key_prefix.strip("/"), root, "terraform.tfstate") if p)

    return f"copy s3://{b.bucket}/{key(old)} to s3://{b.bucket}/{key(new)}"


def moved_files(moves: Moves, plan: Plan, source: str) -> dict[str, str]:
    """``{root}/moved.tf`` for every root with moves, keyed by path like :func:`render`'s files.

    Args:
        moves: What :func:`guardgen.plan.moves.derive` found.
        plan: The plan the tree was rendered from (for the state backend).
        source: The config path shown in headers, as given to :func:`render`.
    """
    header = _header(source)
    return {f"{root}/{MOVED_FILE}": _tf(
        "root/moved.tf.j2", header=header, moves=moves.blocks.get(root, ()),
        was=[(old, _state_move(plan, old, root)) for old in moves.previous_roots.get(root, ())])
        for root in moves.roots}
