"""The simulator state of plasticity.pynn: builds a :class:`plasticity.Network` from the
PyNN description and runs it.

The PyNN objects own the description (parameters and initial values in PyNN units,
connections as arrays). The engine network is (re)built lazily at ``run`` when the
description changed since the last build; a rebuild carries over the neuron state,
the weights and the time (not the spikes in flight on delays nor the rules' traces).
A PyNN population whose neurons have different parameters becomes one engine
population per distinct parameter set ("group"); a projection becomes one engine
projection per (pre group, post group) pair and multiplicity (multapses).
"""
import math

import numpy as np
from pyNN import common

from ..network import Network
from ..synapses import SynapseMatrix

name = "plasticity"


class ID(int, common.IDMixin):

    def __init__(self, n):
        int.__init__(n)
        common.IDMixin.__init__(self)


def base_of(cell):
    """(base Population, index in it) of an ID."""
    pop = cell.parent
    return pop, pop.id_to_index(cell)


def flatten(obj):
    """For a Population, PopulationView or Assembly: (list of base populations,
    population number per element, index in the base population per element)."""
    from pyNN.common import Assembly, PopulationView
    if isinstance(obj, Assembly):
        pops, pidx, idx = [], [], []
        for p in obj.populations:
            sp, spi, si = flatten(p)
            off = []
            for q in sp:
                if q not in pops:
                    pops.append(q)
                off.append(pops.index(q))
            pidx.append(np.asarray(off, dtype=np.int64)[spi])
            idx.append(si)
        return pops, np.concatenate(pidx), np.concatenate(idx)
    if isinstance(obj, PopulationView):
        sp, spi, si = flatten(obj.parent)
        sel = np.arange(obj.parent.size)[obj.mask]
        return sp, spi[sel], si[sel]
    return [obj], np.zeros(obj.size, dtype=np.int64), np.arange(obj.size)


class State(common.control.BaseState):

    def __init__(self):
        super().__init__()
        self.mpi_rank = 0
        self.num_processes = 1
        self.dt = 0.1
        self.min_delay = 0.1
        self.max_delay = 10.0
        self.seed = None
        self.clear()

    def clear(self):
        self.recorders = set()
        self.populations = []
        self.projections = []
        self.current_sources = []
        self.id_counter = 0
        self.segment_counter = -1
        self.net = None
        self.dirty = True
        self.dirty_currents = True
        self._seed_counter = 0
        self.reset()

    def seed_for(self, what):
        self._seed_counter += 1
        return None if self.seed is None else [self.seed, self._seed_counter]

    @property
    def t(self):
        return 0.0 if self.net is None else self.step * self.dt

    def reset(self):
        """Time to 0, neuron state and weights to their initial values."""
        self.running = False
        self.t_start = 0
        self.step = 0
        finished = self.segment_counter   # the segment the projections keep
        self.segment_counter += 1
        self.net = None
        self.dirty = True
        for rec in self.recorders:
            rec._clear_simulator()
        for pop in self.populations:
            pop._cell_state = None
            pop._src_state = None
        for source in self.current_sources:
            source._reset_recording()
        for prj in self.projections:
            prj._restore_initial(finished)

    # ------------------------------------------------------------ building
    def sync(self):
        """Copy the engine's neuron state and weights into the PyNN objects."""
        if self.net is None:
            return
        for pop in self.populations:
            pop._pull_state()
        for prj in self.projections:
            prj._pull_weights()

    def mark_dirty(self):
        self.sync()
        self.dirty = True

    def build(self):
        self.sync()
        net = Network(dt=self.dt, seed=self.seed)
        net.step = self.step
        for k, pop in enumerate(self.populations):
            pop._build(net, k)
        for k, prj in enumerate(self.projections):
            prj._build(net, k)
        for rec in self.recorders:
            rec._build(net)
        self.net = net
        self.dirty = False
        self.dirty_currents = True

    # ------------------------------------------------------------ running
    def run(self, simtime):
        self.run_until(self.t + simtime)

    def run_until(self, tstop):
        if self.net is None or self.dirty:
            self.build()
        net = self.net
        n_end = int(round(tstop / self.dt))
        if n_end <= self.step:
            self.running = True
            return
        # split the run where a Poisson source starts or stops
        cuts = set()
        for pop in self.populations:
            for t in pop._rate_breakpoints():
                k = int(round(t / self.dt))
                if self.step < k < n_end:
                    cuts.add(k)
        for stop in sorted(cuts) + [n_end]:
            t0 = self.step * self.dt
            for pop in self.populations:
                pop._prepare_segment(t0)
            self._set_currents(self.step, stop)
            for source in self.current_sources:
                source._record_segment(self.step, stop, self.dt)
            net.run((stop - self.step) * self.dt, progress=False)
            self.step = net.step
            for rec in self.recorders:
                rec._harvest()
            for prj in self.projections:
                prj._harvest_weights()
        self.running = True

    def _set_currents(self, k0, k1):
        """The injected current of every engine group for steps [k0, k1):
        i_offset plus every current source injected into the cell."""
        dt = self.dt
        t0, t1 = k0 * dt, k1 * dt
        for pop in self.populations:
            if not pop.celltype.injectable:
                continue
            sources = [(s, np.array([i for (p, i) in s.cells if p is pop], dtype=np.int64))
                       for s in self.current_sources]
            sources = [(s, i) for s, i in sources if i.size]
            i_offset = pop._param_array("i_offset")
            for g in pop._groups:
                enginepop, members = g["pop"], g["members"]
                scale = g["info"].current_scale
                row = enginepop.model.var_index(enginepop.model.current_variable)
                pts = {t0}
                for s, _ in sources:
                    pts.update(float(x) for x in s._breakpoints(t0, t1, dt))
                steps = sorted({int(round(t / dt)) for t in pts if t0 - 1e-9 <= t < t1 - 1e-9})
                times = np.array(steps, dtype=float) * dt
                values = np.repeat(i_offset[members][None, :], len(times), axis=0)
                for s, idx in sources:
                    amp = s._amplitude_at(times)
                    cols = np.flatnonzero(np.isin(members, idx))
                    count = np.array([np.sum(idx == members[c]) for c in cols])
                    values[:, cols] += amp[:, None] * count[None, :]
                values = values * scale
                enginepop.state[row] = values[0]
                enginepop.current = None
                if len(times) > 1:
                    self.net.add_current(enginepop, times, values)


state = State()
