"""The plain NumPy interpreter of the rule language: the reference semantics.

It runs a resolved rule (plasticity.rules.language) through the network's per-step
Python path, with the same order of operations and the same arithmetic as the C
code of ``_codegen``, written independently and vectorised over the synapses of an
event. The compiled rules are tested against it (tests/test_rule_language.py); users
can run a rule in it with ``EquationRule(..., backend='numpy')`` where no C compiler
is at hand.

Where the C code processes synapses one after the other and a statement writes a
shared variable, this interpreter does the same, one synapse at a time.
"""
import ast

import numpy as np

__all__ = ["attach_interpreter", "Interpreter"]

_NPFUNCS = {"exp": "np.exp", "log": "np.log", "log10": "np.log10", "sqrt": "np.sqrt",
            "abs": "np.abs", "sign": "np.sign", "floor": "np.floor", "ceil": "np.ceil",
            "sin": "np.sin", "cos": "np.cos", "tan": "np.tan", "tanh": "np.tanh",
            "int": "np.trunc", "clip": "_clip", "minimum": "np.minimum",
            "maximum": "np.maximum"}
_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**",
        ast.Mod: "%"}
_CMP = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==",
        ast.NotEq: "!="}


def _clip(x, lo, hi):
    x = np.asarray(x, dtype=np.float64)
    return np.where(x < lo, lo, np.where(x > hi, hi, x)).astype(np.float64)


def py_expr(node, sites=None):
    """Python/NumPy source of an expression; names are looked up in the scope
    (``S['__idx__']`` the elements' indices for rand()/randn(), numbered by
    ``sites``)."""
    def go(n):
        if isinstance(n, ast.Constant):    # float64, as the C code's doubles
            return f"np.float64({float(n.value)!r})"
        if isinstance(n, ast.Name):
            return f"S[{n.id!r}]"
        if isinstance(n, ast.BinOp):
            return f"({go(n.left)} {_OPS[type(n.op)]} {go(n.right)})"
        if isinstance(n, ast.UnaryOp):
            if isinstance(n.op, ast.USub):
                return f"(-{go(n.operand)})"
            if isinstance(n.op, ast.UAdd):
                return go(n.operand)
            return f"_f(np.asarray({go(n.operand)}) == 0.0)"
        if isinstance(n, ast.Compare):
            parts, left = [], go(n.left)
            for op, comp in zip(n.ops, n.comparators):
                right = go(comp)
                parts.append(f"np.asarray({left} {_CMP[type(op)]} {right})")
                left = right
            return "_f(" + " & ".join(parts) + ")"
        if isinstance(n, ast.BoolOp):
            f = "np.logical_and" if isinstance(n.op, ast.And) else "np.logical_or"
            vals = [f"(np.asarray({go(v)}) != 0.0)" for v in n.values]
            acc = vals[0]
            for v in vals[1:]:
                acc = f"{f}({acc}, {v})"
            return f"_f({acc})"
        if isinstance(n, ast.Call):
            if n.func.id in ("rand", "randn"):
                return (f"_{n.func.id}(S['__seed__'], S['__step__'], S['__idx__'], "
                        f"{sites[id(n)]})")
            return f"{_NPFUNCS[n.func.id]}({', '.join(go(a) for a in n.args)})"
        raise AssertionError(ast.dump(n))
    return go(node)


def _f(b):
    return np.asarray(b, dtype=np.float64)


_M1, _M2, _M3 = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9),
                 np.uint64(0x94D049BB133111EB))


def _mix(z):
    """splitmix64's finaliser on uint64 arrays (wrapping arithmetic, as C)."""
    with np.errstate(over="ignore"):
        z = z + _M1
        z = (z ^ (z >> np.uint64(30))) * _M2
        z = (z ^ (z >> np.uint64(27))) * _M3
    return z ^ (z >> np.uint64(31))


def _rand(seed, step, idx, site):
    """The C code's _pl_rand: uniform in [0, 1) from (seed, step, element, site)."""
    idx = np.asarray(idx).astype(np.int64).astype(np.uint64)
    h = _mix(np.uint64(seed) ^ _mix(np.uint64(np.int64(step).astype(np.uint64))
                                    ^ _mix((idx << np.uint64(16)) ^ np.uint64(site))))
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def _randn(seed, step, idx, site):
    u1 = 1.0 - _rand(seed, step, idx, 2 * site + 0x8000)
    u2 = _rand(seed, step, idx, 2 * site + 0x8001)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(6.283185307179586 * u2)


_GLOBALS = {"np": np, "_clip": _clip, "_f": _f, "_rand": _rand, "_randn": _randn}


def _eval(code, S):
    """An expression evaluated as the compiled C code does: IEEE float64 arithmetic on
    float64 scalars and arrays (1/0 is inf, (-1)**0.5 NaN, 10**400 inf, not a Python
    exception or a complex number); the run's finiteness checks then report it."""
    with np.errstate(all="ignore"):
        return eval(code, _GLOBALS, {"S": S})


def decay(x, k, c, xinf, slope, tab):
    """Values ``x`` after ``k`` steps of dX/dt = a X + b (``c = -a dt``, ``xinf =
    -b/a``, ``slope = b dt`` where a = 0), exp(-k c) looked up in ``tab`` for k below
    its length: the arithmetic of the C code's ``_pl_decay``."""
    k = np.asarray(k, dtype=np.int64)
    if c == 0.0:
        return np.where(k == 0, x, x + slope * k.astype(np.float64))
    K = tab.shape[0]
    kk = np.clip(k, 0, K - 1)
    z = -k.astype(np.float64) * c
    with np.errstate(under="ignore", over="ignore"):
        e = np.where(k < K, tab[kk], np.where(z < -746.0, 0.0, np.exp(z)))
    out = xinf + (x - xinf) * e
    return np.where((k == 0) | (x == xinf), x, out)


def _code(node, sites=None):
    return compile(py_expr(node, sites), "<rule>", "eval")


class Interpreter:
    """Executes a resolved rule on a projection, one step per call of :meth:`step`."""

    def __init__(self, rule, projection, network):
        self.rule = rule
        self.res = rule._res
        self.proj = projection
        self.net = network
        self.syn = projection.synapses
        self.V = self.res.spec.variables
        self.pre_of = np.repeat(np.arange(self.syn.n_pre),
                                np.diff(self.syn.indptr)).astype(np.int64)
        self.codes = {}
        for block, stmts in self.res.blocks.items():
            sites = self.res.random_sites
            self.codes[block] = [(st, _code(st.value_expr(), sites) if st.kind[0] == "var"
                                  else _code(st.expr, sites)) for st in stmts]
        self.clock = {}
        for v in self.V.values():
            if v.dynamics == "clock":
                self.clock[v.name] = (_code(v.lin_b) if v.method == "exact"
                                      else _code(v.rhs_resolved))
        from .equations import trace_table
        self.tabs = {v.name: trace_table(rule._consts["c:" + v.name])
                     for v in self.V.values() if v.dynamics == "event"}
        self.pending_pre = []
        self.pending_post = []
        from .equations import held_v_rows
        self.ref_row, self.v_row = held_v_rows(projection.post.model)
        model = projection.post.model
        self.v_any = model.variables.index("v") if "v" in model.receptors else -1
        self.post_spiked = set()

    # -- values
    def _decayed(self, name, idx, step):
        c = self.rule._consts
        x = self.rule.state["val:" + name][idx]
        where = self.V[name].where
        last = self.rule.state["last:" + where][idx] if where != "shared" else step
        return decay(x, step - last, c["c:" + name], c["xinf:" + name],
                     c["slope:" + name], self.tabs[name])

    def value(self, name, i, j, s, step):
        """Current values of variable ``name`` for synapses s (pre i, post j)."""
        v = self.V[name]
        if name == "w":
            return self.syn.weights[s].astype(np.float64)
        idx = {"syn": s, "pre": i, "post": j, "shared": np.zeros_like(s)}[v.where]
        if v.dynamics == "event":
            return self._decayed(name, idx, step)
        return self.rule.state["val:" + name][idx].copy()

    def scope(self, names, i, j, s, step):
        """Scope for the given names over synapses s (i, j their pre/post)."""
        S = {"__seed__": self.rule._seed, "__step__": step,
             "__idx__": 0 if s is None else s}
        c = self.rule._consts
        for n in names:
            kind = self.res.lookup(n, "model", 0, "")
            if kind[0] == "param":
                S[n] = np.float64(c[n])
            elif kind[0] == "unit":
                S[n] = np.float64(kind[1])
            elif kind[0] == "t":
                S[n] = np.float64(step * c["dt"])
            elif kind[0] == "dt":
                S[n] = np.float64(c["dt"])
            elif kind[0] == "post":
                S[n] = self.post_snap[kind[1], j]
            elif kind[0] == "pre":
                S[n] = self.pre_snap[kind[1], i]
            elif kind[0] == "delayed":
                # the row of D steps ago (written at the end of step - D - 1)
                hist = self.rule.state["hist:" + n]
                S[n] = hist[(step + 1) % hist.shape[0], j].copy()
            elif self.V[n].where == "shared":
                S[n] = self.rule.state["val:" + n][0]
            else:
                S[n] = self.value(n, i, j, s, step)
        return S

    def _names(self, stmts):
        from .language import _names
        names = set()
        for st in stmts:
            names |= _names(st.value_expr()) | {st.target}
        return names

    # -- blocks
    def _run(self, block, i, j, s, step, neuron_side):
        """Execute a block for synapses s; then the neuron-side replay."""
        items = self.codes[block]
        if not items:
            return
        stmts = [st for st, _ in items]
        shared_written = any(st.kind[0] == "var" and self.V[st.target].where == "shared"
                             for st in stmts)
        if shared_written and s.size > 1:
            for m in range(s.size):
                self._run(block, i[m:m + 1], j[m:m + 1], s[m:m + 1], step, None)
            self._replay(block, i, j, step, neuron_side)
            return
        names = self._names(stmts) | {"w"}
        S = self.scope(names, i, j, s, step)
        for st, code in items:
            val = _eval(code, S)
            val = np.broadcast_to(np.asarray(val, dtype=np.float64), s.shape)
            if st.kind[0] == "post":
                row = self.proj.post.state[st.kind[1]]
                sign = {ast.Add: 1.0, ast.Sub: -1.0}.get(type(st.op))
                if sign is None:
                    raise NotImplementedError("receptor writes other than += / -=")
                held = st.kind[1] == self.v_row
                is_v = st.kind[1] == self.v_any
                for m in range(s.size):      # in order, as the compiled loop
                    if (held and self.post_snap[self.ref_row, j[m]] > 0.0) or (
                            is_v and j[m] in self.post_spiked):
                        # held while refractory; and the compiled code's delivery
                        # onto v in a spike's step is overwritten by the reset that
                        # this interpreter, running after the step, has seen already
                        continue
                    row[j[m]] += sign * val[m]
                    # and into the values the later statements read (on_post,
                    # on_step, clock-driven: the compiled code reads the receptor
                    # with this write in)
                    self.post_snap[st.kind[1], j[m]] += sign * val[m]
                continue
            S[st.target] = val.copy()
            if self.V[st.target].where == "shared":
                self.rule.state["val:" + st.target][0] = val[-1] if val.size else \
                    self.rule.state["val:" + st.target][0]
                S[st.target] = self.rule.state["val:" + st.target][0]
        self._store(block, stmts, S, s, step, "syn")
        if s.size and shared_written:
            return
        self._replay(block, i, j, step, neuron_side)

    def _store(self, block, stmts, S, s, step, where):
        written = {st.target for st in stmts if st.kind[0] == "var"
                   and self.V[st.target].where == where}
        evs = [v.name for v in self.res.variables(where) if v.dynamics == "event"]
        touch = any(n in written for n in evs)
        for n in written | (set(evs) if touch else set()):
            val = S[n] if n in S else self.value(n, None, None, s, step)
            if n == "w":
                self.syn.weights[s] = val
            else:
                self.rule.state["val:" + n][s] = val
        if touch:
            self.rule.state["last:" + where][s] = step

    def _replay(self, block, i, j, step, side):
        """The statements on neuron-side variables, once per neuron of the event."""
        if side is None:
            return
        items = [(st, code) for st, code in self.codes[block] if st.kind[0] == "var"
                 and self.V[st.target].where == side]
        evs = [v.name for v in self.res.variables(side) if v.dynamics == "event"]
        ids = np.unique(i) if side == "pre" else j
        if not items or ids.size == 0:
            return
        stmts = [st for st, _ in items]
        names = self._names([st for st, _ in self.codes[block]])
        names = {n for n in names if n in self.V and self.V[n].where == side}
        ii = ids if side == "pre" else np.zeros_like(ids)
        jj = ids if side == "post" else np.zeros_like(ids)
        S = {n: self.value(n, ii, jj, None, step) for n in names}
        extra = self._names(stmts) - set(S)
        S.update(self.scope(extra, ii, jj, ids, step))
        for st, code in items:
            S[st.target] = np.broadcast_to(np.asarray(_eval(code, S),
                                                      dtype=np.float64), ids.shape).copy()
        written = {st.target for st in stmts}
        touch = any(n in written for n in evs)
        store = written | (set(evs) if touch else set())
        for n in store:
            val = S[n] if n in S else self.value(n, ii, jj, None, step)
            self.rule.state["val:" + n][ids] = val
        if touch:
            self.rule.state["last:" + side][ids] = step

    def step(self, step):
        rule = self.rule
        # shared inputs
        for name, (steps, amt, pos) in self.sched.items():
            while pos[0] < steps.shape[0] and steps[pos[0]] <= step:
                if steps[pos[0]] == step:
                    rule.state["val:" + name][0] += amt[pos[0]]
                pos[0] += 1
        for (var, _, gain), k in zip(rule._signals, rule._signal_pops):
            n = self.net._eng.n_spikes(k)
            rule.state["val:" + var][0] += gain * float(n)
        self.post_snap = self.post_buf.reshape(self.proj.post.state.shape)
        pre = self.proj.pre
        self.pre_snap = (None if pre.state is None else self.post_snap
                         if pre is self.proj.post else
                         self.pre_buf.reshape(pre.state.shape))
        # on_pre
        syn = self.syn
        self.post_spiked = set(int(x) for x in self.pending_post)
        s = np.array(self.pending_pre, dtype=np.int64)
        self.pending_pre = []
        if s.size:
            i, j = self.pre_of[s], syn.indices[s].astype(np.int64)
            side = "pre" if syn.delays is None else None
            self._run("on_pre", i, j, s, step, side)
        # on_post
        post = np.array(self.pending_post, dtype=np.int64)
        self.pending_post = []
        if post.size and self.codes["on_post"]:
            qs = [np.arange(syn.post_ptr[p], syn.post_ptr[p + 1]) for p in post]
            q = np.concatenate(qs) if qs else np.zeros(0, dtype=np.int64)
            s2 = syn.post_syn[q].astype(np.int64)
            i2 = syn.post_pre[q].astype(np.int64)
            j2 = syn.indices[s2].astype(np.int64)
            self._run("on_post", i2, j2, s2, step, None)
            self._replay("on_post", np.zeros_like(post), post, step, "post")
        # on_step
        if self.codes["on_step"] and step % rule._every == 0:
            shared = [(st, c) for st, c in self.codes["on_step"]
                      if st.kind[0] == "var" and self.V[st.target].where == "shared"]
            for st, code in shared:
                S = self.scope(self._names([st]), np.zeros(1, np.int64),
                               np.zeros(1, np.int64), np.zeros(1, np.int64), step)
                rule.state["val:" + st.target][0] = float(
                    np.asarray(_eval(code, S)).reshape(-1)[0])
            others = [x for x in self.codes["on_step"] if x not in shared]
            gates = self.res.post_gates([st for st, _ in others]) if others else None
            if gates is not None:
                self._run_gated(others, gates, step)
            elif others:
                saved = self.codes["on_step"]
                self.codes["on_step"] = others
                s3 = np.arange(syn.nnz, dtype=np.int64)
                self._run("on_step", self.pre_of, syn.indices.astype(np.int64), s3,
                          step, None)
                self.codes["on_step"] = saved
        self._clock(step)
        self._record_delayed(step)

    def _record_delayed(self, step):
        """Each delayed copy's source at the start of the next step, into the row
        of its ring buffer read D steps later (the row this step read)."""
        n_post = self.syn.n_post
        for name, d in self.res.spec.delayed.items():
            hist = self.rule.state["hist:" + name]
            j = np.arange(n_post, dtype=np.int64)
            hist[(step + 1) % hist.shape[0], :] = self.value(d.source, j, j, j, step + 1)

    def _run_gated(self, items, gates, step):
        """on_step's per-synapse statements with their post gates (language.
        Resolved.post_gates): a statement runs where its gate is not 0; synapses
        whose gates are all 0 are not touched."""
        from .language import _names
        syn = self.syn
        s = np.arange(syn.nnz, dtype=np.int64)
        i, j = self.pre_of, syn.indices.astype(np.int64)
        sites = self.res.random_sites
        gnames = set().union(*(_names(g) for g in gates))
        Sg = self.scope(gnames, i, j, s, step)
        gv = [np.broadcast_to(np.asarray(_eval(_code(g, sites), Sg),
                                         dtype=np.float64), s.shape) for g in gates]
        active = np.zeros(s.shape, dtype=bool)
        for g in gv:
            active |= g != 0.0
        s, i, j = s[active], i[active], j[active]
        gv = [g[active] for g in gv]
        stmts = [st for st, _ in items]
        S = self.scope(self._names(stmts) | {"w"}, i, j, s, step)
        for (st, code), g in zip(items, gv):
            val = np.broadcast_to(np.asarray(_eval(code, S),
                                             dtype=np.float64), s.shape)
            S[st.target] = np.where(g != 0.0, val, S[st.target])
        self._store("on_step", stmts, S, s, step, "syn")

    def _clock(self, step):
        syn = self.syn
        c = self.rule._consts
        dt = c["dt"]
        for where in ("syn", "post", "pre", "shared"):
            cvars = [v for v in self.res.variables(where) if v.dynamics == "clock"]
            if not cvars:
                continue
            from .language import _names
            names = set()
            for v in cvars:
                names |= _names(v.rhs_resolved) | {v.name}
            if where == "syn":
                s = np.arange(syn.nnz, dtype=np.int64)
                i, j = self.pre_of, syn.indices.astype(np.int64)
            elif where == "post":
                j = np.arange(syn.n_post, dtype=np.int64)
                i = s = np.zeros_like(j)
            elif where == "pre":
                i = np.arange(syn.n_pre, dtype=np.int64)
                j = s = np.zeros_like(i)
            else:
                i = j = s = np.zeros(1, dtype=np.int64)
            idx = {"syn": s, "post": j, "pre": i, "shared": np.zeros(1, np.int64)}[where]
            S = self.scope(names, i, j, s, step)
            new = {}
            for v in cvars:
                l = S[v.name]
                if v.method == "exact":
                    a, E = c["a:" + v.name], c["E:" + v.name]
                    b = _eval(self.clock[v.name], S)
                    new[v.name] = ((-b / a) + (l + b / a) * E) if a != 0.0 else l + b * dt
                else:
                    new[v.name] = l + dt * _eval(self.clock[v.name], S)
            for name, val in new.items():
                val = np.broadcast_to(np.asarray(val, dtype=np.float64), idx.shape)
                if name == "w":
                    syn.weights[:] = val
                else:
                    self.rule.state["val:" + name][idx] = val


def attach_interpreter(rule, engine, k, projection, network):
    """Run ``rule`` through the per-step Python path with this interpreter."""
    from .base import attach_per_step
    interp = Interpreter(rule, projection, network)
    interp.sched = rule.schedule_steps(network.dt, network.step)
    rule._interp = interp
    attach_per_step(engine, k, projection, network,
                    deliver=not rule._res.receptor_writes)
    # the neuron values the statements read: the post (and pre) state right after
    # this projection's deliveries in the step, before the resets, as the compiled
    # code reads them at the projection's turn (docs/writing-rules.md: on_post and
    # on_step run after all arrivals); a snapshot after the neuron update alone
    # missed the step's deliveries (g_e_post read in on_post / on_step)
    post, pre = projection.post, projection.pre
    interp.post_buf = np.zeros(post.state.size)
    interp.pre_buf = (np.zeros(pre.state.size) if pre.state is not None
                      and pre is not post else None)
    engine.set_python_snapshots(k, interp.post_buf, interp.pre_buf)
