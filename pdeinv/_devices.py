"""How many host devices JAX should expose, set through XLA_FLAGS before JAX starts.

Kept apart from ``pdeinv._jax`` so that the command line (and ``import pdeinv``) can act on
``PDEINV_CPU_DEVICES`` without importing JAX, which takes a second or more.
"""

import os

__all__ = ["cpu_count", "device_count", "set_device_flag"]


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not available on every platform
        return os.cpu_count() or 1


def device_count(requested: str | int | None) -> int:
    """Devices for ``requested`` (a count, or ``None`` / ``""`` / ``"auto"``: one per core, at most 8)."""
    if requested in (None, "", "auto"):
        return min(cpu_count(), 8)
    try:
        return max(int(requested), 1)
    except ValueError:
        raise ValueError(f"PDEINV_CPU_DEVICES must be a positive integer or 'auto', got {requested!r}") from None


def set_device_flag(count: int) -> bool:
    """Add the device-count flag to XLA_FLAGS unless the user set one; True when set."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" in flags or count <= 1:
        return False
    os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={count}".strip()
    return True


def apply_environment() -> None:
    """Act on ``PDEINV_CPU_DEVICES`` when it is set (before JAX starts)."""
    if os.environ.get("PDEINV_CPU_DEVICES", "").strip():
        set_device_flag(device_count(os.environ["PDEINV_CPU_DEVICES"].strip()))
