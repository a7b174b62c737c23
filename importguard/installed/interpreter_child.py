"""Describe the interpreter this runs in: stdlib only, imports nothing else.

interpreter.py calls `describe()` in-process for the running interpreter and passes this
file's source to another interpreter with `-c` for `--python PATH`, so both are described
by the same code. Keep it runnable on old Pythons: no third-party imports, no new syntax.
"""

import importlib.machinery
import json
import os
import site
import sys
import sysconfig


def describe(drop_first_path_entry=False):
    # With `-c`, sys.path[0] is the child's working directory: an artifact of how it was
    # started, not a part of the environment.
    path = list(sys.path[1:] if drop_first_path_entry else sys.path)
    site_dirs = []
    paths = sysconfig.get_paths()
    site_dirs.extend([paths.get("purelib"), paths.get("platlib")])
    if hasattr(site, "getsitepackages"):  # absent from old virtualenv's site.py
        site_dirs.extend(site.getsitepackages())
    if getattr(site, "ENABLE_USER_SITE", False) and hasattr(site, "getusersitepackages"):
        site_dirs.append(site.getusersitepackages())
    return {
        "executable": sys.executable,
        "version": "%d.%d.%d" % sys.version_info[:3],
        "prefix": sys.prefix,
        "sys_path": path,
        "purelib": paths.get("purelib"),
        "platlib": paths.get("platlib"),
        "site_packages": [d for d in site_dirs if d and os.path.isdir(d)],
        # For --follow-installed, which never follows the standard library.
        "stdlib_dirs": [d for d in (paths.get("stdlib"), paths.get("platstdlib")) if d],
        "stdlib_module_names": sorted(getattr(sys, "stdlib_module_names", ())),
        "extension_suffixes": list(importlib.machinery.EXTENSION_SUFFIXES),
    }


if __name__ == "__main__":
    # On a line of its own, last: a .pth file may print to stdout while site runs.
    sys.stdout.write("\n" + json.dumps(describe(drop_first_path_entry=True)) + "\n")
