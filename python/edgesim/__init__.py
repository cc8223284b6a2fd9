"""edgesim from Python: the simulator and design-space explorer for fine-tuning LLMs on
edge accelerators, as plain functions returning the documents of the command line.

Every function calls the Rust library (``edgesim::api``) in-process and returns plain
Python data: ``run`` the document of ``edgesim run --json``, ``sweep`` the rows of
``sweep.csv`` (a pandas DataFrame when pandas is installed), ``trace`` the Trace file of
``edgesim trace --json``, ``simulate`` the document of ``edgesim sim --json``.

Inputs
------
hardware (``hw``)
    ``None`` (the embedded ``hw_configs/edge_llm_paper.toml``), a path (``str`` or
    ``os.PathLike``), a TOML document as a string, or a ``dict`` with the TOML file's
    tables (``{"compute": {...}, "sram": {"capacity_kib": 512, ...}, ...}``; see
    ``docs/hw_keys.md`` for every key and its unit). ``hw_overrides`` then sets dotted
    keys on it as sweep specs write them: ``{"sram.capacity_kib": 512}``.
workloads
    an embedded name (``"llama7b_lora"``), a path to a workload TOML, a TOML document as a
    string, or a ``dict`` with the workload file's tables. Relative paths inside a string
    or dict (policy files, sensitivity CSVs) are resolved against the current directory;
    such a workload is named by its ``name`` key, else by its origin
    (``<workload 1 dict>``).
traces
    Trace documents: a path to a Trace JSON file, its text, or the ``dict`` that
    :func:`trace` returns.

A string is read as TOML (or JSON for a Trace) when it contains a newline or ``=`` (a
``{`` for a Trace), else as a path, else as an embedded name.

Errors
------
Bad input raises :class:`EdgesimError` (a ``ValueError``) whose message is edgesim's own:
the file (``<hw dict>``, ``<workload 1 string>`` for inline inputs), the key and the allowed
range, as the command line prints it.

Units
-----
Seconds (``*_seconds``, ``*_s``), bytes (``*_bytes``), joules (``energy_*``), percent
where a name says ``pct``; the hardware keys carry their unit in the name
(``capacity_kib``, ``clock_ghz``, ``data_rate_mtps``).
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from . import _native
from ._native import EdgesimError

__version__ = _native.__version__

__all__ = [
    "EdgesimError",
    "hardware",
    "run",
    "simulate",
    "sweep",
    "trace",
    "workload_names",
]

#: An input document: a path, a TOML (or JSON) string, an embedded name, or a dict.
Source = Union[str, "os.PathLike[str]", Mapping[str, Any]]


def _source(value: Source, what: str) -> dict:
    """The request form of one input: ``{"path": p}``, ``{"text": s}`` or
    ``{"table": d}`` (the Rust side tells a TOML string from a path or name)."""
    if isinstance(value, Mapping):
        return {"table": _plain(value, what)}
    if isinstance(value, os.PathLike):
        return {"path": os.fspath(value)}
    if isinstance(value, str):
        return {"text": value}
    raise EdgesimError(
        f"{what}: expected a path, a TOML string, an embedded name or a dict, "
        f"got {type(value).__name__}"
    )


def _plain(value: Any, what: str) -> Any:
    """``value`` as JSON-ready data (dicts with string keys, lists, numbers, strings,
    booleans); numpy scalars become Python numbers. Refuses ``None`` and non-finite
    floats, which TOML hardware and workload files cannot hold."""
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise EdgesimError(f"{what}: key {k!r} is not a string")
            out[k] = _plain(v, f"{what}.{k}")
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{what}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, bool) or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise EdgesimError(f"{what}: {value} is not a finite number")
        return value
    if value is None:
        raise EdgesimError(f"{what}: None has no TOML form; leave the key out")
    # numpy and other number types: their Python value.
    item = getattr(value, "item", None)
    if callable(item):
        return _plain(item(), what)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise EdgesimError(f"{what}: {type(value).__name__} values have no TOML form")


def _hw(hw: Optional[Source], overrides: Optional[Mapping[str, Any]]) -> dict:
    req: dict = {}
    if hw is not None:
        req["source"] = _source(hw, "hw")
    if overrides:
        if not isinstance(overrides, Mapping):
            raise EdgesimError("hw_overrides: expected a dict of dotted keys to values")
        req["overrides"] = _plain(overrides, "hw_overrides")
    return req


def _list(value: Any, what: str) -> list:
    if value is None:
        return []
    if isinstance(value, (str, os.PathLike, Mapping)):
        return [value]
    if isinstance(value, Iterable):
        return list(value)
    raise EdgesimError(f"{what}: expected one input or a list of them")


def _trace_source(value: Any, what: str) -> dict:
    if isinstance(value, Mapping):
        # A Trace dict goes over as JSON text: its floats and nulls are JSON's, not TOML's.
        return {"json": json.dumps(value, allow_nan=False)}
    if isinstance(value, os.PathLike):
        return {"path": os.fspath(value)}
    if isinstance(value, str):
        return {"text": value}
    raise EdgesimError(f"{what}: expected a path, a Trace JSON string or a dict")


def _call(name: str, request: dict) -> Any:
    return json.loads(getattr(_native, name)(json.dumps(request, allow_nan=False)))


def _number(value: Any, what: str) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        item = getattr(value, "item", None)
        if callable(item):
            return _number(item(), what)
        raise EdgesimError(f"{what}: expected a number, got {type(value).__name__}")
    return float(value)


def workload_names() -> list:
    """Names of the workloads embedded in edgesim (usable as ``workloads=[name]``)."""
    return _call("workload_names", {})


def hardware(
    hw: Optional[Source] = None, hw_overrides: Optional[Mapping[str, Any]] = None
) -> dict:
    """The hardware document after ``hw_overrides``, validated, as a dict of its TOML
    tables (the form ``hw=`` accepts back).

    ``hardware()`` is the embedded ``hw_configs/edge_llm_paper.toml``; modify the dict
    and pass it as ``hw`` to :func:`run` or :func:`simulate`.
    Units are in the key names (``sram.capacity_kib``: KiB; ``clock_ghz``: GHz;
    ``dram.data_rate_mtps``: MT/s; ``docs/hw_keys.md`` lists them all).

    Raises :class:`EdgesimError` naming the file (``<hw dict>`` for a dict), the key and
    the allowed range when a value is invalid.
    """
    return _call("hardware", {"hw": _hw(hw, hw_overrides)})


def run(
    hw: Optional[Source] = None,
    workloads: Union[Source, Sequence[Source], None] = None,
    traces: Union[Source, Sequence[Source], None] = None,
    mode: str = "shared-bus",
    engine: str = "analytic",
    schedule: Optional[str] = None,
    time_slack_pct: float = 1.0,
    max_memory_gib: Optional[float] = None,
    pareto: bool = False,
    ssd_write_budget_gb_per_step: Optional[float] = None,
    hw_overrides: Optional[Mapping[str, Any]] = None,
) -> dict:
    """Searches the best schedule of each workload on one hardware and compares them:
    the document of ``edgesim run --json`` (same keys, same numbers).

    Parameters
    ----------
    hw, hw_overrides
        the hardware (see the module docs); default the embedded paper accelerator.
    workloads
        one workload or a list (names, paths, TOML strings or dicts); the first is the
        reference for ``speedup`` and ``norm_memory``. Default, when neither
        ``workloads`` nor ``traces`` is given: ``llama7b_lora`` and
        ``llama7b_edge_llm_b5``.
    traces
        Trace documents compared after the workloads (paths, JSON strings, or the dicts
        :func:`trace` returns).
    mode
        step-time model: ``"shared-bus"`` (one half-duplex LPDDR4 bus), ``"paper"``
        (Edge-LLM's eq. 3 as printed) or ``"chained"``.
    engine
        ``"analytic"`` or ``"cycle"`` (also replay each best schedule on the cycle-level
        simulator: a ``"sim"`` object per result).
    schedule
        evaluate this schedule instead of searching: the one-line form ``edgesim run``
        prints and :func:`simulate` returns as ``"schedule"`` (e.g. ``"zigzag:4
        micro-batch 1 prefetch on recompute 0 ssd w/s/o 0%/70%/0%"``) or a TOML file with
        a ``[schedule]`` table (``docs/schedule.md``).
    time_slack_pct
        percent (0..=100): the least-memory schedule at most this much slower than the
        fastest.
    max_memory_gib
        only schedules whose total tuning memory (DRAM + SSD) is at most this many GiB.
    pareto
        also return each workload's time/memory Pareto front (``"pareto"``).
    ssd_write_budget_gb_per_step
        only schedules writing at most this many GB (10^9 B) to the SSD per step.

    Returns
    -------
    dict with ``results`` (one entry per workload: ``seconds_per_iteration`` in s,
    ``memory_bytes``, ``energy_joules`` in J, ``schedule``, ``lower_bound_seconds``,
    ``gap_pct``, ...; an infeasible entry has ``feasible`` false, ``infeasible_reason``
    and nulls), ``speedup``, ``norm_memory``, ``notes``.
    """
    request = {
        "hw": _hw(hw, hw_overrides),
        "workloads": [
            _source(w, f"workloads[{i}]") for i, w in enumerate(_list(workloads, "workloads"))
        ],
        "traces": [
            _trace_source(t, f"traces[{i}]") for i, t in enumerate(_list(traces, "traces"))
        ],
        "mode": mode,
        "engine": engine,
        "schedule": schedule,
        "time_slack_pct": _number(time_slack_pct, "time_slack_pct"),
        "max_memory_gib": _number(max_memory_gib, "max_memory_gib"),
        "pareto": bool(pareto),
        "ssd_write_budget_gb_per_step": _number(
            ssd_write_budget_gb_per_step, "ssd_write_budget_gb_per_step"
        ),
    }
    return _call("run", request)


def sweep(
    spec: Source,
    shard: Optional[str] = None,
    mode: Optional[str] = None,
    engine: str = "analytic",
    schedule: Optional[str] = None,
    time_slack_pct: Optional[float] = None,
    max_memory_gib: Optional[float] = None,
    ssd_write_budget_gb_per_step: Optional[float] = None,
    max_points: int = 1_000_000,
    as_list: bool = False,
):
    """Sweeps hardware keys over workloads: the rows of ``sweep.csv`` as ``edgesim sweep``
    writes it for the same spec and options (same column names and order, numbers as
    numbers, empty cells as ``None``, the ``pareto`` column included).

    Parameters
    ----------
    spec
        a sweep spec: a path (relative ``base`` and workload paths resolved against its
        directory), a TOML string or a dict (paths resolved against the current
        directory), e.g. ``{"base": "hw_configs/edge_llm_paper.toml", "workloads":
        ["llama7b_lora"], "sweep": {"sram.capacity_kib": [256, 512, 1024]}}``.
    shard
        ``"i/n"``: only the points whose index mod n is i.
    mode, engine, schedule, time_slack_pct, max_memory_gib, ssd_write_budget_gb_per_step
        as for :func:`run` (``None``: the command's defaults).
    max_points
        refuse specs of more points than this.
    as_list
        return a list of dicts even when pandas is installed.

    Returns
    -------
    a ``pandas.DataFrame`` (when pandas is importable and ``as_list`` is false) or a list
    of dicts, one row per (point, workload): the swept keys, ``workload``, ``step_s``
    (seconds per optimizer step), memory in bytes, energy in J, ``feasible``, ...
    """
    request = {
        "spec": _source(spec, "spec"),
        "shard": shard,
        "mode": mode,
        "engine": engine,
        "schedule": schedule,
        "time_slack_pct": _number(time_slack_pct, "time_slack_pct"),
        "max_memory_gib": _number(max_memory_gib, "max_memory_gib"),
        "ssd_write_budget_gb_per_step": _number(
            ssd_write_budget_gb_per_step, "ssd_write_budget_gb_per_step"
        ),
        "max_points": int(max_points),
    }
    table = _call("sweep", request)
    rows = [dict(zip(table["columns"], r)) for r in table["rows"]]
    if as_list:
        return rows
    try:
        import pandas
    except ImportError:
        return rows
    return pandas.DataFrame(rows, columns=table["columns"])


def trace(workload: Source) -> dict:
    """The per-layer Trace of a workload: the document of ``edgesim trace --json`` (and of
    a Trace file), with FLOPs, weight, saved-activation, gradient and optimizer bytes per
    entry. Accepted back by ``run(traces=[...])`` and ``simulate(trace=...)``."""
    return _call("trace", {"workload": _source(workload, "workload")})


def simulate(
    hw: Optional[Source] = None,
    workload: Optional[Source] = None,
    schedule: Optional[str] = None,
    mode: str = "shared-bus",
    disable: Union[str, Sequence[str], None] = None,
    dma_request_bytes: int = 256,
    trace: Optional[Source] = None,
    hw_overrides: Optional[Mapping[str, Any]] = None,
    vanilla: bool = False,
    attribute: bool = False,
) -> dict:
    """Replays a schedule of one workload on the cycle-level simulator (LPDDR4 timing,
    shared bus, finite buffers): the document of ``edgesim sim --json``.

    Parameters
    ----------
    hw, hw_overrides
        the hardware, as for :func:`run`.
    workload, trace
        the workload (name, path, TOML string or dict) or a Trace document; exactly one.
    schedule
        the schedule to replay (one-line form or ``[schedule]`` TOML file); default the
        searched best of ``mode``.
    mode
        the step-time model the search optimises and the simulation is compared with.
    disable
        simulator effects to switch off: ``"shared-bus"``, ``"dram-timing"``,
        ``"refresh"``, ``"turnaround"``, ``"row-misses"``, ``"dependencies"``,
        ``"capacity"``, ``"ssd-latency"``, or ``"ideal"`` (the analytic assumptions).
    dma_request_bytes
        bytes per DMA request to DRAM, a power of two from 32 to 4096.
    vanilla
        replay the vanilla schedule (row traversal, the workload's micro-batch, no
        prefetch) instead of the searched best; ignored when ``schedule`` is given.
    attribute
        also explain the gap to the analytic model effect by effect (``"attribution"``;
        8 more simulations).

    Returns
    -------
    dict with ``sim`` (``cycles``, ``seconds`` in s, utilisation, stalls, energy in J),
    ``comparison`` (``sim_seconds``, ``analytic_*_seconds``, ``lower_bound_seconds``),
    ``schedule``, ``schedule_source``, ``options``.
    """
    if (workload is None) == (trace is None):
        raise EdgesimError("simulate: give exactly one of workload= and trace=")
    if isinstance(disable, str):
        disable = [d for d in disable.split(",") if d.strip()]
    request = {
        "hw": _hw(hw, hw_overrides),
        "workload": None if workload is None else _source(workload, "workload"),
        "trace": None if trace is None else _trace_source(trace, "trace"),
        "schedule": schedule,
        "mode": mode,
        "disable": list(disable or []),
        "dma_request_bytes": int(dma_request_bytes),
        "vanilla": bool(vanilla),
        "attribute": bool(attribute),
    }
    return _call("simulate", request)
