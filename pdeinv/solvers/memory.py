"""Memory a solve will need, checked before anything is allocated.

A grid of 10^9 points or 10^8 observation points would otherwise grow until the operating system
stops the process, with no word on why. The estimates are deliberately rough (within a factor of
about 2 of the measured peaks): they exist to refuse what cannot fit, not to budget what can.
"""

from __future__ import annotations

import os

__all__ = ["available_bytes", "check_memory", "solve_bytes", "points_bytes"]

#: Complex arrays of the spectrum's length that an ETDRK4 solve keeps alive (coefficients,
#: stages, FFT work space), counted from etdrk4.py with margin.
ARRAYS_PER_SOLVE = 40


def available_bytes() -> int | None:
    """Memory available to this process now (Linux: MemAvailable), or None when unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _size(nbytes: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if nbytes >= scale:
            return f"{nbytes / scale:.3g} {unit}"
    return f"{nbytes / 1e3:.3g} kB"


def solve_bytes(modes: int, times: int = 1) -> float:
    """One solve on a spectrum of ``modes`` entries, kept at ``times`` output times."""
    return 16.0 * modes * (ARRAYS_PER_SOLVE + times)


def points_bytes(points: int, modes: int) -> float:
    """Observation points and their interpolation matrix (points x modes, complex)."""
    return 16.0 * points * modes + 64.0 * points


def check_memory(needed: float, what: str, hint: str) -> None:
    """ValueError naming ``what``, its estimated size and ``hint`` when ``needed`` bytes exceed
    80 % of the memory available (nothing is checked when that is unknown, or with
    ``PDEINV_MEMORY_CHECK=off`` in the environment)."""
    if os.environ.get("PDEINV_MEMORY_CHECK", "").strip().lower() in ("0", "off", "no", "false"):
        return  # the user knows better (swap, memory the estimate does not see)
    available = available_bytes()
    if available is not None and needed > 0.8 * available:
        raise ValueError(f"{what} needs about {_size(needed)} of memory, more than the {_size(available)} available; "
                         f"{hint} (PDEINV_MEMORY_CHECK=off to try anyway)")
