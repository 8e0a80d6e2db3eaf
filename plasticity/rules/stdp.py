"""Built-in trace-based STDP: a timing dependence x a weight dependence (as PyNN).

Compose any timing dependence with any weight dependence::

    rule = STDP(Pair(tau_plus=20.0, tau_minus=20.0, a_plus=1e-4, a_minus=1.05e-4),
                Additive(w_min=0.0, w_max=0.01))

Amplitudes are magnitudes in weight units: potentiation adds
``a_plus * f_plus(u) * (timing term)``, depression subtracts
``a_minus * f_minus(u) * (timing term)``, with ``u = (w - w_min)/(w_max - w_min)``;
weights are clipped to [w_min, w_max]. Traces are per neuron (Morrison, Diesmann &
Gerstner 2008) except where a rule needs them per synapse (nearest pre-centred, or
heterogeneous per-synapse delays).
"""
import math

import numpy as np

from .._validation import (Revalidated, check_finite, check_in, check_nonnegative,
                           check_positive, check_schedule, steps_of)
from .._ext import rules as _rules
from .base import Rule

__all__ = ["Pair", "Triplet", "Additive", "Multiplicative", "PowerLaw", "Kheradpisheh",
           "STDP", "RewardModulated"]

class Pair(Revalidated):
    """Pair-based STDP window: ``a_plus exp(-dt/tau_plus)`` for pre before post,
    ``-a_minus exp(dt/tau_minus)`` for post before pre.

    Parameters
    ----------
    tau_plus, tau_minus : float
        Time constants of the pre and post traces (ms), > 0.
    a_plus, a_minus : float
        Potentiation and depression amplitudes (weight units), >= 0.
    interaction : {'all-to-all', 'nearest-symmetric', 'nearest-pre-centred'}
        Which spike pairs interact (Morrison et al. 2008, Fig. 7): all pairs; each
        spike with the nearest spike of the other neuron on either side (traces set
        to 1 at a spike); or each presynaptic spike with the nearest postsynaptic
        spike before and after it (pre trace per synapse, reset after a post spike).
    """

    kind = "pair"
    interactions = ("all-to-all", "nearest-symmetric", "nearest-pre-centred")

    def __init__(self, tau_plus=20.0, tau_minus=20.0, a_plus=0.01, a_minus=0.0105,
                 interaction="all-to-all"):
        self.tau_plus = check_positive("tau_plus", tau_plus, "ms")
        self.tau_minus = check_positive("tau_minus", tau_minus, "ms")
        self.a_plus = check_nonnegative("a_plus", a_plus)
        self.a_minus = check_nonnegative("a_minus", a_minus)
        self.interaction = check_in("interaction", interaction, self.interactions)

    @property
    def per_synapse_pre_trace(self):
        return self.interaction == "nearest-pre-centred"

    def _amplitudes(self):
        return self.a_plus, self.a_minus, 0.0, 0.0

    def _taus(self):
        return self.tau_plus, self.tau_minus, math.inf, math.inf

    def parameters(self):
        return dict(timing="pair", interaction=self.interaction, tau_plus=self.tau_plus,
                    tau_minus=self.tau_minus, a_plus=self.a_plus, a_minus=self.a_minus)

    def window(self, delta_t):
        """Weight change of one pair at ``delta_t = t_post - t_pre`` (ms), additive."""
        d = np.asarray(delta_t, dtype=float)
        # each branch's exponent clipped at 0 on the other side: the same values where
        # it is taken, and no overflow where it is not (a tau far below |delta_t|)
        return np.where(d >= 0, self.a_plus * np.exp(-np.maximum(d, 0.0) / self.tau_plus),
                        -self.a_minus * np.exp(np.minimum(d, 0.0) / self.tau_minus))


class Triplet(Revalidated):
    """Triplet STDP (Pfister & Gerstner 2006).

    Pre traces r1 (tau_plus) and r2 (tau_x), post traces o1 (tau_minus) and o2
    (tau_y). At a presynaptic spike ``w -= f-(w) o1 (a2_minus + a3_minus r2)``, at a
    postsynaptic spike ``w += f+(w) r1 (a2_plus + a3_plus o2)``, the slow traces
    taken just before their own update. ``interaction='all-to-all'`` increments the
    traces by 1 at a spike, ``'nearest'`` sets them to 1.
    The "minimal" models are ``a2_plus = 0`` and ``a3_minus = 0``.
    """

    kind = "triplet"
    interactions = ("all-to-all", "nearest")

    #: Pfister & Gerstner 2006 fits to visual cortex (Sjoestroem et al. 2001) and
    #: hippocampal (Wang et al. 2005) data, tau_plus = 16.8 ms, tau_minus = 33.7 ms in
    #: all; values as cross-checked in shared/references.md (the hippocampal
    #: all-to-all full set is left out: sources disagree on its A3-).
    PARAMETER_SETS = {
        ("visual", "all-to-all", "full"): dict(tau_x=101, tau_y=125, a2_plus=5e-10,
                                               a3_plus=6.2e-3, a2_minus=7e-3,
                                               a3_minus=2.3e-4),
        ("visual", "all-to-all", "minimal"): dict(tau_x=101, tau_y=114, a2_plus=0.0,
                                                  a3_plus=6.5e-3, a2_minus=7.1e-3,
                                                  a3_minus=0.0),
        ("visual", "nearest", "full"): dict(tau_x=714, tau_y=40, a2_plus=8.8e-11,
                                            a3_plus=5.3e-2, a2_minus=6.6e-3,
                                            a3_minus=3.1e-3),
        ("visual", "nearest", "minimal"): dict(tau_x=714, tau_y=40, a2_plus=0.0,
                                               a3_plus=5e-2, a2_minus=8e-3, a3_minus=0.0),
        ("hippocampal", "all-to-all", "minimal"): dict(tau_x=946, tau_y=40,
                                                       a2_plus=5.3e-3, a3_plus=8e-3,
                                                       a2_minus=3.5e-3, a3_minus=0.0),
        ("hippocampal", "nearest", "full"): dict(tau_x=575, tau_y=47, a2_plus=4.6e-3,
                                                 a3_plus=9.1e-3, a2_minus=3e-3,
                                                 a3_minus=7.5e-9),
        ("hippocampal", "nearest", "minimal"): dict(tau_x=575, tau_y=48,
                                                    a2_plus=4.6e-3, a3_plus=9.1e-3,
                                                    a2_minus=3e-3, a3_minus=0.0),
    }

    def __init__(self, tau_plus=16.8, tau_minus=33.7, tau_x=101.0, tau_y=125.0,
                 a2_plus=5e-10, a3_plus=6.2e-3, a2_minus=7e-3, a3_minus=2.3e-4,
                 interaction="all-to-all"):
        self.tau_plus = check_positive("tau_plus", tau_plus, "ms")
        self.tau_minus = check_positive("tau_minus", tau_minus, "ms")
        self.tau_x = check_positive("tau_x", tau_x, "ms")
        self.tau_y = check_positive("tau_y", tau_y, "ms")
        self.a2_plus = check_nonnegative("a2_plus", a2_plus)
        self.a3_plus = check_nonnegative("a3_plus", a3_plus)
        self.a2_minus = check_nonnegative("a2_minus", a2_minus)
        self.a3_minus = check_nonnegative("a3_minus", a3_minus)
        self.interaction = check_in("interaction", interaction, self.interactions)

    @classmethod
    def pfister_gerstner_2006(cls, data="visual", interaction="all-to-all",
                              model="minimal"):
        """A parameter set fitted by Pfister & Gerstner 2006 (data: 'visual' cortex,
        Sjoestroem et al. 2001, or 'hippocampal', Wang et al. 2005)."""
        key = (data, interaction, model)
        if key not in cls.PARAMETER_SETS:
            raise ValueError(f"no Pfister & Gerstner 2006 parameter set for data={data!r}, "
                             f"interaction={interaction!r}, model={model!r}; available: "
                             f"{sorted(cls.PARAMETER_SETS)}")
        return cls(tau_plus=16.8, tau_minus=33.7, interaction=interaction,
                   **cls.PARAMETER_SETS[key])

    per_synapse_pre_trace = False

    def _amplitudes(self):
        return self.a2_plus, self.a2_minus, self.a3_plus, self.a3_minus

    def _taus(self):
        return self.tau_plus, self.tau_minus, self.tau_x, self.tau_y

    def parameters(self):
        return dict(timing="triplet", interaction=self.interaction,
                    tau_plus=self.tau_plus, tau_minus=self.tau_minus, tau_x=self.tau_x,
                    tau_y=self.tau_y, a2_plus=self.a2_plus, a3_plus=self.a3_plus,
                    a2_minus=self.a2_minus, a3_minus=self.a3_minus)


class _WeightDependence(Revalidated):
    #: the kernels' name of the weight dependence (rules.WEIGHT_DEPENDENCES)
    kernel_name = None

    def __init__(self, w_min=0.0, w_max=1.0):
        self.w_min = check_finite("w_min", w_min)
        self.w_max = check_finite("w_max", w_max)
        if self.w_max <= self.w_min:
            raise ValueError(f"w_max must be > w_min ({self.w_min}), got {w_max}")

    def _mu(self):
        return 0.0, 0.0

    def parameters(self):
        return dict(weight_dependence=type(self).__name__, w_min=self.w_min,
                    w_max=self.w_max)

    def _u(self, w):
        return np.clip((np.asarray(w, float) - self.w_min) / (self.w_max - self.w_min), 0, 1)


class Additive(_WeightDependence):
    """Additive updates with hard bounds: f+ = f- = 1, weights clipped to
    [w_min, w_max] (Song, Miller & Abbott 2000)."""

    kernel_name = "additive"

    def f(self, w):
        one = np.ones_like(np.asarray(w, float))
        return one, one


class Multiplicative(_WeightDependence):
    """Soft bounds: f+ = 1 - u, f- = u (van Rossum et al. 2000; Rubin et al. 2001)."""

    kernel_name = "multiplicative"

    def f(self, w):
        u = self._u(w)
        return 1 - u, u


class PowerLaw(_WeightDependence):
    """Power-law weight dependence (Guetig et al. 2003): f+ = (1 - u)^mu_plus,
    f- = u^mu_minus; mu = 0 is additive, mu = 1 multiplicative."""

    kernel_name = "power-law"

    def __init__(self, w_min=0.0, w_max=1.0, mu_plus=0.5, mu_minus=0.5):
        super().__init__(w_min, w_max)
        self.mu_plus = check_nonnegative("mu_plus", mu_plus)
        self.mu_minus = check_nonnegative("mu_minus", mu_minus)

    def _mu(self):
        return self.mu_plus, self.mu_minus

    def parameters(self):
        return dict(super().parameters(), mu_plus=self.mu_plus, mu_minus=self.mu_minus)

    def f(self, w):
        u = self._u(w)
        return (1 - u) ** self.mu_plus, u ** self.mu_minus


class Kheradpisheh(_WeightDependence):
    """f+ = f- = u (1 - u) (Kheradpisheh et al. 2018): slow near both bounds."""

    kernel_name = "kheradpisheh"

    def f(self, w):
        u = self._u(w)
        return u * (1 - u), u * (1 - u)


class STDP(Rule):
    """A compiled STDP rule: timing dependence x weight dependence.

    Parameters
    ----------
    timing : Pair or Triplet
    weight : Additive, Multiplicative, PowerLaw or Kheradpisheh
    post_delay : float, optional
        The synapse sees each postsynaptic spike ``post_delay`` ms late (>= 0, a
        multiple of the network's dt; default 0): the post-side updates
        (potentiation and the post-trace bumps) of a spike at t run at
        t + post_delay. The presynaptic side is unchanged: a presynaptic spike is
        seen (and its weight delivered) when it arrives, after the synapse's delay.
        This is how a dendritic delay is written on our axonal engine: with a
        homogeneous delay of d ms of which the fraction f is dendritic (PyNN's
        ``dendritic_delay_fraction``; NEST's delays are dendritic, f = 1), the
        synapse sees the pre spike at t_pre + (1 - f) d and the post spike at
        t_post + f d; shifted by f d, that is t_pre + d and t_post + 2 f d, so
        ``post_delay = 2 f d`` gives the same weights, bit for bit up to that
        shift (tests/test_dendritic_delay.py). Post spikes of the last
        ``post_delay`` ms of a run are applied in the next run (or never).
    """

    compiled = True

    def __init__(self, timing=None, weight=None, *, post_delay=0.0):
        self.timing = Pair() if timing is None else timing
        self.weight = Additive() if weight is None else weight
        self.post_delay = post_delay

    # timing, weight and post_delay are checked when assigned later too (a rule
    # given another kind of object between runs failed inside run() with an
    # AttributeError)
    @property
    def timing(self):
        """The timing dependence (Pair or Triplet); assignable."""
        return self._timing

    @timing.setter
    def timing(self, value):
        if not isinstance(value, (Pair, Triplet)):
            raise TypeError(f"timing must be a Pair or Triplet, got {value!r}")
        self._timing = value

    @property
    def weight(self):
        """The weight dependence (Additive, Multiplicative, PowerLaw or
        Kheradpisheh); assignable."""
        return self._weight

    @weight.setter
    def weight(self, value):
        if not isinstance(value, _WeightDependence):
            raise TypeError("weight must be Additive, Multiplicative, PowerLaw or "
                            f"Kheradpisheh, got {value!r}")
        self._weight = value

    @property
    def post_delay(self):
        """The delay (ms, >= 0) with which the synapse sees post spikes; assignable."""
        return self._post_delay

    @post_delay.setter
    def post_delay(self, value):
        self._post_delay = check_nonnegative("post_delay", value, "ms")

    def validate(self, projection):
        self.post_delay_steps(projection._network.dt)

    def kernel_parameters(self, dt):
        """The parameters as the compiled kernels read them, by name
        (``plasticity._ext.rules.StdpParameters``)."""
        t, w = self.timing, self.weight
        ap, am, a3p, a3m = t._amplitudes()
        tp, tm, tx, ty = t._taus()
        mup, mum = w._mu()
        return _rules.StdpParameters(
            timing=t.kind, interaction=t.interaction, weight_dependence=w.kernel_name,
            a_plus=ap, a_minus=am, a3_plus=a3p, a3_minus=a3m, tau_plus=tp, tau_minus=tm,
            tau_x=tx, tau_y=ty, w_min=w.w_min, w_max=w.w_max, mu_plus=mup,
            mu_minus=mum, dt=dt)

    #: the engine may keep the weights in post-synaptic order during long runs
    post_ordered_weights = True

    # the weight dependences' f+ and f- in the rule language (u: the clipped unit weight)
    _F_TEXT = {"additive": ("1", "1"), "multiplicative": ("(1 - u)", "u"),
               "power-law": ("(1 - u) ** mu_plus", "u ** mu_minus"),
               "kheradpisheh": ("(u * (1 - u))", "(u * (1 - u))")}

    def _equation_parts(self):
        """(model, on_pre, on_post, params) of this rule in the rule language."""
        t, w = self.timing, self.weight
        ap, am, a3p, a3m = t._amplitudes()
        tp, tm, tx, ty = t._taus()
        mup, mum = w._mu()
        fp, fm = self._F_TEXT[w.kernel_name]
        triplet = t.kind == "triplet"
        nearest = t.interaction in ("nearest-symmetric", "nearest")
        bump = "= 1" if nearest else "+= 1"
        model = ["dr1/dt = -r1 / tau_plus : 1 (event-driven)",
                 "do1/dt = -o1 / tau_minus : 1 (event-driven)"]
        if w.kernel_name != "additive":
            model.append("u = clip((w - w_min) / (w_max - w_min), 0, 1) : 1")
        # the slow traces only where their amplitude is non-zero (as the kernels)
        use_r2, use_o2 = triplet and a3m != 0.0, triplet and a3p != 0.0
        if use_r2:
            model.append("dr2/dt = -r2 / tau_x : 1 (event-driven)")
        if use_o2:
            model.append("do2/dt = -o2 / tau_y : 1 (event-driven)")
        gain_m = "(a_minus + a3_minus * r2)" if use_r2 else "a_minus"
        gain_p = "(a_plus + a3_plus * o2)" if use_o2 else "a_plus"
        on_pre = [f"w = clip(w - {fm} * o1 * {gain_m}, w_min, w_max)", f"r1 {bump}"]
        on_post = [f"w = clip(w + {fp} * r1 * {gain_p}, w_min, w_max)"]
        if t.interaction == "nearest-pre-centred":
            # the pre spikes since the last post spike pair with the next one only
            on_post.append("r1 = 0")
        on_post.append(f"o1 {'= 1' if nearest or t.interaction == 'nearest-pre-centred' else '+= 1'}")
        if use_r2:
            on_pre.append(f"r2 {bump}")
        if use_o2:
            on_post.append(f"o2 {bump}")
        params = dict(tau_plus=tp, tau_minus=tm, a_plus=ap, a_minus=am, w_min=w.w_min,
                      w_max=w.w_max)
        if use_r2:
            params.update(tau_x=tx, a3_minus=a3m)
        if use_o2:
            params.update(tau_y=ty, a3_plus=a3p)
        if w.kernel_name == "power-law":
            params.update(mu_plus=mup, mu_minus=mum)
        return "\n".join(model), "\n".join(on_pre), "\n".join(on_post), params

    def to_equation_rule(self):
        """The same rule written in the rule language (an
        :class:`~plasticity.rules.EquationRule`): the same numbers, bit for bit
        (tests/test_rule_language.py). The built-in kernel stays the default: it
        is the measured fast path and the conv engine shares it."""
        from .equations import EquationRule
        model, on_pre, on_post, params = self._equation_parts()
        return EquationRule(model=model, on_pre=on_pre, on_post=on_post, params=params,
                            name=f"STDP as equations: {self!r}",
                            post_delay=self.post_delay)

    def set_post_order(self, engine, k, wp, pos):
        """Run projection k on ``wp``, the weights gathered in post-synaptic order."""
        engine.set_post_order(k, wp, pos)

    def attach(self, engine, k, projection, network):
        """Hand the rule to the engine as projection k."""
        from ..network import _decay_table
        params = self.kernel_parameters(network.dt)
        engine.set_stdp(k, params, self.per_synapse, self.x1, self.x2, self.xl, self.y1,
                        self.y2, self.yl, _decay_table(params.c_plus),
                        _decay_table(params.c_minus))
        if self.post_delay_steps(network.dt):
            # the network gave the post population a history of more steps (_build)
            engine.set_post_delay(k, self.post_delay_steps(network.dt))

    def bind(self, projection, dt):
        super().bind(projection, dt)
        syn = projection.synapses
        self.per_synapse = bool(self.timing.per_synapse_pre_trace
                                or syn.delays is not None)
        n_x = syn.nnz if self.per_synapse else syn.n_pre
        prev = getattr(self, "_shape", None)
        if prev != (n_x, syn.n_post):
            self.x1 = np.zeros(n_x)
            self.x2 = np.zeros(n_x)
            self.xl = np.zeros(n_x, dtype=np.int64)
            self.y1 = np.zeros(syn.n_post)
            self.y2 = np.zeros(syn.n_post)
            self.yl = np.zeros(syn.n_post, dtype=np.int64)
            self._shape = (n_x, syn.n_post)

    def get_state(self):
        return {k: getattr(self, k) for k in ("x1", "x2", "xl", "y1", "y2", "yl")}

    # recordable traces: the rule language's names (to_equation_rule), the arrays
    # they live in and their decay constant's name in the kernel parameters
    _TRACES = {"r1": ("x1", "xl", "c_plus", "tau_plus"), "o1": ("y1", "yl", "c_minus",
                                                               "tau_minus"),
               "r2": ("x2", "xl", "c_x", "tau_x"), "o2": ("y2", "yl", "c_y", "tau_y")}

    def recordable(self, projection=None):
        """``r1`` (presynaptic trace, tau_plus; per synapse with per-synapse
        pre traces or delays, else per presynaptic neuron), ``o1`` (postsynaptic,
        tau_minus), and for triplet rules ``r2`` (tau_x), ``o2`` (tau_y); ``w``."""
        projection = projection if projection is not None else \
            getattr(self, "projection", None)
        if projection is None:
            return {}
        per_synapse = bool(self.timing.per_synapse_pre_trace
                           or projection.synapses.delays is not None)
        pre = "syn" if per_synapse else "pre"
        out = {"r1": pre, "o1": "post", "w": "syn"}
        if self.timing.kind == "triplet":
            out.update(r2=pre, o2="post")
        return out

    def __getitem__(self, name):
        """A trace's values now (decayed to the network's current step, a copy)."""
        if name == "w":
            return self.projection.synapses.weights
        if name not in self.recordable():
            return super().__getitem__(name)
        arr, last, _, tau = self._TRACES[name]
        taus = dict(zip(("tau_plus", "tau_minus", "tau_x", "tau_y"), self.timing._taus()))
        net = getattr(self.projection, "_network", None)
        step = net.step if net is not None else 0
        lag = (step - getattr(self, last)).astype(np.float64)
        with np.errstate(under="ignore"):
            return getattr(self, arr) * np.exp(-lag * (self.dt / taus[tau]))

    def forget_state(self):
        self._shape = None

    def weight_bounds(self, dt):
        """[w_min, w_max] of the weight dependence (every update clips to them)."""
        wd = self.weight
        if hasattr(wd, "w_min") and hasattr(wd, "w_max"):
            return wd.w_min, wd.w_max, "[w_min, w_max]"
        return None

    def parameters(self):
        # post_delay only where set: the parameters (and run files) of every rule
        # without it stay as they were
        extra = dict(post_delay=self.post_delay) if self.post_delay else {}
        return dict(rule="STDP", **self.timing.parameters(), **self.weight.parameters(),
                    **extra)

    def __repr__(self):
        extra = f", post_delay={self.post_delay:g}" if self.post_delay else ""
        return f"STDP({self.timing.parameters()}, {self.weight.parameters()}{extra})"


class RewardModulated(STDP):
    """Reward-modulated STDP with a per-synapse eligibility trace (Izhikevich 2007;
    Florian 2007, MSTDPET).

    STDP events (with the given timing and weight dependence) change the
    eligibility ``c`` of a synapse instead of its weight; ``c`` decays with
    ``tau_c``; a global modulator ``d`` (dopamine) decays with ``tau_d`` and jumps by
    the delivered rewards; ``dw/dt = c d``, integrated exactly over each step
    (``c`` and ``d`` decay exponentially within it), weights clipped to the bounds.

    Parameters
    ----------
    timing, weight : as :class:`STDP`
    tau_c : float, eligibility time constant (ms), > 0 (Izhikevich 2007: 1000 ms)
    tau_d : float, modulator time constant (ms), > 0 (Izhikevich 2007: 200 ms)
    rewards : (times_ms, amounts), optional; rewards scheduled before the run.
    """

    def __init__(self, timing=None, weight=None, tau_c=1000.0, tau_d=200.0,
                 rewards=None):
        super().__init__(timing, weight)
        self.tau_c = check_positive("tau_c", tau_c, "ms")
        self.tau_d = check_positive("tau_d", tau_d, "ms")
        self.modulator = np.zeros(1)
        self._reward_times = np.zeros(0)
        self._reward_amounts = np.zeros(0)
        if rewards is not None:
            self.schedule_rewards(*rewards)

    def schedule_rewards(self, times, amounts):
        """Add rewards at the given times (ms, >= 0) with the given amounts."""
        t, a = check_schedule("reward", times, amounts)
        times = np.concatenate([self._reward_times, t])
        amounts = np.concatenate([self._reward_amounts, a])
        order = np.argsort(times, kind="stable")
        self._reward_times, self._reward_amounts = times[order], amounts[order]

    def deliver_reward(self, amount):
        """Add ``amount`` to the modulator now (between runs)."""
        self.modulator[0] += check_finite("amount", amount)

    def bind(self, projection, dt):
        super().bind(projection, dt)
        if getattr(self, "elig", None) is None or self.elig.shape[0] != projection.synapses.nnz:
            self.elig = np.zeros(projection.synapses.nnz)
        self.reward_pos = np.zeros(1, dtype=np.int64)

    post_ordered_weights = False

    def attach(self, engine, k, projection, network):
        super().attach(engine, k, projection, network)
        dec_c, dec_d, gain = self.gains(network.dt)
        steps, amounts = self.reward_schedule(network.dt, network.step)
        engine.set_modulation(k, self.elig, self.modulator, dec_c, dec_d, gain, steps,
                              amounts, self.reward_pos)
        self.reward_pos[0] = 0

    def reward_schedule(self, dt, t0):
        """Rewards as (steps int64, amounts) from step t0 on."""
        steps = steps_of(self._reward_times, dt)
        keep = steps >= t0
        return steps[keep], self._reward_amounts[keep].copy()

    def gains(self, dt):
        """Per-step decay of c and d and the exact integral factor of c d."""
        lam = 1.0 / self.tau_c + 1.0 / self.tau_d
        return (math.exp(-dt / self.tau_c), math.exp(-dt / self.tau_d),
                -math.expm1(-dt * lam) / lam)

    def get_state(self):
        return dict(super().get_state(), elig=self.elig, modulator=self.modulator)

    def forget_state(self):
        super().forget_state()
        self.elig = None
        self.modulator = np.zeros(1)

    def parameters(self):
        return dict(super().parameters(), rule="RewardModulated", tau_c=self.tau_c,
                    tau_d=self.tau_d)
