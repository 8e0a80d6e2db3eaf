"""Recording for plasticity.pynn: engine monitors drained into PyNN-unit arrays after
every run, assembled into Neo objects by PyNN's Recorder."""
import numpy as np
from pyNN import recording

from . import simulator


class Recorder(recording.Recorder):
    _simulator = simulator

    def __init__(self, population, file=None):
        super().__init__(population, file)
        self._spikes = []            # (times, population indices)
        self._signals = {}           # variable -> list of (times, indices, values)
        self._monitors = []

    def _check_sampling_interval(self, sampling_interval):
        # before PyNN's check and before anything is recorded: a positive multiple
        # of the time step (0 would silently mean dt, a fraction of it a rounding)
        if sampling_interval is not None:
            dt = self._simulator.state.dt
            ok = isinstance(sampling_interval, (int, float, np.number)) and \
                not isinstance(sampling_interval, (bool, np.bool_)) and \
                np.isfinite(sampling_interval) and sampling_interval > 0
            k = sampling_interval / dt if ok else float("nan")
            if not ok or abs(k - round(k)) > 1e-9 * max(1.0, k):
                raise ValueError(f"sampling_interval must be a positive multiple of the "
                                 f"time step {dt} ms, got {sampling_interval!r}")
        super()._check_sampling_interval(sampling_interval)

    def _record(self, variable, new_ids, sampling_interval=None):
        self.sampling_interval = sampling_interval or self._simulator.state.dt
        simulator.state.mark_dirty()

    def _build(self, net):
        self._monitors = []
        pop = self.population
        for variable, ids in self.recorded.items():
            if not ids:
                continue
            idx = np.asarray(sorted(pop.id_to_index(list(ids))), dtype=np.int64)
            for g in pop._groups:
                members = g["members"]
                if variable.name == "spikes":
                    m = net.monitor_spikes(g["pop"])
                    self._monitors.append(("spikes", m, members, None))
                    continue
                local = np.flatnonzero(np.isin(members, idx))
                if local.size == 0:
                    continue
                mvar, scale = g["info"].state[variable.name]
                m = net.monitor_state(g["pop"], [mvar], neurons=local,
                                      interval=self.sampling_interval)
                self._monitors.append((variable.name, m, members[local], (mvar, scale)))

    def _harvest(self):
        for name, m, members, conv in self._monitors:
            if name == "spikes":
                if len(m._t):
                    self._spikes.append((m.times, members[m.ids]))
                m._t, m._i = [], []
            else:
                if len(m._t):
                    mvar, scale = conv
                    self._signals.setdefault(name, []).append(
                        (m.times, members, m.values[mvar] / scale))
                m._t, m._v = [], []

    # ------------------------------------------------------------ PyNN API
    def _get_spiketimes(self, ids, clear=False):
        pop = self.population
        if self._spikes:
            t = np.concatenate([s[0] for s in self._spikes])
            i = np.concatenate([s[1] for s in self._spikes])
        else:
            t, i = np.zeros(0), np.zeros(0, dtype=np.int64)
        want = np.asarray(pop.id_to_index(list(ids)) if len(ids) else [], dtype=np.int64)
        mask = np.isin(i, want)
        order = np.argsort(t[mask], kind="stable")
        id_array = pop.all_cells[i[mask][order]].astype(int)
        times = t[mask][order]
        if clear:
            self._spikes = []
        return id_array, times

    def _get_all_signals(self, variable, ids, clear=False):
        pop = self.population
        idx = np.asarray(pop.id_to_index(list(ids)) if len(ids) else [], dtype=np.int64)
        chunks = self._signals.get(variable.name, [])
        dt = self._simulator.state.dt
        step_of = {}
        rows = []
        for times, members, values in chunks:
            for k, t in enumerate(np.round(times / dt).astype(np.int64)):
                if t not in step_of:
                    step_of[t] = len(step_of)
                    rows.append(np.full(pop.size, np.nan))
                rows[step_of[t]][members] = values[k]
        # the state now, the sample at t_stop (as the other backends)
        now = self._simulator.state.step
        every = int(round(self.sampling_interval / dt))
        start = int(round(float(self._recording_start_time) / dt))
        if (now - start) % every == 0 and now not in step_of:
            step_of[now] = len(step_of)
            rows.append(pop._current_values(variable.name))
        if not rows:
            return np.zeros((0, idx.size)), None
        steps = np.array(sorted(step_of))
        table = np.vstack([rows[step_of[s]] for s in steps])
        if clear:
            self._signals[variable.name] = []
        return table[:, idx], None

    def _local_count(self, variable, filter_ids=None):
        pop = self.population
        ids = self.filter_recorded(variable, filter_ids)
        if self._spikes:
            i = np.concatenate([s[1] for s in self._spikes])
        else:
            i = np.zeros(0, dtype=np.int64)
        counts = np.bincount(i, minlength=pop.size)
        return {int(id): int(counts[pop.id_to_index(id)]) for id in ids}

    def _clear_simulator(self):
        self._spikes = []
        self._signals = {}

    def _reset(self):
        self._monitors = []
        simulator.state.dirty = True
