"""Projection of plasticity.pynn: connections kept as arrays (PyNN units), built into
one engine projection per (pre group, post group, multiplicity)."""
import numpy as np
from pyNN import common
from pyNN.core import is_listlike
from pyNN.space import Space

from . import simulator
from .simulator import flatten
from .standardmodels import StaticSynapse, native_rule
from ..synapses import SynapseMatrix


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
        self._weight_interval = None     # record_weights: ms, or None
        self._weight_history = []        # (times (k,), weights (k, n_connections))
        simulator.state.projections.append(self)
        simulator.state.mark_dirty()
        connector.connect(self)
        self._arrays()
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
                continue
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
        simulator.state.mark_dirty()
        pre, post = self._arrays()
        parameter_space.evaluate(simplify=False)
        for name, value in parameter_space.items():
            if name == "dendritic_delay_fraction":
                continue
            v = np.asarray(value, dtype=float)
            vals = np.broadcast_to(v, (pre.size,)) if v.ndim == 0 else v[pre, post]
            if name == "delay":
                vals = np.maximum(vals, simulator.state.dt)
            self._attrs[name] = np.array(vals, dtype=float)
            if name == "weight":
                self._w0 = self._attrs["weight"].copy()

    def _set_initial_value_array(self, variable, initial_value):
        raise NotImplementedError("initial values of synaptic state variables are not "
                                  "supported by plasticity.pynn")

    # ------------------------------------------------------------ recording
    def record_weights(self, sampling_interval):
        """Record the weights of every connection every ``sampling_interval`` ms
        (a plasticity.pynn extension: PyNN has no API for synaptic state). Read them
        with :meth:`get_weight_history`; ``sim.end(run_file=...)`` stores them as the
        projection's weight snapshots. ``None`` stops recording."""
        if sampling_interval is not None:
            dt = simulator.state.dt
            k = sampling_interval / dt
            if not sampling_interval > 0 or abs(k - round(k)) > 1e-9:
                raise ValueError(f"sampling_interval must be a positive multiple of the "
                                 f"time step {dt} ms, got {sampling_interval!r}")
        self._weight_interval = sampling_interval
        simulator.state.mark_dirty()

    def get_weight_history(self, clear=False):
        """(times in ms (k,), weights (k, n_connections) in PyNN's weight unit, the
        connection order of ``get('weight', format='list')``) recorded so far; a
        snapshot is taken at the start of the step of its time."""
        self._harvest_weights()
        n = len(self)
        if not self._weight_history:
            out = np.zeros(0), np.zeros((0, n))
        else:
            t = np.concatenate([h[0] for h in self._weight_history])
            w = np.vstack([h[1] for h in self._weight_history])
            t, first = np.unique(np.round(t, 9), return_index=True)
            out = t, w[first]
        if clear:
            self._weight_history = []
        return out

    def _harvest_weights(self):
        mons = [(sub, sub.get("monitor")) for sub in self._subs]
        mons = [(sub, m) for sub, m in mons if m is not None and len(m._t)]
        if not mons:
            return
        times = mons[0][1].times
        w = np.tile(self._attrs["weight"], (times.size, 1))
        for sub, m in mons:
            w[:, sub["conn"]] = m.snapshots.astype(float) / sub["scale"]
            m._t, m._w = [], []
        self._weight_history.append((times, w))

    # ------------------------------------------------------------ engine
    def _restore_initial(self):
        self._arrays()
        if "weight" in self._attrs:
            self._attrs["weight"] = self._w0.copy()
        self._subs = []
        self._weight_history = []

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
                    n_pre, n_post = A["pop"].n, B["pop"].n
                    indptr = np.zeros(n_pre + 1, dtype=np.int64)
                    np.cumsum(np.bincount(la[sel], minlength=n_pre), out=indptr[1:])
                    w = self._attrs["weight"][sel] * scale
                    syn = SynapseMatrix(indptr, lb[sel], np.ascontiguousarray(w, np.float64),
                                        (n_pre, n_post), delay=delays[sel],
                                        dtype=np.float64)
                    rule = native_rule(self.synapse_type, self._homogeneous(sel), scale,
                                       target)
                    eproj = net.connect(A["pop"], B["pop"], syn, target, rule=rule,
                                        name=f"r{k}_{n_sub}")
                    n_sub += 1
                    self._subs.append(dict(proj=eproj, conn=sel, scale=scale))
                    if self._weight_interval is not None:
                        self._subs[-1]["monitor"] = net.monitor_weights(
                            eproj, self._weight_interval)

    def _homogeneous(self, sel):
        out = {}
        for name, arr in self._attrs.items():
            if name in ("weight", "delay"):
                continue
            v = arr[sel]
            if v.size and not np.all(v == v[0]):
                raise NotImplementedError(f"synapse parameter {name!r} must be the same "
                                          "for all connections of a projection in "
                                          "plasticity.pynn")
            out[name] = float(v[0]) if v.size else float("nan")
        return out
