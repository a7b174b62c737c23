"""Describe the interpreter this runs in: stdlib only, imports nothing else.

interpreter.py calls `describe()` in-process for the running interpreter and passes this
file's source to another interpreter with `-I -S -c` for `--python PATH`, so both are
described by the same code. Keep it runnable on old Pythons: no third-party imports, no
new syntax.

Started with `-S`, the target's `site` never runs, so no `.pth` file of the target
executes code; this file then works out what `site` would have put on `sys.path`: the
virtual environment from `pyvenv.cfg`, its site-packages (and the base ones when
`include-system-site-packages` is true), the user site outside a virtual environment,
the path lines of `.pth` files (their `import` lines are not run), and PYTHONPATH
(`-I` ignores it).
"""

import importlib.machinery
import json
import os
import site
import sys
import sysconfig


def _venv_prefix():
    """The virtual environment's directory and whether it sees the base site-packages,
    from pyvenv.cfg as site.venv() reads it; None outside one."""
    executable = os.path.abspath(sys.executable)
    directory = os.path.dirname(executable)
    for candidate in (directory, os.path.dirname(directory)):
        config = os.path.join(candidate, "pyvenv.cfg")
        if os.path.isfile(config):
            include_system = False
            try:
                with open(config, encoding="utf-8") as handle:
                    for line in handle:
                        key, sep, value = line.partition("=")
                        if sep and key.strip().lower() == "include-system-site-packages":
                            include_system = value.strip().lower() == "true"
            except (OSError, UnicodeDecodeError):
                pass
            return candidate, include_system
    return None


def _pth_paths(site_dir, known):
    """The directories `.pth` files in `site_dir` add, as site.addpackage does, without
    running their `import` lines."""
    added = []
    try:
        names = sorted(n for n in os.listdir(site_dir) if n.endswith(".pth") and not n.startswith("."))
    except OSError:
        return added
    for name in names:
        try:
            with open(os.path.join(site_dir, name), encoding="utf-8", errors="surrogateescape") as handle:
                lines = handle.read(1000000).splitlines()
        except OSError:
            continue
        for line in lines:
            if not line.strip() or line.startswith("#") or line.startswith(("import ", "import\t")):
                continue
            directory = os.path.abspath(os.path.join(site_dir, line.rstrip()))
            if directory not in known and os.path.isdir(directory):
                known.add(directory)
                added.append(directory)
    return added


def _site_path_without_site(path):
    """sys.path as `site` would have completed it (started with -S)."""
    venv = _venv_prefix()
    prefixes = [sys.base_prefix]
    if venv is not None:
        sys.prefix = sys.exec_prefix = venv[0]  # what site.venv() sets; sysconfig reads it
        prefixes = [venv[0]] + ([sys.base_prefix] if venv[1] else [])
    site_dirs = []
    if venv is None and hasattr(site, "getusersitepackages"):
        user = site.getusersitepackages()
        if os.path.isdir(user):
            site_dirs.append(user)
    if hasattr(site, "getsitepackages"):
        site_dirs.extend(d for d in site.getsitepackages(prefixes) if os.path.isdir(d))
    python_path = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    result = [os.path.abspath(p) for p in python_path] + list(path)
    known = set(result)
    for directory in site_dirs:
        if directory not in known:
            known.add(directory)
            result.append(directory)
        result.extend(_pth_paths(directory, known))
    return result


def describe(drop_first_path_entry=False):
    # With `-c`, sys.path[0] is the child's working directory (unless -I made it safe):
    # an artifact of how it was started, not a part of the environment.
    drop = drop_first_path_entry and not getattr(sys.flags, "safe_path", False)
    path = list(sys.path[1:] if drop else sys.path)
    site_dirs = []
    if sys.flags.no_site:
        path = _site_path_without_site(path)  # sets sys.prefix to a venv's
        # sysconfig read sys.prefix when it was imported, before that.
        paths = sysconfig.get_paths(vars={"base": sys.prefix, "platbase": sys.exec_prefix})
        site_dirs.extend([paths.get("purelib"), paths.get("platlib")])
        if hasattr(site, "getsitepackages"):
            site_dirs.extend(site.getsitepackages([sys.prefix]))
    else:
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
    # On a line of its own, last, in case something printed while the interpreter started.
    sys.stdout.write("\n" + json.dumps(describe(drop_first_path_entry=True)) + "\n")
