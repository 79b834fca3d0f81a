"""Where an output tree may go: never over the config, its folder or a parent, nor a system folder.

``guardgen generate`` replaces the whole output directory, so a wrong ``output:`` or ``--output``
(``.``, ``..``, ``/etc``) would mix generated files into a folder that holds other things.
``--force-output-location`` overrides these checks (not the refusal to write through a link).
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

# System folders: neither they nor anything below them is an output.
_SYSTEM_TREES = tuple(PurePosixPath(p) for p in (
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run",
    "/sbin", "/sys", "/usr", "/var/log", "/var/run", "/var/spool", "/var/mail", "/var/cache",
    "/System", "/private/etc", "/private/var/run", "/Library", "/Applications",
))
# Folders that hold other people's or the system's folders: outputs go below them, not in them.
_SHARED = frozenset(PurePosixPath(p) for p in (
    "/", "/home", "/Users", "/root", "/tmp", "/var", "/var/tmp", "/var/lib", "/opt", "/srv",
    "/mnt", "/media", "/Volumes", "/private", "/private/tmp", "/private/var",
))


def location_problem(out: Path, config: Path, home: Path | None = None) -> str | None:
    """Why ``out`` must not be the output of ``config``, or None when it may.

    Args:
        out: The output directory (it may not exist yet).
        config: The config file.
        home: The user's home folder (default: ``Path.home()``); never an output itself.
    """
    target = Path(os.path.realpath(out))
    cfg = Path(os.path.realpath(config))
    if home is None:
        try:
            home = Path.home()
        except RuntimeError:  # no home folder known (a bare container)
            home = None
    if target == cfg:
        return "it is the config file itself"
    if target == cfg.parent:
        return ("it is the config's own folder; generated files would mix with yours (use a "
                "subfolder such as `terraform`)")
    pure = PurePosixPath(target.as_posix())
    if pure in _SHARED:
        return f"{target} is {'the root folder' if str(pure) == '/' else 'a shared system folder'}"
    if home is not None and target == Path(os.path.realpath(home)):
        return "it is your home folder"
    for tree in _SYSTEM_TREES:
        if pure == tree or tree in pure.parents:
            return f"{target} is {'a' if pure == tree else 'inside the'} system folder {tree}"
    if target in cfg.parents:
        return "it is a parent folder of the config"
    return None
