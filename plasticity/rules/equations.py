"""``EquationRule``: a plasticity rule written in the rule language, run compiled.

See :mod:`plasticity.rules.language` for the syntax and semantics and
docs/writing-rules.md for examples. The rule is parsed and checked when constructed,
resolved against the neuron models when connected (``Network.connect``), and
compiled to C at its first run (cached on disk by the hash of the code; a cached rule
loads in milliseconds). ``backend='numpy'`` runs the same text in the plain NumPy
interpreter instead (the reference the compiled code is tested against; slow).
"""
import ast
import math
from collections.abc import Mapping

import numpy as np

from .._validation import (check_finite, check_nonnegative, check_positive, check_schedule,
                           duration_steps, steps_of, unknown_name)
from . import _codegen
from .base import Rule
from .language import (RANDOM, UNITS, RuleSyntaxError, _copy, _names, parse_rule,
                       resolve)

__all__ = ["EquationRule"]

_MATH = {"exp": math.exp, "log": math.log, "log10": math.log10, "sqrt": math.sqrt,
         "abs": abs, "floor": math.floor, "ceil": math.ceil, "sin": math.sin,
         "cos": math.cos, "tan": math.tan, "tanh": math.tanh, "int": math.trunc,
         "sign": lambda x: float(np.sign(x)), "clip": lambda x, a, b: min(max(x, a), b),
         "minimum": min, "maximum": max}


# the functions of the rule language on IEEE doubles, as the compiled code computes
# them (math's raise on log(0) or floor(inf); NumPy's follow np.errstate)
_NP_MATH = {"exp": np.exp, "log": np.log, "log10": np.log10, "sqrt": np.sqrt,
            "abs": np.abs, "sign": np.sign, "floor": np.floor, "ceil": np.ceil,
            "sin": np.sin, "cos": np.cos, "tan": np.tan, "tanh": np.tanh,
            "int": np.trunc, "clip": lambda x, a, b: np.minimum(np.maximum(x, a), b),
            "minimum": np.minimum, "maximum": np.maximum}


class _FloatLiterals(ast.NodeTransformer):
    """Number literals as float64 (``10**400`` overflows as in C, not as a Python
    int)."""

    def visit_Constant(self, node):
        if isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return ast.Call(func=ast.Name(id="_f64", ctx=ast.Load()),
                            args=[ast.Constant(float(node.value))], keywords=[])
        return node


def _eval_const(node, params, dt):
    """Value of a parameter-only expression (equation coefficients)."""
    scope = dict(UNITS)
    scope.update(params)
    scope["dt"] = dt
    scope.update(_MATH)
    expr = ast.Expression(body=node)
    ast.fix_missing_locations(expr)
    return float(eval(compile(expr, "<rule>", "eval"), {"__builtins__": {}}, scope))


def _check_init(name, value):
    """An initial value (``init``, or ``rule[name] = value`` before the first run):
    real numbers, finite, or the text of a constant expression (parameters, units,
    ``dt``), computed when the rule is bound."""
    if isinstance(value, str):
        try:
            ast.parse(value, mode="eval")
        except SyntaxError as e:
            raise RuleSyntaxError(f"init of {name}: {value!r} is not an expression "
                                  f"({e.msg})") from None
        return
    a = np.asarray(value)
    if a.dtype.kind not in "iuf":
        raise TypeError(f"init of {name} must be real numbers (a scalar or an array) or "
                        f"an expression (str), got {value!r:.60}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"init of {name} must be finite, got {value!r:.60}")


def _init_value(name, value, params, dt):
    """The initial value ``value`` of variable ``name`` as float64 (an expression
    computed from ``params`` and ``dt``)."""
    if not isinstance(value, str):
        return np.asarray(value, dtype=np.float64)
    try:
        return _eval_const(ast.parse(value, mode="eval").body, params, dt)
    except (NameError, ArithmeticError, ValueError, TypeError) as e:
        raise ValueError(f"init of {name}: {value!r} cannot be computed from the "
                         f"parameters ({type(e).__name__}: {e})") from None


def trace_table(c):
    """exp(-k c) for the lags k of a decaying trace (the engine's cached table), or a
    one-entry table where c <= 0 (no decay, or growth: computed by exp)."""
    from ..network import _decay_table
    return _decay_table(c) if c > 0 else np.ones(1)


def held_v_rows(model):
    """(refractory row, v row) of a model that holds v at V_reset while refractory
    (v is a receptor and the model counts refractory steps: IF, ALIF), else (-1, -1):
    input onto such a v is not delivered while the neuron is refractory, as the
    engine's own delivery does (docs/internals.md)."""
    names = tuple(getattr(model, "variables", ()))
    if "refractory" in names and "v" in getattr(model, "receptors", ()):
        return names.index("refractory"), names.index("v")
    return -1, -1


class _Params(dict):
    """``EquationRule.params``: a dict whose keys are among the names the rule was
    built with (values are checked when a run starts, as they may change between
    runs)."""

    def __init__(self, allowed):
        super().__init__()
        self._allowed = tuple(allowed)

    def _check(self, name):
        if name not in self._allowed:
            raise unknown_name("parameter of the rule", name, self._allowed,
                               " (the parameters are those the rule was built with)")

    def __setitem__(self, name, value):
        self._check(name)
        super().__setitem__(name, value)

    def update(self, *args, **kw):
        for k, v in dict(*args, **kw).items():
            self[k] = v

    def setdefault(self, name, value=None):
        if name not in self:
            self[name] = value
        return self[name]

    def clear_missing(self, value):
        """Keep only the names in ``value`` (an assigned mapping may leave some out:
        refused when a run starts, naming them)."""
        for k in [k for k in self if k not in value]:
            del self[k]

    def __reduce__(self):       # a copy or pickle keeps the allowed names
        return (_params_of, (self._allowed, dict(self)))


def _params_of(allowed, values):
    p = _Params(allowed)
    p.update(values)
    return p


class EquationRule(Rule):
    """A plasticity rule given as equations and statements (the rule language).

    Parameters
    ----------
    model : str
        Declarations, one per line: ``x : unit [(flags)]`` (a variable),
        ``dx/dt = expr : unit (event-driven|clock-driven[, pre|post|shared])``,
        ``y = expr : unit`` (a subexpression). ``w`` is the synaptic weight.
    on_pre, on_post, on_step : str
        Statements (``x = expr``, ``x += expr``, ``-=``, ``*=``, ``/=``), one per line,
        run when a presynaptic spike reaches a synapse, when the postsynaptic neuron
        spikes (per synapse of it), and every step (or every ``step_every`` ms).
    params : dict
        Constants named in the text (ms, mV, nS, pA); change them with
        ``rule.params[name] = value`` between runs.
    init : dict
        Initial values of the rule's variables (scalar, or an array over the
        variable's place: synapses, pre- or postsynaptic neurons); default 0.
    step_every : float or None
        Interval of ``on_step`` (ms, a multiple of dt); None: every step.
    name : str
        Stored in run files.
    backend : {'compiled', 'numpy'}
        ``'numpy'`` runs the plain NumPy interpreter (a reference; slow).
    seed : int or None
        Seed of ``rand()``/``randn()`` in the statements; None takes one from the
        network's seed at connect.
    post_delay : float
        ``on_post`` runs this many ms after the postsynaptic spike (>= 0, a multiple
        of dt; default 0): the synapse sees the post spikes late, as
        :class:`~plasticity.rules.STDP`'s ``post_delay`` (a dendritic delay on our
        axonal engine). ``on_post`` may then read and write the rule's variables
        only (not neuron variables, delayed copies or ``t``: their values at the
        late step would not be the spike's), and the backend must be 'compiled'.

    Attributes
    ----------
    state : dict
        After the first run (or ``Network.connect``): the rule's variables as NumPy
        arrays, per synapse (in the SynapseMatrix's order), per neuron, or shared.
    """

    compiled = True

    def __init__(self, model="", on_pre="", on_post="", on_step="", params=None,
                 init=None, step_every=None, name=None, backend="compiled", seed=None,
                 post_delay=0.0):
        if backend not in ("compiled", "numpy"):
            raise ValueError(f"backend must be 'compiled' or 'numpy', got {backend!r}")
        self.post_delay = check_nonnegative("post_delay", post_delay, "ms")
        if self.post_delay and backend != "compiled":
            raise ValueError(f"post_delay = {self.post_delay} ms needs "
                             f"backend='compiled' (the NumPy interpreter sees the post "
                             f"spikes at their step), got backend={backend!r}")
        for what, text in (("model", model), ("on_pre", on_pre), ("on_post", on_post),
                           ("on_step", on_step)):
            if text is not None and not isinstance(text, str):
                raise TypeError(f"{what} must be a string of rule text, got "
                                f"{type(text).__name__}")
        self.spec = parse_rule(model, on_pre, on_post, on_step, params)
        self.text = dict(model=model or "", on_pre=on_pre or "", on_post=on_post or "",
                         on_step=on_step or "")
        self.params = self.spec.params
        self.init = dict(init or {})
        for k in self.init:
            if k not in self.spec.variables:
                raise RuleSyntaxError(f"init: {k!r} is not a variable of the rule "
                                      f"(variables: {sorted(self.spec.variables)})")
            _check_init(k, self.init[k])
        self.step_every = None if step_every is None else check_positive(
            "step_every", step_every, "ms")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a string (stored in run files) or None, got "
                            f"{name!r} ({type(name).__name__})")
        self._name = name or "EquationRule"
        if seed is not None:
            from .._validation import check_int
            seed = check_int("seed", seed, 0)
            if seed >= 2 ** 64:
                raise ValueError(f"seed must be < 2**64, got {seed}")
        self.seed = seed
        self._seed = 0 if seed is None else seed
        self.backend = backend
        self.compiled = backend == "compiled"
        self.state = {}
        self._signals = []
        self._schedules = {}
        self._res = None
        self._code = {}
        self._last = {}

    # ------------------------------------------------------------- public API
    @property
    def params(self):
        """The parameters' values (a dict of the rule's parameter names; change
        them between runs). A name the rule was not built with is refused (a
        misspelt parameter would be a new entry that nothing reads)."""
        return self._params

    @params.setter
    def params(self, value):
        if not isinstance(value, Mapping):
            raise TypeError(f"params must map parameter names to numbers, got "
                            f"{value!r:.60} ({type(value).__name__})")
        p = _Params(self.spec.params)
        p.update(value)
        p.clear_missing(value)
        self._params = p

    @property
    def name(self):
        return self._name

    def __repr__(self):
        return f"EquationRule(name={self._name!r}, backend={self.backend!r})"

    def parameters(self):
        out = {"rule": "EquationRule", "name": self._name}
        out.update({f"param_{k}": v for k, v in self.params.items()})
        out.update({f"text_{k}": v for k, v in self.text.items()})
        if self.post_delay:         # only where set: other rules' files as before
            out["post_delay"] = self.post_delay
        return out

    def __getitem__(self, name):
        """A variable's values now: event-driven ones decayed to the network's
        current step (a copy), the others a view; shared variables as a float."""
        v = self._variable(name)
        if name == "w":
            if getattr(self, "projection", None) is None:
                raise RuntimeError("the rule's w is its projection's weights: it has "
                                   "none before the network first runs")
            return self.projection.synapses.weights
        if "val:" + name not in self.state:
            raise RuntimeError(f"{name!r} has no values yet: the rule's state is made "
                               f"when the network first runs (its initial value: "
                               f"init[{name!r}] = {self.init.get(name, 0.0)!r})")
        if v.where == "shared" and "val:" + name in self.state:
            return float(self.state["val:" + name][0])
        if v.dynamics == "event" and self._last.get(v.where) is not None \
                and hasattr(self, "_consts"):
            return self._decayed(v, self._step_now())
        return self.state["val:" + name]

    def __setitem__(self, name, value):
        """Set a variable (between runs): a scalar or an array over its place."""
        v = self._variable(name)
        if v.name == "w":
            raise ValueError("set the weights through projection.synapses.weights")
        arr = self.state.get("val:" + name)
        if arr is None:
            _check_init(name, value)
            self.init[name] = value
            return
        a = np.asarray(value)
        if a.dtype.kind not in "iuf":
            # a string, complex, None or bool: NumPy's conversion message, or a bool
            # taken as 1.0
            raise TypeError(f"{name} must be real numbers (a scalar or an array of shape "
                            f"{arr.shape}), got {value!r:.60} ({a.dtype})")
        value = a.astype(np.float64)
        if value.ndim > 1 or (value.ndim == 1 and value.shape != arr.shape):
            raise ValueError(f"{name} must be a finite scalar or an array of shape "
                             f"{arr.shape}, got shape {value.shape}")
        if not np.all(np.isfinite(value)):
            bad = value.reshape(-1)[~np.isfinite(value.reshape(-1))][0]
            raise ValueError(f"{name} must be finite, got {bad}")
        if v.dynamics == "event":
            # its place's event-driven variables share one 'last update' step:
            # bring them all to now, then the new value is the value now
            self._synchronize(v.where, self._step_now())
        arr[:] = value

    def recordable(self, projection=None):
        """Every declared variable and ``w``, name -> where (``'syn'``, ``'pre'``,
        ``'post'``, ``'shared'``), once resolved against a projection (at connect)."""
        if projection is not None:
            self.validate(projection)
        if self._res is None:
            return {}
        out = {v.name: where for where in ("syn", "pre", "post", "shared")
               for v in self._res.variables(where)}
        out["w"] = "syn"
        return out

    def weight_bounds(self, dt):
        """Where every statement that writes ``w`` is ``w = clip(e, lo, hi)`` with
        bounds of parameters and numbers (and ``w`` has no equation): the range all
        of them keep, ``[max lo, min hi]`` (a weight outside one statement's range
        is clipped by it silently); else None (the rule keeps no known range, or
        its parameters are not valid now: the run's check of them says why)."""
        if self._res is None or self.spec.variables["w"].dynamics is not None:
            return None
        lo, hi, lines = -math.inf, math.inf, []
        for block, stmts in self._res.blocks.items():
            for st in stmts:
                if st.target != "w":
                    continue
                e = st.expr
                if st.op is not None or not (isinstance(e, ast.Call) and isinstance(
                        e.func, ast.Name) and e.func.id == "clip" and len(e.args) == 3):
                    return None
                try:
                    with np.errstate(all="ignore"):
                        a = _eval_const(e.args[1], self.params, dt)
                        b = _eval_const(e.args[2], self.params, dt)
                except Exception:       # not constant, or the parameters are bad
                    return None
                if math.isnan(a) or math.isnan(b):
                    return None
                lo, hi = max(lo, a), min(hi, b)
                lines.append(f"{block} line {st.lineno}")
        if not lines or lo > hi:
            return None
        return lo, hi, f"(w = clip(..., lo, hi) in {', '.join(lines)})"

    def _parallel_safe(self):
        """Whether the engine may run the per-synapse work on several threads (by
        postsynaptic range): no statement run per synapse writes a shared variable
        (those run one synapse after the other)."""
        V = self.spec.variables
        for block, stmts in self._res.blocks.items():
            for st in stmts:
                if st.kind[0] != "var" or V[st.target].where != "shared":
                    continue
                if block != "on_step":      # on_step's shared statements run once
                    return False
        return True

    def _decayed(self, v, step):
        """Event-driven variable ``v``'s values at ``step`` (a new array)."""
        from ._interpreter import decay
        c = self._consts
        return decay(self.state["val:" + v.name], step - self._last[v.where],
                     c["c:" + v.name], c["xinf:" + v.name], c["slope:" + v.name],
                     trace_table(c["c:" + v.name]))

    def _synchronize(self, where, step):
        """Decay the event-driven variables at ``where`` to ``step``."""
        last = self._last.get(where)
        if last is None or not hasattr(self, "_consts"):
            return
        for v in self._res.variables(where):
            if v.dynamics == "event":
                self.state["val:" + v.name][:] = self._decayed(v, step)
        last[:] = step

    def _variable(self, name):
        v = self.spec.variables.get(name) if isinstance(name, str) else None
        if v is None:
            hint = (f" ({name!r} is a parameter: set rule.params[{name!r}] = value "
                    f"between runs)" if name in self.spec.params else
                    f"; parameters (rule.params): {sorted(self.spec.params)}")
            raise unknown_name("variable of the rule", name, self.spec.variables, hint)
        return v

    def schedule(self, variable, times, amounts):
        """Add ``amounts[k]`` to the shared ``variable`` at ``times[k]`` (ms; within
        the next runs), before the step's events: a reward or neuromodulator
        schedule. Calls add up (as ``RewardModulated.schedule_rewards``): the times
        of every call are merged in time order, equal times in the order given;
        :meth:`clear_schedule` forgets them."""
        v = self._variable(variable)
        if v.where != "shared" and "shared" not in v.flags:
            raise ValueError(f"schedule: {variable!r} must be a (shared) variable")
        t, a = check_schedule(f"schedule of {variable!r}:", times, amounts)
        t0, a0 = self._schedules.get(variable, (np.zeros(0), np.zeros(0)))
        t, a = np.concatenate([t0, t]), np.concatenate([a0, a])
        order = np.argsort(t, kind="stable")
        self._schedules[variable] = (t[order], a[order])

    def clear_schedule(self, variable=None):
        """Forget the schedule of the shared ``variable`` (None: of every one)."""
        if variable is None:
            self._schedules.clear()
        else:
            self._variable(variable)
            self._schedules.pop(variable, None)

    def add_signal(self, variable, population, gain=1.0):
        """At every step, add ``gain`` x (the number of spikes ``population`` emitted
        in this step) to the shared ``variable`` (e.g. dopamine from a population of
        dopaminergic neurons)."""
        v = self._variable(variable)
        if "shared" not in v.flags:
            raise ValueError(f"add_signal: {variable!r} must be a (shared) variable")
        gain = check_finite("add_signal: gain", gain)
        if len(self._signals) >= 4:
            raise ValueError("add_signal: at most 4 signals per rule")
        self._signals.append((variable, population, float(gain)))

    # ------------------------------------------------------------- binding
    def validate(self, projection):
        """Resolve the text against the projection's neuron models (at connect):
        every name error is raised here, before anything runs."""
        syn = projection.synapses
        pre_model = getattr(projection.pre, "model", None)
        # resolved once per projection (bind calls this at every run)
        key = (id(projection), id(projection.post.model), id(pre_model),
               syn.delays is not None)
        if self._res is not None and getattr(self, "_res_key", None) == key:
            res = self._res
        else:
            res = resolve(self.spec, projection.post.model, pre_model,
                          syn.delays is not None)
            self._res_key, self._code = key, {}
        post_vars = list(projection.post.model.variables)
        if res.receptor_writes and projection.target_row not in res.receptor_writes:
            raise ValueError(
                f"rule {self._name!r} delivers to "
                f"{[post_vars[r] for r in res.receptor_writes]} itself, but the "
                f"projection's target is {projection.target!r}: connect with one of "
                "those targets")
        self._check_delivery_reads(res, projection)
        self._res = res
        if self.post_delay:
            self.post_delay_steps(projection._network.dt)
            self._check_post_delay(res)
        if res.uses_random and self.seed is None and \
                getattr(self, "_seed_from", None) is not projection:
            # the network's seed gives the rule's random numbers (drawn once, at
            # connect: the same network built the same way gets the same stream)
            net = projection._network
            self._seed = int(net._seedseq.spawn(1)[0].generate_state(1, np.uint64)[0])
            self._seed_from = projection
        return res

    def _check_delivery_reads(self, res, projection):
        """Refuse an ``on_pre`` statement that reads a receptor this projection
        delivers into (its target, or the receptors its statements add to): the
        statements of each arriving synapse run right after its delivery, so the
        value read includes the deliveries of the synapses before it in the step and
        depends on their order (and the NumPy backend, which runs on_pre after all
        of them, gave other weights). Brian2 refuses such order-dependent code too.
        ``on_post``, ``on_step`` and the equations run after all of the step's
        arrivals and may read it."""
        rows = set(res.receptor_writes) | {projection.target_row}
        post_vars = list(projection.post.model.variables)
        for st in res.blocks.get("on_pre", ()):
            # 'g_e += e' reads g_e only to add to it: the delivery itself
            expr = st.expr if st.kind[0] == "post" else st.value_expr()
            for name in sorted(_names(expr)):
                try:
                    kind = res.lookup(name, "on_pre", st.lineno, st.text)
                except RuleSyntaxError:
                    continue
                if kind[0] == "post" and kind[1] in rows:
                    raise RuleSyntaxError(
                        f"on_pre line {st.lineno} ({st.text.strip()!r}): reads {name!r}, "
                        f"the receptor {post_vars[kind[1]]!r} projection "
                        f"{projection.name!r} delivers into: on_pre runs after each "
                        "synapse's delivery, so the value would depend on the order of "
                        "the synapses arriving in the step; read it in on_post or "
                        "on_step, or keep a trace of the input in the rule")

    def _check_post_delay(self, res):
        """With a post delay the synapse lives post_delay / 2 later than the
        neurons (its pre events are the arrivals, its post events come
        post_delay late): a statement or a clock-driven equation that reads a
        neuron's variable, a delayed copy or t would mix the two clocks, and so
        would on_post or on_step writing a neuron variable; refused, naming it.
        on_pre may deliver (write the receptor): that is the PSC, on time."""
        def foreign(names):
            return next((n for n in sorted(names) if n != "__idx__" and
                         res.lookup(n, "model", 0, "")[0] not in
                         ("var", "param", "unit", "dt")), None)
        found = None
        for block, stmts in res.blocks.items():
            for st in stmts:
                bad = foreign(_names(st.value_expr()))
                if bad is None and st.kind[0] != "var" and block != "on_pre":
                    bad = st.target
                if bad is not None:
                    found = found or (bad, block)
        for v in (v for where in ("syn", "pre", "post", "shared")
                  for v in res.variables(where)):
            if v.dynamics == "clock" and found is None:
                bad = foreign(_names(v.rhs_resolved))
                if bad is not None:
                    found = (bad, f"the equation of {v.name}")
        if found is not None:
            raise ValueError(
                f"rule {self._name!r}: with post_delay = {self.post_delay} ms the rule "
                f"may read only its own variables and parameters, got {found[0]!r} in "
                f"{found[1]} (the synapse sees the post spikes post_delay late: a "
                "neuron variable, a delayed copy or t would be of another time)")

    def bind(self, projection, dt):
        super().bind(projection, dt)
        res = self.validate(projection)
        # the parameters and the constant parts of the text first: a bad value
        # changes nothing
        consts = self._constants(dt)
        syn = projection.synapses
        sizes = {"syn": syn.nnz, "pre": syn.n_pre, "post": syn.n_post, "shared": 1}
        for v in self.spec.variables.values():
            if v.name == "w":
                continue
            key = "val:" + v.name
            n = sizes[v.where]
            arr = self.state.get(key)
            if arr is None or arr.shape != (n,):
                arr = np.zeros(n)
                if v.name in self.init:
                    val = _init_value(v.name, self.init[v.name], self.params, dt)
                    try:
                        arr[:] = val
                    except ValueError:
                        raise ValueError(f"init of {v.name} must be a scalar or an array "
                                         f"of {n} values (one per {v.where}), got shape "
                                         f"{np.shape(val)}") from None
                    if not np.all(np.isfinite(arr)):
                        raise ValueError(f"init of {v.name} must be finite")
                self.state[key] = arr
        for where in ("syn", "pre", "post"):
            if any(v.dynamics == "event" for v in res.variables(where)):
                key = "last:" + where
                if key not in self.state or self.state[key].shape != (sizes[where],):
                    self.state[key] = np.zeros(sizes[where], dtype=np.int64)
                self._last[where] = self.state[key]
        for name, d in self.spec.delayed.items():
            steps = self._delay_steps(d, dt)
            key = "hist:" + name
            arr = self.state.get(key)
            if arr is None or arr.shape != (steps + 1, syn.n_post):
                # no history yet: the source's present value, as far back as read
                from .. import _memory
                _memory.check({f"the delay of {name} (model line {d.line[0]}), steps":
                               (steps, 8.0 * (steps + 1) * syn.n_post)})
                arr = np.empty((steps + 1, syn.n_post))
                arr[:] = self.state["val:" + d.source][None, :]
                self.state[key] = arr
        for name in (v.name for v in res.variables("shared")):
            self.state.setdefault("sched_pos:" + name, np.zeros(1, dtype=np.int64))
        self._every = 1 if self.step_every is None else \
            duration_steps("step_every", self.step_every, dt)
        if self._every < 1:
            raise ValueError(f"step_every must be a multiple of dt = {dt} ms, got "
                             f"{self.step_every}")
        self._consts = consts

    def _delay_steps(self, d, dt):
        """The delay of delayed copy ``d`` in steps of ``dt`` (checked: finite, >= 0,
        a whole number of steps)."""
        lineno, line = d.line
        try:
            delay = _eval_const(d.delay, self.params, dt)
        except (ArithmeticError, ValueError) as e:
            raise ValueError(f"model line {lineno} ({line!r}): the delay of "
                             f"{d.name} cannot be computed ({e})") from None
        steps = round(delay / dt) if math.isfinite(delay) else -1
        if not math.isfinite(delay) or delay < 0 or \
                abs(steps * dt - delay) > 1e-9 * max(1.0, abs(delay)):
            raise ValueError(f"model line {lineno} ({line!r}): the delay of {d.name} "
                             f"must be >= 0 ms and a whole number of steps of dt = {dt} "
                             f"ms, got {delay!r} ms")
        if steps > 2 ** 62:     # beyond int64 (the memory check printed 300 digits);
            # below, the memory check refuses what does not fit
            raise ValueError(f"model line {lineno} ({line!r}): the delay of {d.name} = "
                             f"{delay!r} ms is {steps:.3g} steps of dt = {dt} ms; at most "
                             f"2**62 steps can be counted")
        return int(steps)

    def _step_now(self):
        proj = getattr(self, "projection", None)
        net = getattr(proj, "_network", None)
        return net.step if net is not None else 0

    def _constants(self, dt):
        """Parameter values and the equations' coefficients at this dt."""
        out = {"dt": dt}
        missing = sorted(set(self.spec.params) - set(self.params))
        extra = sorted(set(self.params) - set(self.spec.params))
        if extra:
            raise ValueError(f"params: {extra} are not parameters of the rule (it was "
                             f"built with {sorted(self.spec.params)})")
        if missing:
            raise ValueError(f"params: {missing} missing (the rule was built with "
                             f"{sorted(self.spec.params)}; rule.params has "
                             f"{sorted(self.params)}): set rule.params[name] = value")
        for k, v in self.params.items():
            if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) \
                    or math.isnan(float(v)):
                raise ValueError(f"params: {k} must be a number (finite, or +-inf for a "
                                 f"bound), got {v!r}")
            out[k] = float(v)
        for v in self.spec.variables.values():
            if v.method != "exact":
                continue
            try:
                with np.errstate(all="raise"):
                    self._coefficients(v, dt, out)
            except (ArithmeticError, FloatingPointError, ValueError) as e:
                used = {k: self.params[k] for k in sorted(self.params)
                        if k in ast.unparse(v.lin_a) + " " + ast.unparse(v.lin_b)}
                raise ValueError(
                    f"the equation of {v.name} (d{v.name}/dt = {ast.unparse(v.lin_a)} * "
                    f"{v.name} + {ast.unparse(v.lin_b)}) has no finite coefficients for "
                    f"params {used} at dt = {dt} ms ({type(e).__name__}: {e}); a time "
                    f"constant must be > 0") from None
        self._check_constant_parts(out)
        return out

    def _check_constant_parts(self, consts):
        """Refuse, before the run, a part of a statement or of a clock-driven
        equation that reads only parameters, units, numbers and ``dt`` and has no
        finite value with these ``consts`` (``1/0``, ``log(0)``, ``sqrt(-1)``,
        ``1/(tau - tau)``, ``10**400``, ``inf - inf``): the compiled code would
        write inf or NaN into the rule's state at the first event. Computed as the
        C code does (IEEE doubles), with division by zero, invalid operations and
        overflow raised; a bare ``inf`` (a bound) and underflow to 0 are fine."""
        res = self._res
        key = (id(res), tuple(sorted(consts.items())))
        if getattr(self, "_constants_checked", None) == key:
            return      # the same text and values as the last run's (runs of 0.1 ms)
        parts = [(block, st.lineno, st.text, st.value_expr())
                 for block, stmts in res.blocks.items() for st in stmts]
        parts += [("model", v.line[0], v.line[1], v.rhs_resolved)
                  for where in ("syn", "pre", "post", "shared")
                  for v in res.variables(where) if v.dynamics is not None]
        scope = {k: np.float64(v) for k, v in UNITS.items()}
        scope.update({k: np.float64(v) for k, v in consts.items()})
        scope.update(_NP_MATH)
        scope["_f64"] = np.float64

        def constant(node):
            if isinstance(node, ast.Name):
                try:
                    kind = res.lookup(node.id, "model", 0, "")[0]
                except RuleSyntaxError:
                    return False
                return kind in ("param", "unit", "dt")
            if isinstance(node, ast.Call):
                return node.func.id not in RANDOM and all(constant(a) for a in node.args)
            if isinstance(node, ast.Constant):
                return True
            if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp)):
                return all(constant(c) for c in ast.iter_child_nodes(node)
                           if isinstance(c, ast.expr))
            return False

        def value(node):
            body = _FloatLiterals().visit(_copy(node))
            expr = ast.fix_missing_locations(ast.Expression(body=body))
            with np.errstate(divide="raise", invalid="raise", over="raise",
                             under="ignore"):
                v = eval(compile(expr, "<rule>", "eval"), {"__builtins__": {}}, scope)
            return float(v)

        for block, lineno, text, expr in parts:
            todo = [expr]
            while todo:
                node = todo.pop()
                if isinstance(node, (ast.Name, ast.Constant)) or not constant(node):
                    todo.extend(c for c in ast.iter_child_nodes(node)
                                if isinstance(c, ast.expr) and not
                                (isinstance(node, ast.Call) and c is node.func))
                    continue
                try:
                    v, err = value(node), "NaN"
                except (ArithmeticError, FloatingPointError, ValueError,
                        TypeError) as e:
                    v, err = math.nan, str(e)
                if not math.isnan(v):
                    continue
                used = {k: self.params[k] for k in sorted(self.params)
                        if k in _names(node)}
                raise ValueError(
                    f"{block} line {lineno} ({text!r}): {ast.unparse(node)} is not a "
                    f"number for params {used} at dt = {consts['dt']} ms ({err}); it "
                    f"reads only parameters and numbers, so the run would write inf or "
                    f"NaN at the first event")
        self._constants_checked = key

    def _coefficients(self, v, dt, out):
        """The exact update's coefficients of linear variable ``v`` into ``out``."""
        a = _eval_const(v.lin_a, self.params, dt)
        a_dt = self._a_times_dt(v.lin_a, a, dt)
        if v.dynamics == "event":
            b = _eval_const(v.lin_b, self.params, dt)
            c = {"c:" + v.name: -a_dt,
                 "xinf:" + v.name: -b / a if a != 0.0 else 0.0,
                 "slope:" + v.name: b * dt if a == 0.0 else 0.0}
        else:
            c = {"a:" + v.name: a, "E:" + v.name: math.exp(a_dt)}
        bad = [k for k, x in c.items() if not math.isfinite(x)]
        if bad:
            raise ValueError(f"{bad[0]} = {c[bad[0]]}")
        out.update(c)

    # the NumPy interpreter runs through the per-step Python path
    def on_pre(self, step, syn):
        self._interp.pending_pre.extend(syn.tolist())

    def on_post(self, step, post):
        self._interp.pending_post.extend(post.tolist())

    def on_step(self, step):
        self._interp.step(step)

    def _a_times_dt(self, node, a, dt):
        """a dt, for a = k / tau as (k dt) / tau: -x/tau then decays by exp(-dt/tau),
        the very number the built-in kernels and most simulators use (not
        exp(-dt (1/tau)), which can differ in the last bit)."""
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            k = _eval_const(node.left, self.params, dt)
            den = _eval_const(node.right, self.params, dt)
            return (k * dt) / den
        return a * dt

    def schedule_steps(self, dt, step):
        """Per shared variable, its schedule as (steps, amounts, position), the
        position set to the first entry at or after ``step`` (both back ends)."""
        out = {}
        for v in self._res.variables("shared"):
            t, a = self._schedules.get(v.name, (np.zeros(0), np.zeros(0)))
            steps = steps_of(t, dt)
            position = self.state["sched_pos:" + v.name]
            position[0] = np.searchsorted(steps, step)
            out[v.name] = (steps, np.ascontiguousarray(a, dtype=np.float64), position)
        return out

    def get_state(self):
        return dict(self.state)

    def forget_state(self):
        self.state = {}
        self._last = {}

    def set_state(self, state):
        for k, v in state.items():
            if k in self.state and self.state[k].shape == np.shape(v):
                np.copyto(self.state[k], v)
            else:
                self.state[k] = np.array(v, copy=True)

    def arrays_to_check(self):
        """(name, array) of the float state checked for non-finite values."""
        return [(k[4:], v) for k, v in self.state.items() if k.startswith("val:")]

    # ------------------------------------------------------------- engine
    def attach(self, engine, k, projection, network):
        """Compile (or load) the code and hand it to the engine as projection k."""
        # the signals' populations, checked alike for both backends (the NumPy one
        # took a population of another network by its name, and an unknown name
        # was a KeyError in the first step)
        self._signal_pops = [network._pop_index[network._pop(p, "signal population").name]
                             for _, p, _ in self._signals]
        if self.backend == "numpy":
            from ._interpreter import attach_interpreter
            return attach_interpreter(self, engine, k, projection, network)
        self._attach_compiled(engine, k, projection, network)

    @property
    def post_ordered_weights(self):
        """Long runs keep the weights in post-synaptic order (as the built-in STDP
        kernels) when the rule changes w at postsynaptic spikes and has no
        per-synapse work every step (which walks the synapses in row order)."""
        if self.backend != "compiled" or self._res is None:
            return False
        V = self.spec.variables
        on_post_w = any(st.target == "w" for st in self._res.blocks["on_post"])
        per_step = any(st.kind[0] != "var" or V[st.target].where != "shared"
                       for st in self._res.blocks["on_step"])
        clock_syn = any(v.dynamics == "clock" for v in self._res.variables("syn"))
        return on_post_w and not per_step and not clock_syn

    def set_post_order(self, engine, k, wp, pos):
        """Run projection k on ``wp``, the weights gathered in post-synaptic order
        (``pos[s]``: where synapse s sits in it): the code variant that indexes so."""
        self._attach_compiled(engine, k, self.projection, self.projection._network,
                              wp=wp, pos=pos)

    def _attach_compiled(self, engine, k, projection, network, wp=None, pos=None):
        syn = projection.synapses
        is64 = syn.weights.dtype == np.float64
        code_key = (is64, wp is not None)      # the C of this rule, made once
        if code_key not in self._code:
            self._code[code_key] = _codegen.generate(self._res, is64,
                                                     post_order=wp is not None)
        source, layout = self._code[code_key]
        lib, addr, path = _codegen.compile_rule(source)
        self._lib = lib
        dt = network.dt
        consts = np.array([self._consts[c] if c in self._consts else 0.0
                           for c in layout.consts])
        keep = [consts]
        tabs = {v.name: trace_table(self._consts["c:" + v.name])
                for v in self.spec.variables.values() if v.dynamics == "event"}
        ints = {"n_pre": syn.n_pre, "n_post": syn.n_post, "nnz": syn.nnz,
                "every": self._every, "n_signals": len(self._signals),
                "target_row": projection.target_row}
        ints["ref_row"], ints["v_row"] = held_v_rows(projection.post.model)
        ints["seed"] = int(np.uint64(self._seed).astype(np.int64))   # its bits
        for v in tabs:
            ints["K:" + v] = tabs[v].shape[0]
        for name in layout.delayed:
            ints["D1:" + name] = self.state["hist:" + name].shape[0]
        shared_names = layout.shared
        sched = self.schedule_steps(dt, network.step)
        for name, (steps, _, _) in sched.items():
            ints["sched_len:" + name] = steps.shape[0]
        for m, (var, pop, gain) in enumerate(self._signals):
            ints[f"signal_var:{m}"] = shared_names.index(var)
        ivec = np.array([ints.get(n, 0) for n in layout.ints], dtype=np.int64)
        gains = np.zeros(layout.max_signals)
        for m, (_, _, g) in enumerate(self._signals):
            gains[m] = g
        keep += [ivec, gains]
        pre_state = projection.pre.state
        ptrs = {"K": consts, "IK": ivec, "indptr": syn.indptr, "indices": syn.indices,
                "post_ptr": syn.post_ptr, "post_syn": syn.post_syn,
                "post_pre": syn.post_pre, "w": syn.weights if wp is None else wp,
                "pos": pos,
                "post_state": projection.post.state, "pre_state": pre_state,
                "signal_gain": gains}
        for key, arr in self.state.items():
            ptrs[key] = arr
        for name, arr in tabs.items():
            ptrs["tab:" + name] = arr
        for name, (steps, amt, position) in sched.items():
            ptrs["sched_steps:" + name] = steps
            ptrs["sched_amt:" + name] = amt
            ptrs["sched_pos:" + name] = position
            keep += [steps, amt]
        ctx = np.zeros(len(layout.slots), dtype=np.uint64)
        for m, slot in enumerate(layout.slots):
            arr = ptrs.get(slot)
            if arr is not None and arr.size:
                ctx[m] = arr.ctypes.data
        scratch = np.zeros(2 * max(syn.nnz, 1) if syn.delays is not None else 1,
                           dtype=np.int32)
        signal_slots = [layout.slot(f"signal:{m}") for m in range(len(self._signals))]
        signal_pops = self._signal_pops
        self._keep = (keep, ptrs, scratch, tabs, wp, pos)
        engine.set_generated_rule(k, addr, ctx, scratch, signal_slots, signal_pops,
                                  self._parallel_safe(), layout.phases)
        if self.post_delay_steps(dt):
            # the network gave the post population a history of more steps (_build)
            engine.set_post_delay(k, self.post_delay_steps(dt))
