"""``xpnet info`` (version, backends, devices, fast paths: it reports and never fails) and ``xpnet configs``."""
from __future__ import annotations

import importlib.util
import os
import sys

from .._version import __version__


def fast_paths() -> dict:
    """Each CPU/GPU fast path mapped to ``"active"`` or why it is not."""
    from ..options import get_option

    out = {}
    off = not get_option("fast")
    try:
        from ..backend import fast_numpy

        if off:
            out["numba GELU kernels (numpy)"] = "off (XPNET_FAST=0)"
        elif fast_numpy.AVAILABLE:
            import numba

            out["numba GELU kernels (numpy)"] = f"active (numba {numba.__version__})"
        elif os.environ.get("XPNET_NUMBA", "1") == "0":
            out["numba GELU kernels (numpy)"] = "off (XPNET_NUMBA=0)"
        else:
            out["numba GELU kernels (numpy)"] = "inactive: numba is not installed (pip install numba)"
    except Exception as e:  # report, never fail
        out["numba GELU kernels (numpy)"] = f"unavailable: {e}"
    if importlib.util.find_spec("scipy") is not None:
        out["scipy erf (numpy)"] = "active"
    else:
        out["scipy erf (numpy)"] = "inactive: scipy is not installed (erf in Array API code)"
    return out


def info(args=None) -> int:
    from .. import backend as B
    from ..backend.registry import list_devices

    print(f"xpnet {__version__}")
    print(f"python {sys.version.split()[0]}")
    print("backends:")
    for name, status in B.available_backends().items():
        print(f"  {name:<17} {status}")
        try:
            devices = list_devices(name)
        except Exception as e:  # report, never fail
            devices = [f"? ({e})"]
        if devices:
            print(f"  {'':<17} devices: {', '.join(devices)}")
    env = os.environ.get("XPNET_BACKEND")
    try:
        active = str(B.get_backend())
    except Exception as e:
        active = f"unavailable: {e}"
    print(f"active: {active} ({'XPNET_BACKEND=' + env if env else 'default; set XPNET_BACKEND or set_backend'})")
    print(f"default dtype: {B.get_default_dtype()}")
    print("fast paths:")
    for name, status in fast_paths().items():
        print(f"  {name:<28} {status}")
    return 0


def _short(text: str, width: int = 90) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def configs(args=None) -> int:
    """Packaged run configs (``xpnet train --config NAME``) and experiment files (``xpnet sweep NAME``)."""
    from ..config import list_configs, load_config
    from ..config.loading import read_toml

    found = list_configs()
    runs = {n: p for n, p in found.items() if not n.startswith("experiments/")}
    experiments = {n: p for n, p in found.items() if n.startswith("experiments/")}
    print("run configs (xpnet train --config NAME):")
    for name, path in runs.items():
        try:
            desc = load_config(path).get("description", "")
        except Exception as e:  # list, never fail
            desc = f"(invalid: {e})"
        print(f"  {name:<34} {_short(desc)}")
    if experiments:
        print("experiments (xpnet sweep NAME):")
        for name, path in experiments.items():
            try:
                raw = read_toml(path)
                desc = raw.get("description", "") or raw.get("experiment", {}).get("description", "")
            except Exception as e:  # list, never fail
                desc = f"(invalid: {e})"
            print(f"  {name:<34} {_short(str(desc))}")
    print("\nfiles: " + ", ".join(sorted({str(p.parent) for p in runs.values()})))
    return 0
