"""plasticity.pynn -> our HDF5 run file (plasticity.results.Recorder).

``sim.end(run_file=PATH)`` (or ``sim.setup(..., run_file=PATH)``, written at ``end``)
stores what the PyNN script recorded: every population (model, size, its
parameters where all neurons share them), its recorded spikes (/spikes/<label>) and
signals (/state/<label>/<variable>, PyNN's units), every projection's connections and
current weights (/synapses/<label>, CSR by presynaptic neuron, in PyNN's weight unit),
with the synapse type and its parameters, and the weights over time of projections
recorded with ``Projection.record_weights(interval)`` or ``record('weight', ...)``
(/synapses/<label>/snapshots) and the rule variables recorded with
``Projection.record`` (/synapses/<label>/rule_state/<variable>: (n_samples, nnz), one
column per connection in the CSR order of the weights, ``where='syn'``; per-neuron
variables repeated on each of their connections).
Names are the PyNN labels, made unique and '/'-free.
"""
import re

import numpy as np

from . import simulator


def _names(objs, prefix):
    out, seen = [], set()
    for k, o in enumerate(objs):
        base = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(getattr(o, "label", "") or "")) \
            or f"{prefix}{k}"
        name, i = base, 1
        while name in seen:
            i += 1
            name = f"{base}_{i}"
        seen.add(name)
        out.append(name)
    return out


def _parameters(arrays, varying_key, skip=()):
    """Parameters for a run file: each one the same for every neuron (connection)
    as one number, the names of those that differ under ``varying_key``; the values
    the objects hold (``Population._parameters``, ``Projection._attrs``, one per
    neuron / connection). (Taken from the cell or synapse type before, they were
    always empty: its lazy parameter space has no shape to evaluate on.)"""
    out, varying = {}, []
    for name, values in sorted(arrays.items()):
        if name in skip:
            continue
        try:
            v = np.asarray(values, dtype=float)
        except (TypeError, ValueError):    # spike times: stored as spikes, not here
            continue
        if v.size == 0:
            continue
        if np.all(v == v[0]):
            out[name] = float(v[0])
        else:
            varying.append(name)
    if varying:
        out[varying_key] = varying
    return out


def _synapse_parameters(prj):
    """A projection's ``rule_parameters``: :func:`_parameters` of its connections
    (the weights are the matrix) and an STDP mechanism's timing and weight
    dependence by class name."""
    prj._arrays()
    out = _parameters(prj._attrs, "per_connection", skip=("weight",))
    for part in ("timing_dependence", "weight_dependence"):
        dep = getattr(prj.synapse_type, part, None)
        if dep is not None:
            out[part] = type(dep).__name__
    return out


def write_run_file(path, experiment="pynn", config=None, seed=None):
    """Write the current PyNN simulation to the run file ``path``; returns the path."""
    from ..results import Recorder
    st = simulator.state
    t_now = st.t
    pops = list(st.populations)
    prjs = list(st.projections)
    pnames = _names(pops, "population")
    cfg = dict(config or {}, backend="plasticity.pynn", dt=st.dt, t_stop=t_now)
    with Recorder(path, experiment=experiment, config=cfg,
                  seed=int(seed if seed is not None else (st.seed or 0)),
                  quiet=True, overwrite=True) as rec:
        for pop, name in zip(pops, pnames):
            params = _parameters(pop._parameters, "per_neuron")
            rec.add_population(name, model=type(pop.celltype).__name__, n=int(pop.size),
                               parameters=params)
            recorded = {v.name if hasattr(v, "name") else str(v): ids
                        for v, ids in pop.recorder.recorded.items() if ids}
            if "spikes" in recorded:
                ids, times = pop.recorder._get_spiketimes(list(pop.all_cells))
                idx = np.asarray(pop.id_to_index(list(ids)) if len(ids) else [],
                                 dtype=np.int64)
                rec.append_spikes(name, np.asarray(times, dtype=float), idx,
                                  t_stop=t_now)
            signals = [v for v in recorded if v != "spikes"]
            if signals:
                seg = pop.get_data(signals, clear=False).segments[-1]
                for sig in seg.analogsignals:
                    chans = sig.array_annotations.get("channel_index")
                    node_ids = (np.asarray(chans, dtype=np.int64) if chans is not None
                                else None)
                    rec.append_state(name, sig.name, np.asarray(sig.times.rescale("ms")),
                                     np.asarray(sig.magnitude, dtype=float),
                                     units=str(sig.units.dimensionality),
                                     node_ids=node_ids)
        for prj, name in zip(prjs, _names(prjs, "projection")):
            pre, post = prj._arrays()
            prj._sync()
            w = np.asarray(prj._attrs.get("weight", np.zeros(pre.size)), dtype=float)
            order = np.lexsort((post, pre))
            n_pre, n_post = int(prj.pre.size), int(prj.post.size)
            indptr = np.zeros(n_pre + 1, dtype=np.int64)
            np.cumsum(np.bincount(pre, minlength=n_pre), out=indptr[1:])
            params = _synapse_parameters(prj)
            pre_name = pnames[pops.index(prj.pre)] if prj.pre in pops else str(prj.pre.label)
            post_name = (pnames[pops.index(prj.post)] if prj.post in pops
                         else str(prj.post.label))
            rec.set_synapses(name, indptr, post[order].astype(np.int32), w[order],
                             (n_pre, n_post), pre_name, post_name,
                             rule=type(prj.synapse_type).__name__, rule_params=params)
            times, hist = prj.get_weight_history()
            for t, row in zip(times, hist):
                rec.append_weight_snapshot(name, t, row[order])
            for var in prj._rec_vars:
                if var != "weight":
                    times, hist = prj.get_history(var)
                    rec.append_rule_state(name, var, times, hist[:, order], where="syn",
                                          units="1")
    return path
