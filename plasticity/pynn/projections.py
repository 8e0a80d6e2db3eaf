"""Projection of plasticity.pynn: connections kept as arrays (PyNN units), built into
one engine projection per (pre group, post group, multiplicity)."""
import numpy as np
from pyNN import common, connectors
from pyNN.core import is_listlike
from pyNN.space import Space

from . import simulator
from .simulator import flatten
from .standardmodels import (StaticSynapse, native_rule, PER_CONNECTION,
                             check_dendritic_delay_fraction, check_finite_connections)
from ..synapses import SynapseMatrix


class FixedProbabilityConnector(connectors.FixedProbabilityConnector):
    __doc__ = connectors.FixedProbabilityConnector.__doc__

    def __init__(self, p_connect, *args, **kwargs):
        # PyNN asserts p >= 0 only (p > 1 would connect every pair, NaN none)
        from pyNN import errors
        try:
            p = float(p_connect)
        except (TypeError, ValueError):
            p = None
        if isinstance(p_connect, (bool, np.bool_)) or p is None or not 0.0 <= p <= 1.0:
            raise errors.InvalidParameterValueError(
                f"p_connect of FixedProbabilityConnector must be a probability in "
                f"[0, 1], got {p_connect!r}")
        super().__init__(p, *args, **kwargs)


class Connection(common.Connection):
    """One connection of a projection (a view on its arrays)."""

    def __init__(self, projection, index):
        self.projection = projection
        self.index = index

    @property
    def presynaptic_index(self):
        return int(self.projection._arrays()[0][self.index])

    @property
    def postsynaptic_index(self):
        return int(self.projection._arrays()[1][self.index])

    def _get(self, name):
        self.projection._sync()
        return float(self.projection._attrs[name][self.index])

    def _set(self, name, value):
        simulator.state.mark_dirty()
        self.projection._attrs[name][self.index] = value
        if name == "weight":
            self.projection._w0[self.index] = value

    weight = property(lambda self: self._get("weight"), lambda self, v: self._set("weight", v))
    delay = property(lambda self: self._get("delay"), lambda self, v: self._set("delay", v))

    def __getattr__(self, name):
        attrs = self.__dict__["projection"]._attrs
        if name in attrs:
            return float(attrs[name][self.__dict__["index"]])
        raise AttributeError(name)

    def as_tuple(self, *attribute_names):
        return tuple(getattr(self, name) for name in attribute_names)


class Projection(common.Projection):
    __doc__ = common.Projection.__doc__
    _simulator = simulator
    _static_synapse_class = StaticSynapse

    def __init__(self, presynaptic_population, postsynaptic_population, connector,
                 synapse_type=None, source=None, receptor_type=None, space=Space(),
                 label=None):
        common.Projection.__init__(self, presynaptic_population, postsynaptic_population,
                                   connector, synapse_type, source, receptor_type, space,
                                   label)
        self._chunks = []
        self._pre = np.zeros(0, dtype=np.int64)
        self._post = np.zeros(0, dtype=np.int64)
        self._attrs = {}
        self._subs = []
        self._rec_interval = None        # record(): ms, or None
        self._rec_vars = []              # recorded variables (PyNN names)
        self._history = []               # (times (k,), {var: (k, n_connections)})
        self._past = []                  # (segment number, _history) before reset()s
        simulator.state.projections.append(self)
        simulator.state.mark_dirty()
        connector.connect(self)
        self._arrays()
        self._check_per_connection()
        self._w0 = self._attrs.get("weight", np.zeros(0)).copy()

    # ------------------------------------------------------------ connecting
    def _convergent_connect(self, presynaptic_indices, postsynaptic_index,
                            location_selector=None, **connection_parameters):
        if location_selector is not None:
            raise NotImplementedError("plasticity.pynn has no multicompartmental models")
        pre = np.asarray(presynaptic_indices, dtype=np.int64).ravel()
        n = pre.size
        attrs = {}
        for name, value in connection_parameters.items():
            if name == "dendritic_delay_fraction":
                check_dendritic_delay_fraction(value)
            elif name in ("weight", "delay"):
                check_finite_connections(name, value)
            v = np.asarray(value, dtype=float)
            attrs[name] = np.broadcast_to(v, (n,)).copy() if v.ndim == 0 else v.ravel()
        if "delay" in attrs:
            attrs["delay"] = np.maximum(attrs["delay"], simulator.state.dt)
        self._chunks.append((pre, np.full(n, int(postsynaptic_index), dtype=np.int64), attrs))
        simulator.state.dirty = True

    def _arrays(self):
        if self._chunks:
            pres = [self._pre] + [c[0] for c in self._chunks]
            posts = [self._post] + [c[1] for c in self._chunks]
            names = set(self._attrs) | set().union(*(c[2].keys() for c in self._chunks))
            n_old = self._pre.size
            attrs = {}
            for name in names:
                parts = [self._attrs.get(name, np.full(n_old, np.nan))]
                parts += [c[2].get(name, np.full(c[0].size, np.nan)) for c in self._chunks]
                attrs[name] = np.concatenate(parts)
            self._pre, self._post = np.concatenate(pres), np.concatenate(posts)
            self._attrs = attrs
            self._chunks = []
            if hasattr(self, "_w0"):
                self._w0 = np.concatenate([self._w0, attrs["weight"][self._w0.size:]])
        if self._pre.size == 0 and not self._attrs:
            # no connection made: every parameter, with no values (get() -> [])
            self._attrs = {k: np.zeros(0) for k in self._type_parameters()}
        return self._pre, self._post

    def __len__(self):
        return self._arrays()[0].size

    def __getitem__(self, i):
        if isinstance(i, (int, np.integer)):
            if i < 0:
                i += len(self)
            if not 0 <= i < len(self):
                raise IndexError(i)
            return Connection(self, int(i))
        return [Connection(self, int(k)) for k in np.arange(len(self))[i]]

    @property
    def connections(self):
        return [Connection(self, k) for k in range(len(self))]

    # ------------------------------------------------------------ attributes
    def _sync(self):
        if simulator.state.net is not None:
            self._pull_weights()

    def _get_attributes_as_list(self, names):
        self._sync()
        pre, post = self._arrays()
        cols = []
        for name in names:
            if name == "presynaptic_index":
                cols.append(pre)
            elif name == "postsynaptic_index":
                cols.append(post)
            else:
                cols.append(self._attrs[name])
        return [tuple(float(c[k]) if n not in ("presynaptic_index", "postsynaptic_index")
                      else int(c[k]) for c, n in zip(cols, names))
                for k in range(pre.size)]

    def _get_attributes_as_arrays(self, names, multiple_synapses="sum"):
        self._sync()
        op = common.Projection.MULTI_SYNAPSE_OPERATIONS[multiple_synapses]
        pre, post = self._arrays()
        out = []
        for name in names:
            values = np.full((self.pre.size, self.post.size), np.nan)
            src = self._attrs[name]
            first = np.isnan(values)
            for k in range(pre.size):
                a = (pre[k], post[k])
                if first[a]:
                    values[a] = src[k]
                    first[a] = False
                else:
                    values[a] = op(values[a], src[k])
            out.append(values)
        return out

    def _set_attributes(self, parameter_space):
        pre, post = self._arrays()
        parameter_space.evaluate(simplify=False)
        new = {}
        for name, value in parameter_space.items():
            v = np.asarray(value, dtype=float)
            # the values of the connections (an array's entries elsewhere, e.g. the
            # NaN of get(format='array') where there is none, are not looked at)
            new[name] = np.broadcast_to(v, (pre.size,)) if v.ndim == 0 else v[pre, post]
            if name == "dendritic_delay_fraction":
                check_dendritic_delay_fraction(new[name])
            elif name in ("weight", "delay"):
                check_finite_connections(name, new[name])
        simulator.state.mark_dirty()
        for name, vals in new.items():
            if name == "delay":
                vals = np.maximum(vals, simulator.state.dt)
            old = self._attrs.get(name)
            self._attrs[name] = np.array(vals, dtype=float)
            if name in self._per_connection():
                try:
                    self._check_per_connection()
                except Exception:
                    self._attrs[name] = old
                    raise
            if name == "weight":
                self._w0 = self._attrs["weight"].copy()

    def _set_initial_value_array(self, variable, initial_value):
        raise NotImplementedError("initial values of synaptic state variables are not "
                                  "supported by plasticity.pynn")

    # ------------------------------------------------------------ recording
    # (a plasticity.pynn extension: PyNN 0.13 has no API for synaptic state)
    def recordable(self):
        """The variables :meth:`record` accepts: ``'weight'`` and the variables of
        the synapse type's rule (Tsodyks-Markram: ``u``, ``x``; STDP: ``r1``, the
        presynaptic trace with tau_plus, ``o1``, the postsynaptic one with tau_minus;
        Vogels 2011 and rule-language rules: their declared variables)."""
        rule = native_rule(self.synapse_type, self._homogeneous(np.arange(len(self))),
                           1.0, "g_e")
        names = ["weight"]
        if rule is None:
            return names
        spec = getattr(rule, "spec", None)
        if spec is not None:          # a rule-language rule: its declared variables
            return names + sorted(v for v in spec.variables if v != "w")
        td = getattr(rule, "timing", None)
        return names + (["o1", "o2", "r1", "r2"] if getattr(td, "kind", "") == "triplet"
                        else ["o1", "r1"])

    def record(self, variables, sampling_interval=None):
        """Record ``variables`` (a name, a list, or ``'all'``: see :meth:`recordable`)
        of every connection every ``sampling_interval`` ms (default: dt; one interval
        per projection, the last one given). Each sample is the value at the start of
        its step (after every event of the steps before; event-driven variables
        decayed to that time). Read them with :meth:`get_data` (a Neo block) or
        :meth:`get_history` (arrays); ``sim.end(run_file=...)`` stores them
        (``/synapses/<label>/snapshots`` for the weights, ``rule_state/<var>`` for the
        rule variables, one column per connection). ``None`` stops all recording."""
        if variables is None:
            self._rec_vars, self._rec_interval = [], None
            simulator.state.mark_dirty()
            return
        known = self.recordable()
        if isinstance(variables, str):
            variables = known if variables == "all" else [variables]
        variables = list(variables)
        bad = [v for v in variables if v not in known]
        if bad or not variables:
            raise ValueError(f"variables must be among {known} for a projection with "
                             f"{type(self.synapse_type).__name__}, got {variables!r}")
        dt = simulator.state.dt
        interval = dt if sampling_interval is None else sampling_interval
        k = interval / dt if isinstance(interval, (int, float)) else float("nan")
        if not interval > 0 or abs(k - round(k)) > 1e-9:
            raise ValueError(f"sampling_interval must be a positive multiple of the "
                             f"time step {dt} ms, got {sampling_interval!r}")
        self._rec_vars = [v for v in known if v in set(self._rec_vars) | set(variables)]
        self._rec_interval = interval
        simulator.state.mark_dirty()

    def record_weights(self, sampling_interval):
        """Record the weights every ``sampling_interval`` ms: ``record('weight',
        sampling_interval)``; ``None`` stops recording the weights. Read them with
        :meth:`get_weight_history`."""
        if sampling_interval is None:
            rest = [v for v in self._rec_vars if v != "weight"]
            interval = self._rec_interval
            self.record(None)
            if rest:
                self.record(rest, interval)
            return
        self.record("weight", sampling_interval)

    def get_history(self, variable, clear=False):
        """(times in ms (k,), values (k, n_connections)) of a recorded variable, the
        connection order of ``get('weight', format='list')``; weights in PyNN's
        weight unit, rule variables in the rule's (dimensionless for the traces and
        for u, x)."""
        self._harvest_weights()
        n = len(self)
        if variable not in self.recordable():
            raise ValueError(f"variable must be among {self.recordable()}, got "
                             f"{variable!r}")
        out = _rows(self._history, variable, n)
        if clear:
            self._clear_history(variable)
        return out

    def get_weight_history(self, clear=False):
        """:meth:`get_history` of ``'weight'``."""
        return self.get_history("weight", clear)

    def _clear_history(self, variable):
        self._history = _without(self._history, variable)

    def get_data(self, variables="all", clear=False):
        """The recorded variables as a ``neo.Block``: one ``Segment`` per run between
        ``reset()``s (``segment000``, ``segment001``, ... as a population's
        ``get_data``; the segments of earlier runs are kept until ``clear``), each
        with one ``AnalogSignal`` per variable (``IrregularlySampledSignal`` if
        recording was interrupted), shape (n_samples, n_connections), named by the
        variable, with ``presynaptic_index`` and ``postsynaptic_index`` as array
        annotations (one per connection, the order of ``get('weight',
        format='list')``). ``clear``: forget what was returned, the earlier
        segments' too."""
        import neo
        names = (list(self._rec_vars) if variables == "all" else
                 [variables] if isinstance(variables, str) else list(variables))
        known = self.recordable()
        bad = [v for v in names if v not in known]
        if bad:
            raise ValueError(f"variables must be among {known}, got {bad!r}")
        block = neo.Block(name=f"{self.label} (synapses)")
        self._harvest_weights()
        for number, history in self._past:
            block.segments.append(self._segment(number, history, names))
        block.segments.append(self._segment(simulator.state.segment_counter,
                                            self._history, names))
        if clear:
            for name in names:
                self._past = [(k, _without(h, name)) for k, h in self._past]
                self._clear_history(name)
            self._past = [(k, h) for k, h in self._past if h]
        return block

    def _segment(self, number, history, names):
        """One Neo segment of the recorded ``history`` (see :meth:`get_data`)."""
        import neo
        import quantities as pq
        pre, post = self._arrays()
        seg = neo.Segment(name="segment%03d" % max(number, 0))
        wunit = "uS" if getattr(self.post.celltype, "conductance_based", True) else "nA"
        for name in names:
            t, v = _rows(history, name, len(self))
            if t.size == 0:
                continue
            units = wunit if name == "weight" else "dimensionless"
            ann = dict(presynaptic_index=pre.copy(), postsynaptic_index=post.copy())
            step = np.diff(t)
            if t.size == 1 or np.allclose(step, step[0], atol=1e-9):
                sig = neo.AnalogSignal(v, units=units, t_start=t[0] * pq.ms,
                                       sampling_period=(step[0] if t.size > 1 else
                                                        self._rec_interval) * pq.ms,
                                       name=name, array_annotations=ann)
                seg.analogsignals.append(sig)
            else:
                sig = neo.IrregularlySampledSignal(t * pq.ms, v, units=units, name=name,
                                                   array_annotations=ann)
                seg.irregularlysampledsignals.append(sig)
            sig.segment = seg
        return seg

    def _harvest_weights(self):
        """Move the engine monitors' samples into the history, one column per
        connection (per-neuron and shared rule variables repeated on each
        connection of their neuron)."""
        mons = [sub for sub in self._subs if sub.get("monitor") is not None
                and len(sub["monitor"]._t)]
        if not mons:
            return
        times = mons[0]["monitor"].times
        n = len(self)
        out = {}
        for var in self._rec_vars:
            if var == "weight":
                out[var] = np.tile(self._attrs["weight"], (times.size, 1))
            else:
                out[var] = np.full((times.size, n), np.nan)
        for sub in mons:
            m = sub["monitor"]
            vals = m.values
            for var, native in sub["vars"].items():
                x = vals[native]
                where = m.where[native]
                if where == "pre":
                    x = x[:, sub["row"]]
                elif where == "post":
                    x = x[:, sub["col"]]
                elif where == "shared":
                    x = np.repeat(x[:, :1], len(sub["conn"]), axis=1)
                x = x.astype(float)
                if var == "weight":
                    x = x / sub["scale"]
                out[var][:, sub["conn"]] = x
            m._t, m._rows = [], {v: [] for v in m.variables}
        self._history.append((times, out))

    # ------------------------------------------------------------ engine
    def _restore_initial(self, finished):
        """reset(): the weights of creation (or the last set()); what was recorded
        since the last reset() becomes segment number ``finished`` of get_data."""
        self._harvest_weights()
        if self._history or self._rec_vars:   # a segment even with no sample (as PyNN's)
            self._past.append((finished, self._history))
        self._arrays()
        if "weight" in self._attrs:
            self._attrs["weight"] = self._w0.copy()
        self._subs = []
        self._history = []

    def _pull_weights(self):
        for sub in self._subs:
            w = np.asarray(sub["proj"].synapses.weights, dtype=float) / sub["scale"]
            self._attrs["weight"][sub["conn"]] = w

    def _build(self, net, k):
        self._harvest_weights()
        self._subs = []
        pre, post = self._arrays()
        if pre.size == 0:
            return
        dt = simulator.state.dt
        a_pops, a_pi, a_idx = flatten(self.pre)
        b_pops, b_pi, b_idx = flatten(self.post)

        def where(pops, pi, idx, ids):
            gid = np.zeros(ids.size, dtype=np.int64)
            loc = np.zeros(ids.size, dtype=np.int64)
            keys = []
            for p_no, p in enumerate(pops):
                g_of = np.zeros(p.size, dtype=np.int64)
                l_of = np.zeros(p.size, dtype=np.int64)
                for g_no, g in enumerate(p._groups):
                    g_of[g["members"]] = len(keys) + g_no
                    l_of[g["members"]] = np.arange(g["members"].size)
                sel = pi[ids] == p_no
                gid[sel] = g_of[idx[ids][sel]]
                loc[sel] = l_of[idx[ids][sel]]
                keys.extend(p._groups)
            return gid, loc, keys

        ga, la, groups_a = where(a_pops, a_pi, a_idx, pre)
        gb, lb, groups_b = where(b_pops, b_pi, b_idx, post)
        order = np.lexsort((np.arange(pre.size), lb, la, gb, ga))
        key = np.stack([ga, gb, la, lb], axis=1)[order]
        same = np.concatenate([[False], np.all(key[1:] == key[:-1], axis=1)])
        layer = np.zeros(pre.size, dtype=np.int64)
        # multiplicity layer: position within a run of equal (group, group, pre, post)
        run_start = np.flatnonzero(~same)
        run_id = np.cumsum(~same) - 1
        layer[order] = np.arange(pre.size) - run_start[run_id]
        delays = np.maximum(np.round(self._attrs["delay"] / dt).astype(np.int64) - 1, 0)
        rt = self.receptor_type
        n_sub = 0
        for g_a in np.unique(ga):
            for g_b in np.unique(gb[ga == g_a]):
                for lay in np.unique(layer[(ga == g_a) & (gb == g_b)]):
                    sel = np.flatnonzero((ga == g_a) & (gb == g_b) & (layer == lay))
                    sel = sel[np.lexsort((lb[sel], la[sel]))]
                    A, B = groups_a[g_a], groups_b[g_b]
                    info = B["info"]
                    if rt not in info.receptors:
                        raise NotImplementedError(f"receptor type {rt!r} is not available "
                                                  f"on {self.post.celltype}")
                    target, scale = info.receptors[rt]
                    params = self._homogeneous(sel)
                    for sel, post_delay in self._post_delays(sel, params, delays, dt):
                        n_pre, n_post = A["pop"].n, B["pop"].n
                        indptr = np.zeros(n_pre + 1, dtype=np.int64)
                        np.cumsum(np.bincount(la[sel], minlength=n_pre), out=indptr[1:])
                        w = self._attrs["weight"][sel] * scale
                        syn = SynapseMatrix(indptr, lb[sel],
                                            np.ascontiguousarray(w, np.float64),
                                            (n_pre, n_post), delay=delays[sel],
                                            dtype=np.float64)
                        rule = native_rule(self.synapse_type, params, scale, target,
                                           post_delay)
                        eproj = net.connect(A["pop"], B["pop"], syn, target, rule=rule,
                                            name=f"r{k}_{n_sub}")
                        for name in self._per_connection():
                            rule[name] = self._attrs[name][sel]
                        n_sub += 1
                        self._subs.append(dict(proj=eproj, conn=sel, scale=scale))
                        if self._rec_vars:
                            names = {v: ("w" if v == "weight" else v)
                                     for v in self._rec_vars}
                            self._subs[-1].update(
                                vars=names, row=la[sel], col=lb[sel],
                                monitor=net.monitor_rule(eproj, list(names.values()),
                                                         self._rec_interval))

    def _post_delays(self, sel, params, delays, dt):
        """The engine projections of connections ``sel`` (one multiplicity layer of
        one pair of groups) as (connections, post_delay in ms) pairs.

        PyNN's dendritic_delay_fraction f: with a delay of n steps the synapse sees
        the presynaptic spike (1 - f) n steps after it and the postsynaptic spike
        f n steps after it. Our engine's delays are axonal (the synapse sees the
        presynaptic spike on arrival, n steps after it, and the postsynaptic spike
        at once): f n steps later on both sides is the same synapse, so the rule
        sees the post spikes 2 f n steps late (STDP's post_delay). One post delay
        per engine projection: with f != 0 the connections are split by delay
        (each part then has one delay; the weights are those of one projection
        with per-synapse delays, as the traces of a pair rule are per neuron).
        f = 0: one engine projection, as without the fraction.
        """
        f = params.get("dendritic_delay_fraction", 0.0)
        if f == 0 or sel.size == 0:
            return [(sel, 0.0)]
        steps = delays[sel] + 1          # engine steps + 1: the delay in steps of dt
        out = []
        for n in np.unique(steps):
            p = 2.0 * f * n
            if abs(p - round(p)) > 1e-9:
                from pyNN import errors
                raise errors.InvalidParameterValueError(
                    f"dendritic_delay_fraction = {f} with delay {n * dt:g} ms: the "
                    f"synapse would see the postsynaptic spikes 2 * {f} * {n * dt:g} = "
                    f"{p * dt:g} ms late, not a whole number of time steps ({dt} ms); "
                    "allowed: fractions f with 2 f delay a multiple of the time step "
                    "(0, 0.5 and 1 always are)")
            out.append((sel[steps == n], round(p) * dt))
        return out

    def _per_connection(self):
        return PER_CONNECTION.get(type(self.synapse_type).__name__, ())

    def _check_per_connection(self):
        """p of a SimpleStochasticSynapse: a probability, checked before any run."""
        for name in self._per_connection():
            v = self._attrs.get(name, np.zeros(0))
            bad = ~((v >= 0) & (v <= 1))
            if np.any(bad):
                k = int(np.flatnonzero(bad)[0])
                from pyNN import errors
                raise errors.InvalidParameterValueError(
                    f"{name} of {type(self.synapse_type).__name__} must be a probability "
                    f"in [0, 1], got {v[k]} (connection {k})")

    def _type_parameters(self):
        """The synapse type's own native parameters, one value each (a projection
        without connections: what depends only on them, recordable() and the
        rule's kind, works as for one with connections)."""
        ps = self.synapse_type.native_parameters
        ps.shape = (1,)
        ps.evaluate(simplify=False)
        return {k: np.asarray(v, dtype=float).ravel() for k, v in ps.items()}

    def _homogeneous(self, sel):
        attrs = self._attrs
        if len(self) == 0:
            attrs, sel = self._type_parameters(), np.zeros(1, dtype=np.int64)
        out = {}
        for name, arr in attrs.items():
            if name in ("weight", "delay") or name in self._per_connection():
                continue
            v = arr[sel]
            if v.size and not np.all(v == v[0]):
                raise NotImplementedError(f"synapse parameter {name!r} must be the same "
                                          "for all connections of a projection in "
                                          "plasticity.pynn")
            out[name] = float(v[0]) if v.size else float("nan")
        return out


def _rows(history, variable, n):
    """(times (k,), values (k, n)) of ``variable`` in a projection's recorded
    ``history`` (a list of (times, {variable: values})), each sample time once."""
    rows = [(t, h[variable]) for t, h in history if variable in h]
    if not rows:
        return np.zeros(0), np.zeros((0, n))
    t = np.concatenate([r[0] for r in rows])
    v = np.vstack([r[1] for r in rows])
    t, first = np.unique(np.round(t, 9), return_index=True)
    return t, v[first]


def _without(history, variable):
    """``history`` without ``variable`` (entries left empty dropped)."""
    kept = []
    for t, h in history:
        h = {k: v for k, v in h.items() if k != variable}
        if h:
            kept.append((t, h))
    return kept
