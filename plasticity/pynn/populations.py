"""Population, PopulationView and Assembly of plasticity.pynn."""
import numpy as np
from pyNN import common, errors
from pyNN.parameters import ParameterSpace, Sequence, simplify
from pyNN.standardmodels import StandardCellType

from .._validation import check_size
from . import simulator
from .recording import Recorder
from .standardmodels import native_model


class Assembly(common.Assembly):
    _simulator = simulator


class PopulationView(common.PopulationView):
    _assembly_class = Assembly
    _simulator = simulator

    def _get_parameters(self, *names):
        return self.parent._get_parameters(*names)._subset(self.mask)

    def _get_native_parameters(self, *names):
        ps = self.parent._get_native_parameters(*names)
        return _subset(ps, self.mask, self.size)

    def _get_parameters(self, *names):  # noqa: F811
        ps = self.parent._get_parameters(*names)
        return _subset(ps, self.mask, self.size)

    def _set_parameters(self, parameter_space):
        parameter_space.evaluate(simplify=False)
        sel = np.arange(self.parent.size)[self.mask]
        self.parent._set_values(parameter_space, sel)

    def _set_initial_value_array(self, variable, initial_values):
        sel = np.arange(self.parent.size)[self.mask]
        self.parent._set_initial(variable, initial_values, sel)

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)

    @property
    def initial_values(self):
        return self.parent.initial_values


# the renewal-process sources (plasticity.sources), by PyNN cell type
_RENEWAL = {"SpikeSourceGamma": "gamma", "SpikeSourcePoissonRefractory": "refractory"}


def _engine_pop(pop):
    """The engine population of a source population in the current network."""
    net = simulator.state.net
    return None if net is None else net.populations.get(getattr(pop._source, "name", None))


def _subset(ps, mask, size):
    ps.evaluate(simplify=False)
    d = {}
    for name, value in ps.items():
        d[name] = simplify(np.asarray(value)[mask]) if not isinstance(value, Sequence) else value
    return ParameterSpace(d, shape=(size,))


#: memory per cell of a Population: its ID object and entries, the engine's state
_BYTES_PER_CELL = 256


class Population(common.Population):
    __doc__ = common.Population.__doc__
    _simulator = simulator
    _recorder_class = Recorder
    _assembly_class = Assembly

    def _create_cells(self):
        if not isinstance(self.celltype, StandardCellType):
            raise NotImplementedError("plasticity.pynn supports PyNN's standard cell "
                                      "types only")
        # an ID object per cell (~100 B) and the engine's arrays: a size that cannot
        # be built is refused before anything is allocated
        check_size("size", self.size, _BYTES_PER_CELL)
        id_range = np.arange(simulator.state.id_counter,
                             simulator.state.id_counter + self.size)
        self.all_cells = np.array([simulator.ID(i) for i in id_range], dtype=simulator.ID)
        self._mask_local = np.ones((self.size,), bool)
        ps = self.celltype.native_parameters
        ps.shape = (self.size,)
        ps.evaluate(simplify=False)
        self._parameters = {}
        for name, value in ps.items():
            if name == "spike_times":
                for v in value:
                    t = np.asarray(v.value if isinstance(v, Sequence) else v, dtype=float)
                    if np.any(np.diff(t) < 0):
                        raise errors.InvalidParameterValueError(
                            f"spike times of a SpikeSourceArray must be in increasing "
                            f"order, got {t}")
                self._parameters[name] = np.array(
                    [v if isinstance(v, Sequence) else Sequence(v) for v in value],
                    dtype=object)
            else:
                self._parameters[name] = np.array(value, dtype=float)
        self._initial = {}
        for name, value in self.celltype.default_initial_values.items():
            self._initial[name] = np.full(self.size, float(value))
        self._check_source_parameters()
        for cell in self.all_cells:
            cell.parent = self
        simulator.state.id_counter += self.size
        simulator.state.populations.append(self)
        self._cell_state = None
        self._src_state = None
        self._groups = []
        self._source = None
        simulator.state.dirty = True

    # ------------------------------------------------------------ parameters
    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)

    def _get_native_parameters(self, *names):
        d = {}
        for name in names:
            value = self._parameters[name]
            d[name] = value if name == "spike_times" else simplify(value.copy())
        return ParameterSpace(d, shape=(self.size,))

    def _get_parameters(self, *names):
        native = self.celltype.get_native_names(*names)
        return self.celltype.reverse_translate(self._get_native_parameters(*native))

    def _set_parameters(self, parameter_space):
        parameter_space.evaluate(simplify=False)
        self._set_values(parameter_space, np.arange(self.size))

    def _set_values(self, parameter_space, sel):
        simulator.state.mark_dirty()
        for name, value in parameter_space.items():
            if name == "spike_times":
                vals = [v if isinstance(v, Sequence) else Sequence(v) for v in
                        (value if isinstance(value, (list, np.ndarray)) else [value])]
                if len(vals) == 1 and len(sel) > 1:
                    vals = vals * len(sel)
                for k, i in enumerate(sel):
                    self._parameters[name][i] = vals[k]
            else:
                old = self._parameters[name].copy()
                self._parameters[name][sel] = np.asarray(value, dtype=float)
                try:
                    self._check_source_parameters()
                except errors.InvalidParameterValueError:
                    self._parameters[name] = old
                    raise

    def _check_source_parameters(self):
        """The parameters of a gamma or dead-time Poisson source, checked by the
        engine's group (an error naming the parameter, the value and what is
        allowed) when they are given, not at the first run."""
        kind = _RENEWAL.get(self.celltype.__class__.__name__)
        if kind is None:
            return
        from ..sources import GammaGroup, PoissonRefractoryGroup
        p, dt, label = self._parameters, simulator.state.dt, self.label
        try:
            if kind == "gamma":
                GammaGroup(label, self.size, p["alpha"], p["beta"], 0, dt)
            else:
                PoissonRefractoryGroup(label, self.size, p["rate"], p["tau_refrac"], 0, dt)
        except (ValueError, TypeError) as e:
            raise errors.InvalidParameterValueError(
                f"{self.celltype.__class__.__name__}: {e}") from None

    def _param_array(self, name):
        if name in self._parameters:
            return self._parameters[name]
        return np.zeros(self.size)

    def _set_initial_value_array(self, variable, initial_values):
        self._set_initial(variable, initial_values, np.arange(self.size))

    def _set_initial(self, variable, value, sel):
        if variable not in self._initial:
            raise errors.NonExistentParameterError(variable, self.celltype.__class__.__name__,
                                                   list(self._initial))
        arr = value.evaluate(simplify=False) if hasattr(value, "evaluate") else value
        arr = np.broadcast_to(np.asarray(arr, dtype=float), (self.size,))
        simulator.state.mark_dirty()
        self._initial[variable][sel] = arr[sel]
        if self._cell_state is not None and variable in self._cell_state:
            # initialize() during a simulation sets the current value too
            self._cell_state[variable][sel] = arr[sel]

    @property
    def _is_source(self):
        return not self.celltype.injectable

    # ------------------------------------------------------------ engine
    def _build(self, net, k):
        name = f"p{k}"
        if self.celltype.__class__.__name__ == "SpikeSourceArray":
            times, ids = self._spike_arrays()
            self._source = net.add_spike_generator(name, self.size, times, ids)
            self._groups = [dict(pop=self._source, members=np.arange(self.size))]
            return
        if self.celltype.__class__.__name__ == "SpikeSourcePoisson":
            self._source = net.add_poisson(name, self.size, rates=0.0)
            self._groups = [dict(pop=self._source, members=np.arange(self.size))]
            return
        if self.celltype.__class__.__name__ in _RENEWAL:
            p = self._parameters
            if _RENEWAL[self.celltype.__class__.__name__] == "gamma":
                self._source = net.add_gamma(name, self.size, alpha=p["alpha"], beta=0.0)
            else:
                self._source = net.add_poisson_refractory(
                    name, self.size, rates=0.0, dead_time=p["tau_refrac"])
            self._prepare_segment(simulator.state.t)
            if self._src_state is not None:   # a rebuild: each process continues
                self._source.load_source_state(self._src_state)
            self._groups = [dict(pop=self._source, members=np.arange(self.size))]
            return
        names = sorted(n for n in self._parameters if n != "i_offset")
        table = np.column_stack([self._parameters[n] for n in names]) if names else \
            np.zeros((self.size, 0))
        uniq, inverse = np.unique(table, axis=0, return_inverse=True)
        inverse = np.asarray(inverse).ravel()
        values = self._cell_state if self._cell_state is not None else self._initial
        self._groups = []
        for g, row in enumerate(uniq):
            members = np.flatnonzero(inverse == g)
            info = native_model(self.celltype.__class__.__name__,
                                dict(zip(names, (float(x) for x in row))),
                                simulator.state.dt)
            epop = net.add_population(f"{name}_g{g}" if len(uniq) > 1 else name,
                                      members.size, info.model)
            for var, (mvar, scale) in info.state.items():
                if var in values:
                    epop[mvar] = values[var][members] * scale
            self._groups.append(dict(pop=epop, members=members, info=info))

    def _pull_state(self):
        """Keep the engine state per cell (PyNN units) before a rebuild."""
        if self._source is not None and hasattr(self._source, "source_state") \
                and self._source is _engine_pop(self):
            self._src_state = self._source.source_state()
        if not self._groups or "info" not in self._groups[0]:
            return
        cs = {}
        for g in self._groups:
            epop, info = g["pop"], g["info"]
            for var, (mvar, scale) in info.state.items():
                cs.setdefault(var, np.zeros(self.size))[g["members"]] = epop[mvar] / scale
        self._cell_state = cs

    def _current_values(self, variable):
        """The current value of a state variable per cell (PyNN units)."""
        if simulator.state.net is None or not self._groups or "info" not in self._groups[0]:
            src = self._cell_state if self._cell_state is not None else self._initial
            return np.array(src[variable], dtype=float)
        out = np.array(self._initial[variable], dtype=float)
        for g in self._groups:
            mvar, scale = g["info"].state[variable]
            out[g["members"]] = g["pop"][mvar] / scale
        return out

    def _spike_arrays(self):
        times, ids = [], []
        dt = simulator.state.dt
        for i, seq in enumerate(self._parameters["spike_times"]):
            t = np.asarray(seq.value if isinstance(seq, Sequence) else seq, dtype=float)
            t = t[t >= 0]
            steps = np.unique(np.round(t / dt).astype(np.int64))
            times.append(steps * dt)
            ids.append(np.full(steps.size, i))
        if not times:
            return np.zeros(0), np.zeros(0, dtype=np.int64)
        return np.concatenate(times), np.concatenate(ids).astype(np.int64)

    def _rate_breakpoints(self):
        if self.celltype.__class__.__name__ not in ("SpikeSourcePoisson", *_RENEWAL):
            return []
        s = self._parameters["start"]
        return list(s) + list(s + self._parameters["duration"])

    def _prepare_segment(self, t0):
        name = self.celltype.__class__.__name__
        if name not in ("SpikeSourcePoisson", *_RENEWAL):
            return
        p = self._parameters
        on = (t0 >= p["start"] - 1e-9) & (t0 < p["start"] + p["duration"] - 1e-9)
        if name == "SpikeSourceGamma":
            try:
                self._source.set_params(alpha=p["alpha"], beta=np.where(on, p["beta"], 0.0))
            except ValueError as e:
                raise errors.InvalidParameterValueError(str(e)) from None
            return
        if name == "SpikeSourcePoissonRefractory":
            try:
                self._source.set_params(rates=np.where(on, p["rate"], 0.0),
                                        dead_time=p["tau_refrac"])
            except ValueError as e:
                raise errors.InvalidParameterValueError(str(e)) from None
            return
        rates = np.where(on, p["rate"], 0.0)
        if not np.array_equal(rates, self._source.rates):
            self._source.rates = rates
