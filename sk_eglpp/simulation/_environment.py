"""The environment a simulation ran in: versions, processor, threads.

A simulation is reproducible for a seed and a thread count on the same kind
of processor with the same versions: CPU kernels (AVX2 or AVX-512, MKL,
oneDNN and OpenBLAS code paths) round differently, and training amplifies
the differences. So the environment is recorded with the results
(``environment.json`` of a store, ``SimulationResults.environments``)
and printed under the report.
"""

import os
import platform
import sys
from importlib import metadata

from .._fingerprints import fingerprint
from .._version import __version__

__all__ = []

#: the packages whose versions are recorded (distribution names), after
#: Python's and sk_eglpp's
_PACKAGES = ("numpy", "scipy", "scikit-learn", "torch", "skorch")

#: the keys of a recorded environment, in the order they are printed
KEYS = (
    "python",
    "sk_eglpp",
    *_PACKAGES,
    "platform",
    "processor",
    "cpu_capability",
    "blas",
    "cpu_count",
    "torch_threads",
    "omp_num_threads",
    "n_threads",
    "n_jobs",
    "device",
)


def _version(package):
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _processor():
    """The processor's model name (``/proc/cpuinfo``), else ``platform``'s."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or None


def _blas():
    """The BLAS libraries loaded, with OpenBLAS's kernel architecture."""
    from threadpoolctl import threadpool_info

    found = set()
    for info in threadpool_info():
        if info.get("user_api") != "blas":
            continue
        text = f"{info.get('internal_api')} {info.get('version')}"
        if info.get("architecture"):
            text += f" ({info['architecture']})"
        found.add(text)
    return ", ".join(sorted(found)) or None


def current_environment(n_threads=None, n_jobs=None, device=None):
    """The environment of this process, as recorded by :func:`simulate`.

    Parameters
    ----------
    n_threads, n_jobs : int or None
        The simulation's arguments.
    device : str or None
        The net's device (``None`` for a scikit-learn estimator).

    Returns
    -------
    environment : dict
        Plain JSON values under the keys of :data:`KEYS`: the versions of
        Python and of the packages, ``platform.platform()``, the processor's
        model name, torch's CPU capability (``"AVX2"``, ``"AVX512"``, ...),
        the BLAS libraries, the CPU count, torch's thread count in the
        calling process, ``OMP_NUM_THREADS``, ``n_threads``, ``n_jobs`` and
        the device (with a CUDA device's name).
    """
    env = {"python": platform.python_version(), "sk_eglpp": __version__}
    env.update({package: _version(package) for package in _PACKAGES})
    capability = threads = None
    torch = sys.modules.get("torch")
    if torch is None:
        try:
            import torch
        except ImportError:  # pragma: no cover - torch is a dependency
            torch = None
    if torch is not None:
        capability = torch.backends.cpu.get_cpu_capability()
        threads = torch.get_num_threads()
        if device is not None and str(device).startswith("cuda"):
            if torch.cuda.is_available():
                device = f"{device} ({torch.cuda.get_device_name(device)})"
    env.update(
        platform=platform.platform(),
        processor=_processor(),
        cpu_capability=capability,
        blas=_blas(),
        cpu_count=os.cpu_count(),
        torch_threads=threads,
        omp_num_threads=os.environ.get("OMP_NUM_THREADS"),
        n_threads=n_threads,
        n_jobs=n_jobs,
        device=None if device is None else str(device),
    )
    return env


def environment_id(environment):
    """A short id of an environment: the tag of the rows computed in it."""
    return fingerprint(environment)[:16]


def by_run(recorded, computed_on):
    """The environments the rows were computed on, each with its runs.

    Parameters
    ----------
    recorded : dict
        ``id -> environment``, in the order they were recorded.
    computed_on : dict
        ``(run, strategy, cycle) -> id`` (``None``: not recorded).

    Returns
    -------
    environments : list of dict
        The recorded environments that computed a row, in the order they
        were recorded, each with the key ``runs`` added (the runs with a row
        computed there); then, if some rows carry no known id (written by a
        version that did not record environments), ``{"runs": [...]}``.
    """
    runs = {}
    for (run, _, _), tag in computed_on.items():
        runs.setdefault(tag if tag in recorded else None, set()).add(int(run))
    found = [
        {**env, "runs": sorted(runs[tag])}
        for tag, env in recorded.items()
        if tag in runs
    ]
    if None in runs:
        found.append({"runs": sorted(runs[None])})
    return found


def _runs_text(runs):
    """``"run 0"``, ``"runs 0-4"``, ``"runs 0, 2, 5"``."""
    if len(runs) == 1:
        return f"run {runs[0]}"
    if runs == list(range(runs[0], runs[-1] + 1)):
        return f"runs {runs[0]}-{runs[-1]}"
    return "runs " + ", ".join(str(r) for r in runs)


def _describe(env):
    """An environment in four lines."""
    packages = ", ".join(
        f"{name} {env.get(name)}" for name in ("python", "sk_eglpp", *_PACKAGES)
    )
    cpu = (
        f"processor: {env.get('processor') or 'unknown'}, {env.get('cpu_count')} "
        f"CPUs, torch CPU capability {env.get('cpu_capability')}"
    )
    if env.get("blas"):
        cpu += f", BLAS {env['blas']}"
    threads = (
        f"threads: torch {env.get('torch_threads')}, n_threads "
        f"{env.get('n_threads')}, n_jobs {env.get('n_jobs')}, OMP_NUM_THREADS "
        f"{env.get('omp_num_threads') or 'unset'}"
    )
    if env.get("device") is not None:
        threads += f"; device {env['device']}"
    return [packages, cpu, f"platform: {env.get('platform')}", threads]


def report(environments):
    """The environments as text, for the report under the table.

    Parameters
    ----------
    environments : list of dict
        As :func:`by_run` returns them.

    Returns
    -------
    text : str
    """
    if not environments:
        return "environment: not recorded"
    lines = []
    several = len(environments) > 1
    if several:
        lines.append(
            f"computed on {len(environments)} environments (a resumed "
            "simulation; a run may appear under several):"
        )
    for env in environments:
        runs = _runs_text(env["runs"])
        if set(env) == {"runs"}:
            lines.append(
                f"environment of {runs}: not recorded (written by an earlier "
                "version of sk_eglpp)"
            )
            continue
        head = f"environment of {runs}" if several else "environment"
        described = _describe(env)
        lines.append(f"{head}: {described[0]}")
        lines.extend(f"  {line}" for line in described[1:])
    lines.append(
        "(reproducible for the same seed and threads on the same kind of "
        "processor and versions)"
    )
    return "\n".join(lines)
