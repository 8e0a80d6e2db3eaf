"""C code for a resolved rule (plasticity.rules.language), compiled at first use.

One C function per rule, ``plasticity_rule_step``, does all of a projection's rule
work for one step (module docstring of ``language``: signals, on_pre, on_post,
on_step, clock-driven updates). The engine calls it through a function pointer
inside its nogil loop with the step's arriving presynaptic spikes (neuron ids, or
synapse ids where per-synapse delays separate them) and the postsynaptic spikes.

Everything the function touches is passed in ``ctx``, an array of pointers whose
layout :class:`Layout` fixes together with the code: parameter values are read from
it at run time, so the compiled code depends only on the rule's text, the weight
dtype and the delay mode, and is cached on disk by the hash of the C source.

Why C through the system compiler: a rule is ~100-300 lines of C that gcc -O3
compiles in ~0.1-0.3 s, against ~3-5 s for a Cython module (it includes Python.h
and goes through Cython first) and ~1-2 s of numba import and JIT per process; the
result is loaded with ctypes, no Python API is involved, and the loops inline
every statement as a hand-written kernel would.
"""
import ast
import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .language import _names

__all__ = ["Layout", "generate", "compile_rule", "CompilerNotFound"]


class CompilerNotFound(RuntimeError):
    """No working C compiler for the rule language."""


_CFUNCS = {"exp": "exp", "log": "log", "log10": "log10", "sqrt": "sqrt",
           "abs": "fabs", "sign": "_pl_sign", "floor": "floor", "ceil": "ceil",
           "sin": "sin", "cos": "cos", "tan": "tan", "tanh": "tanh", "int": "trunc",
           "clip": "_pl_clip", "minimum": "_pl_min", "maximum": "_pl_max"}
_COPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_CCMP = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==",
         ast.NotEq: "!="}

# the hash behind rand()/randn(), shared with the engine (one definition: the header)
_RANDOM_H = (Path(__file__).resolve().parents[1] / "_ext" / "_random.h").read_text()

PRELUDE = r"""
#include <math.h>
#include <stdint.h>
#include <stddef.h>
static inline double _pl_clip(double x, double lo, double hi) {
    return x < lo ? lo : (x > hi ? hi : x);   /* NaN stays NaN, as numpy.clip */
}
static inline double _pl_sign(double x) { return x > 0 ? 1.0 : (x < 0 ? -1.0 : x); }
static inline double _pl_min(double a, double b) { return (a != a || b != b) ? a + b : (a < b ? a : b); }
static inline double _pl_max(double a, double b) { return (a != a || b != b) ? a + b : (a > b ? a : b); }
static inline double _pl_mod(double a, double b) {
    double m = fmod(a, b);
    if (m != 0.0 && ((b < 0) != (m < 0))) m += b;
    return m;
}
/* first position in [lo, hi) of an ascending index run whose value is >= j */
static inline int64_t _pl_lower(const int32_t* idx, int64_t lo, int64_t hi, int64_t j) {
    while (lo < hi) {
        int64_t m = lo + (hi - lo) / 2;
        if (idx[m] < j) lo = m + 1; else hi = m;
    }
    return lo;
}
#define PHASE(x) (phase < 0 || phase == (x))
""" + _RANDOM_H + r"""static inline double _pl_randn(uint64_t seed, int64_t step, int64_t idx, int64_t site) {
    double u1 = 1.0 - _pl_rand(seed, step, idx, 2 * site + 0x8000);   /* in (0, 1] */
    double u2 = _pl_rand(seed, step, idx, 2 * site + 0x8001);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
/* value after k steps of dX/dt = a X + b from x: xinf + (x - xinf) exp(-k c),
   exp(-k c) looked up for k < K (computed by the engine's decay_table, same values) */
static inline double _pl_decay(double x, int64_t k, double c, double xinf,
                               double slope, const double* tab, int64_t K) {
    double e;
    if (k == 0) return x;
    if (c == 0.0) return x + slope * (double)k;
    if (x == xinf) return x;
    if (k < K) e = tab[k];
    else {
        double z = -(double)k * c;
        e = z < -746.0 ? 0.0 : exp(z);
    }
    return xinf + (x - xinf) * e;
}
"""


def c_expr(node, name, sites=None):
    """C source of an expression; ``name(id)`` gives the C expression of a name
    (``name('__idx__')`` the element index for rand()/randn()); ``sites`` numbers the
    rand()/randn() calls (by node id)."""
    def go(n):
        if isinstance(n, ast.Constant):
            return repr(float(n.value))
        if isinstance(n, ast.Name):
            return name(n.id)
        if isinstance(n, ast.BinOp):
            a, b = go(n.left), go(n.right)
            if isinstance(n.op, ast.Pow):
                return f"pow({a}, {b})"
            if isinstance(n.op, ast.Mod):
                return f"_pl_mod({a}, {b})"
            return f"({a} {_COPS[type(n.op)]} {b})"
        if isinstance(n, ast.UnaryOp):
            x = go(n.operand)
            if isinstance(n.op, ast.USub):
                return f"(-{x})"
            if isinstance(n.op, ast.UAdd):
                return x
            return f"((double)!({x} != 0.0))"
        if isinstance(n, ast.Compare):
            parts, left = [], go(n.left)
            for op, comp in zip(n.ops, n.comparators):
                right = go(comp)
                parts.append(f"({left} {_CCMP[type(op)]} {right})")
                left = right
            return f"((double)({' && '.join(parts)}))"
        if isinstance(n, ast.BoolOp):
            j = " && " if isinstance(n.op, ast.And) else " || "
            return "((double)(" + j.join(f"({go(v)} != 0.0)" for v in n.values) + "))"
        if isinstance(n, ast.Call):
            if n.func.id in ("rand", "randn"):
                return (f"_pl_{n.func.id}(seed, step, (int64_t)({name('__idx__')}), "
                        f"{sites[id(n)]})")
            return f"{_CFUNCS[n.func.id]}({', '.join(go(a) for a in n.args)})"
        raise AssertionError(f"unexpected node {ast.dump(n)}")  # parse_rule checked
    return go(node)


class Layout:
    """Where each array and constant of a resolved rule sits in ``ctx``.

    ``slots``: names of the pointer slots in order; ``consts``: names of the double
    constants (``K``) in order; ``ints``: names of the int64 constants (``IK``).
    """

    FIXED = ["K", "IK", "indptr", "indices", "post_ptr", "post_syn", "post_pre", "w",
             "post_state", "pre_state", "pos"]

    def __init__(self, res):
        self.res = res
        self.slots = list(self.FIXED)
        self.consts = ["dt"] + sorted(res.spec.params)
        # ref_row: the post model's refractory row where it holds v (IF, ALIF), v_row:
        # v's row there (else -1): no input onto a held v, as the built-in delivery
        self.ints = ["n_pre", "n_post", "nnz", "every", "n_signals", "ref_row", "v_row",
                     "seed"]
        for v in res.spec.variables.values():
            if v.name == "w":
                continue
            self.slots.append(f"val:{v.name}")
        for where in ("syn", "pre", "post"):
            if any(v.dynamics == "event" for v in res.variables(where)):
                self.slots.append(f"last:{where}")
        for v in res.spec.variables.values():
            if v.dynamics == "event":
                self.slots.append(f"tab:{v.name}")
                self.consts += [f"c:{v.name}", f"xinf:{v.name}", f"slope:{v.name}"]
                self.ints.append(f"K:{v.name}")
            elif v.dynamics == "clock" and v.method == "exact":
                self.consts += [f"a:{v.name}", f"E:{v.name}"]
        # delayed copies: a ring buffer of D + 1 rows of n_post values (D the delay in
        # steps); the row of step k holds the source's value at the start of step k
        self.delayed = sorted(res.spec.delayed)
        for name in self.delayed:
            self.slots.append(f"hist:{name}")
            self.ints.append(f"D1:{name}")
        # shared inputs: a schedule (steps, amounts, position) and spike counts
        self.shared = [v.name for v in res.variables("shared")]
        for name in self.shared:
            self.slots += [f"sched_steps:{name}", f"sched_amt:{name}", f"sched_pos:{name}"]
            self.ints.append(f"sched_len:{name}")
        self.max_signals = 4
        self.slots.append("signal_gain")
        for k in range(self.max_signals):
            self.slots.append(f"signal:{k}")
        self.ints += [f"signal_var:{k}" for k in range(self.max_signals)]

    def slot(self, name):
        return self.slots.index(name)


def generate(res, is64, post_order=False):
    """C source of ``plasticity_rule_step`` for a resolved rule. With
    ``post_order`` the weights are read and written in post-synaptic order
    (``W[q]`` in the post-spike loop, ``W[pos[s]]`` elsewhere), as the built-in
    kernels do during long runs: the post-spike loop then walks memory
    sequentially."""
    L = Layout(res)
    spec = res.spec
    V = spec.variables
    real = "double" if is64 else "float"
    out = [PRELUDE, f"typedef {real} real_t;", ""]
    emit = out.append

    def decl_ptr(ctype, slot, cname):
        emit(f"    {ctype}* {cname} = ({ctype}*)ctx[{L.slot(slot)}];")

    # phase: -1 all in order (one thread); with threads the engine calls 0, 2, 4, 6 on
    # one thread and 1, 3, 5 on every thread for its postsynaptic range [j0, j1)
    emit("void plasticity_rule_step(void** ctx, const int32_t* pre_spk, int64_t n_pre_spk,")
    emit("                          int is_syn, const int32_t* post_spk, int64_t n_post_spk,")
    emit("                          int64_t step, int64_t j0, int64_t j1, int phase) {")
    decl_ptr("const double", "K", "K")
    decl_ptr("const int64_t", "IK", "IK")
    decl_ptr("const int64_t", "indptr", "indptr")
    decl_ptr("const int32_t", "indices", "indices")
    decl_ptr("const int64_t", "post_ptr", "post_ptr")
    decl_ptr("const int32_t", "post_syn", "post_syn")
    decl_ptr("const int32_t", "post_pre", "post_pre")
    decl_ptr("real_t", "w", "W")
    decl_ptr("double", "post_state", "post_state")
    decl_ptr("double", "pre_state", "pre_state")
    decl_ptr("const int32_t", "pos", "pos")
    emit(f"    const int64_t n_pre = IK[{L.ints.index('n_pre')}];")
    emit(f"    const int64_t n_post = IK[{L.ints.index('n_post')}];")
    emit(f"    const int64_t every = IK[{L.ints.index('every')}];")
    emit(f"    const int64_t n_signals = IK[{L.ints.index('n_signals')}];")
    emit(f"    const int64_t ref_row = IK[{L.ints.index('ref_row')}];")
    emit(f"    const int64_t v_row = IK[{L.ints.index('v_row')}];")
    emit("    (void)ref_row; (void)v_row;")
    emit(f"    const uint64_t seed = (uint64_t)IK[{L.ints.index('seed')}]; (void)seed;")
    emit(f"    const double dt = K[0];")
    emit(f"    const double t = (double)step * dt;")
    emit("    int64_t k, q, s, i, j, ws;   /* ws: where synapse s's weight is in W */")
    emit("    (void)pos; (void)ws;")
    emit("    (void)n_pre; (void)n_post; (void)every; (void)t; (void)q; (void)s; (void)i;")
    emit("    (void)j; (void)k; (void)indptr; (void)indices; (void)post_ptr; (void)post_syn;")
    emit("    (void)post_pre; (void)W; (void)post_state; (void)pre_state; (void)n_signals;")
    for p in sorted(spec.params):
        emit(f"    const double p_{p} = K[{L.consts.index(p)}]; (void)p_{p};")
    for v in V.values():
        n = v.name
        if n != "w":
            decl_ptr("double", f"val:{n}", f"A_{n}")
        if v.dynamics == "event":
            decl_ptr("const double", f"tab:{n}", f"T_{n}")
            emit(f"    const double c_{n} = K[{L.consts.index('c:' + n)}];")
            emit(f"    const double xinf_{n} = K[{L.consts.index('xinf:' + n)}];")
            emit(f"    const double slope_{n} = K[{L.consts.index('slope:' + n)}];")
            emit(f"    const int64_t K_{n} = IK[{L.ints.index('K:' + n)}];")
        elif v.dynamics == "clock" and v.method == "exact":
            emit(f"    const double a_{n} = K[{L.consts.index('a:' + n)}];")
            emit(f"    const double E_{n} = K[{L.consts.index('E:' + n)}];")
    for where in ("syn", "pre", "post"):
        if f"last:{where}" in L.slots:
            decl_ptr("int64_t", f"last:{where}", f"last_{where}")
    for n in L.delayed:
        decl_ptr("double", f"hist:{n}", f"H_{n}")
        emit(f"    const int64_t D1_{n} = IK[{L.ints.index('D1:' + n)}];")
        # the row read in this step (the value D steps ago) is the row written at
        # its end (the value at the start of the next step)
        emit(f"    const int64_t R_{n} = ((step + 1) % D1_{n}) * n_post; (void)R_{n};")

    def decayed(n, index, where):
        """C expression: variable n (event-driven) at this step."""
        return (f"_pl_decay(A_{n}[{index}], step - last_{where}[{index}], c_{n}, "
                f"xinf_{n}, slope_{n}, T_{n}, K_{n})")

    def current(n, i_expr, j_expr, s_expr):
        """C expression: value of variable n now (decayed where event-driven)."""
        v = V[n]
        if n == "w":
            return "(double)W[ws]"
        index = {"syn": s_expr, "pre": i_expr, "post": j_expr, "shared": "0"}[v.where]
        if v.dynamics == "event":
            return decayed(n, index, v.where)
        return f"A_{n}[{index}]"

    def namer(locals_):
        def name(n):
            if n in locals_:
                return locals_[n]
            if n == "__idx__":
                return "0"
            kind = res.lookup(n, "model", 0, "")
            if kind[0] == "param":
                return f"p_{n}"
            if kind[0] == "unit":
                return "INFINITY" if kind[1] == float("inf") else repr(float(kind[1]))
            if kind[0] == "t":
                return "t"
            if kind[0] == "dt":
                return "dt"
            if kind[0] == "post":
                return f"post_state[{kind[1]} * n_post + j]"
            if kind[0] == "pre":
                return f"pre_state[{kind[1]} * n_pre + i]"
            if kind[0] == "var" and V[n].where == "shared":
                return f"A_{n}[0]"
            if kind[0] == "delayed":
                return f"H_{n}[R_{n} + j]"
            raise AssertionError(n)
        return name

    def block_names(stmts):
        names = set()
        for st in stmts:
            names |= _names(st.value_expr())
            if st.kind[0] == "var":
                names.add(st.target)
        return names

    def run_statements(stmts, locals_, indent, only=None):
        name = namer(locals_)
        for st in stmts:
            if only is not None and st.target not in only:
                continue
            if st.kind[0] == "post":
                row = st.kind[1]
                val = c_expr(st.expr, name, res.random_sites)
                sign = {ast.Add: "+=", ast.Sub: "-=", ast.Mult: "*=", ast.Div: "/="}[
                    type(st.op)]
                emit(f"{indent}if ({row} != v_row || post_state[ref_row * n_post + j] <= 0.0)")
                emit(f"{indent}    post_state[{row} * n_post + j] {sign} {val};")
                continue
            target = locals_[st.target] if st.target in locals_ else name(st.target)
            emit(f"{indent}{target} = {c_expr(st.value_expr(), name, res.random_sites)};")

    WS_ROW = "pos[s]" if post_order else "s"
    WS_POST = "q" if post_order else "s"
    owns = bool(res.receptor_writes)
    target_row = "IK[%d]" % len(L.ints)
    L.ints.append("target_row")

    # ---- shared inputs: schedules and spike-count signals
    emit("    if (PHASE(0)) {")
    for n in L.shared:
        decl_ptr("const int64_t", f"sched_steps:{n}", f"SS_{n}")
        decl_ptr("const double", f"sched_amt:{n}", f"SA_{n}")
        decl_ptr("int64_t", f"sched_pos:{n}", f"SP_{n}")
        emit(f"    while (SP_{n}[0] < IK[{L.ints.index('sched_len:' + n)}] && "
             f"SS_{n}[SP_{n}[0]] <= step) {{")
        emit(f"        if (SS_{n}[SP_{n}[0]] == step) A_{n}[0] += SA_{n}[SP_{n}[0]];")
        emit(f"        SP_{n}[0] += 1;")
        emit("    }")
    if L.shared:
        decl_ptr("const double", "signal_gain", "SG")
        emit("    for (k = 0; k < n_signals; k++) {")
        emit(f"        const int64_t* cnt = (const int64_t*)ctx[{L.slot('signal:0')} + k];")
        emit(f"        const int64_t var = IK[{L.ints.index('signal_var:0')} + k];")
        for m, n in enumerate(L.shared):
            emit(f"        if (var == {m}) A_{n}[0] += SG[k] * (double)cnt[0];")
        emit("    }")
    emit("    }")

    def plan(stmts, where):
        """(read, store, touch_last) for the variables at ``where`` in a block: an
        event-driven variable written there brings all of that place's event-driven
        variables up to this step (they share one 'last update' step)."""
        names = block_names(stmts)
        if where == "syn":
            names = names | {"w"}
        read = [n for n in sorted(names) if n in V and V[n].where == where]
        written = {st.target for st in stmts if st.kind[0] == "var"
                   and V[st.target].where == where}
        evs = [v.name for v in res.variables(where) if v.dynamics == "event"]
        touch = any(n in written for n in evs)
        if touch:
            read = sorted(set(read) | set(evs))
        store = sorted(written | (set(evs) if touch else set()))
        return read, store, touch

    def synapse_tail(s_store, s_touch, unused, ind):
        """After a synapse's statements: store its variables (and its last update
        step), and silence the loaded values the statements did not use."""
        stores(s_store, ind, "s")
        if s_touch:
            emit(f"{ind}last_syn[s] = step;")
        for n in unused:
            emit(f"{ind}(void)l_{n};")

    def loads(names, ind, loc, prefix="l_", src=None):
        for n in names:
            emit(f"{ind}double {prefix}{n} = {src[n] if src else current(n, 'i', 'j', 's')};")
            loc[n] = f"{prefix}{n}"

    def stores(names, ind, index, prefix="l_"):
        for n in names:
            if n == "w":
                emit(f"{ind}W[ws] = (real_t){prefix}w;")
            else:
                emit(f"{ind}A_{n}[{index}] = {prefix}{n};")

    # ---- on_pre
    pre_stmts = res.blocks["on_pre"]
    if pre_stmts or not owns:
        s_read, s_store, s_touch = plan(pre_stmts, "syn")
        n_read, n_store, n_touch = plan(pre_stmts, "pre")
        post_read = [n for n in sorted(block_names(pre_stmts)) if n in V
                     and V[n].where == "post"]

        def pre_synapse_body(ind):
            emit(f"{ind}j = indices[s];")
            emit(f"{ind}if (j < j0 || j >= j1) continue;   /* another thread's */")
            emit(f"{ind}ws = {WS_ROW};")
            loc = {"__idx__": "s"}
            loads(s_read, ind, loc)
            if not owns:
                emit(f"{ind}if ({target_row} != v_row || post_state[ref_row * n_post + j] <= 0.0)")
                emit(f"{ind}    post_state[{target_row} * n_post + j] += l_w;")
            loads(n_read, ind, loc, src={n: f"P_{n}" for n in n_read})
            loads(post_read, ind, loc)
            run_statements(pre_stmts, loc, ind)
            synapse_tail(s_store, s_touch, n_read + post_read, ind)

        # phase 1: the arriving synapses (of this thread's postsynaptic range)
        emit("    if (PHASE(1) && !is_syn) {")
        emit("        for (k = 0; k < n_pre_spk; k++) {")
        emit("            i = pre_spk[k];")
        emit("            if (indptr[i] == indptr[i + 1]) continue;  /* no synapse, no state */")
        loc = {}
        loads(n_read, "            ", loc, prefix="P_")
        emit("            for (s = j0 > 0 ? _pl_lower(indices, indptr[i], indptr[i + 1], j0)")
        emit("                            : indptr[i]; s < indptr[i + 1]; s++) {")
        emit("                if (indices[s] >= j1) break;")
        pre_synapse_body("                ")
        emit("            }")
        for n in n_read:
            emit(f"            (void)P_{n};")
        emit("        }")
        emit("    } else if (PHASE(1)) {")
        emit("        for (k = 0; k < n_pre_spk; k++) {")
        emit("            s = pre_spk[2 * k];        /* (synapse, its presynaptic neuron) */")
        emit("            i = pre_spk[2 * k + 1];")
        loads(n_read, "            ", {}, prefix="P_")
        pre_synapse_body("            ")
        emit("        }")
        emit("    }")
        # phase 2: the presynaptic neurons' own variables, once per arriving row (they
        # depend on that neuron's values alone: after its synapses, as before them)
        pre_targets = {st.target for st in pre_stmts if st.kind[0] == "var"
                       and V[st.target].where == "pre"}
        if pre_targets:
            emit("    if (PHASE(2) && !is_syn) {")
            emit("        for (k = 0; k < n_pre_spk; k++) {")
            emit("            i = pre_spk[k];")
            emit("            if (indptr[i] == indptr[i + 1]) continue;")
            loc = {}
            loads(n_read, "            ", loc, prefix="P_")
            run_statements(pre_stmts, loc, "            ", only=pre_targets)
            stores(n_store, "            ", "i", prefix="P_")
            if n_touch:
                emit("            last_pre[i] = step;")
            for n in n_read:
                emit(f"            (void)P_{n};")
            emit("        }")
            emit("    }")

    # ---- on_post
    post_stmts = res.blocks["on_post"]
    if post_stmts:
        s_read, s_store, s_touch = plan(post_stmts, "syn")
        n_read, n_store, n_touch = plan(post_stmts, "post")
        pre_read = [n for n in sorted(block_names(post_stmts)) if n in V
                    and V[n].where == "pre"]
        emit("    if (PHASE(3)) for (k = 0; k < n_post_spk; k++) {")
        emit("        j = post_spk[k];")
        emit("        if (j < j0 || j >= j1 || post_ptr[j] == post_ptr[j + 1]) continue;")
        nloc = {}
        loads(n_read, "        ", nloc, prefix="P_")
        emit("        for (q = post_ptr[j]; q < post_ptr[j + 1]; q++) {")
        emit("            s = post_syn[q];")
        emit("            i = post_pre[q];")
        emit(f"            ws = {WS_POST};")
        loc = {"__idx__": "s"}
        ind = "            "
        loads(s_read, ind, loc)
        loads(n_read, ind, loc, src={n: f"P_{n}" for n in n_read})
        loads(pre_read, ind, loc)
        run_statements(post_stmts, loc, ind)
        synapse_tail(s_store, s_touch, n_read + pre_read, ind)
        emit("        }")
        run_statements(post_stmts, nloc, "        ",
                       only={st.target for st in post_stmts if st.kind[0] == "var"
                             and V[st.target].where == "post"})
        stores(n_store, "        ", "j", prefix="P_")
        if n_touch:
            emit("        last_post[j] = step;")
        for n in n_read:
            emit(f"        (void)P_{n};")
        emit("    }")

    # ---- on_step: shared statements once, the others per synapse
    step_stmts = res.blocks["on_step"]
    if step_stmts:
        shared_st = [st for st in step_stmts if st.kind[0] == "var"
                     and V[st.target].where == "shared"]
        syn_st = [st for st in step_stmts if st not in shared_st]
        emit("    if (PHASE(4) && step % every == 0) {")
        run_statements(shared_st, {}, "        ")
        emit("    }")
        emit("    if (PHASE(5) && step % every == 0) {")
        gates = res.post_gates(syn_st) if syn_st else None
        if syn_st and gates is not None:
            # gated (language.Resolved.post_gates): per postsynaptic neuron, the
            # factors of each change that read only it; a zero skips the statement
            s_read, s_store, s_touch = plan(syn_st, "syn")
            nb = [n for n in sorted(block_names(syn_st)) if n in V
                  and V[n].where in ("pre", "post")]
            gnames = set()
            for g in gates:
                gnames |= _names(g)
            gpost = [n for n in sorted(gnames) if n in V and V[n].where == "post"]
            emit("        for (j = j0; j < j1; j++) {")
            gloc = {}
            loads(gpost, "            ", gloc, prefix="g_")
            gname = namer(gloc)
            for k, g in enumerate(gates):
                emit(f"            const double gate{k} = {c_expr(g, gname, res.random_sites)};")
            emit("            if (" + " && ".join(f"gate{k} == 0.0" for k in range(len(gates)))
                 + ") continue;")
            emit("            for (q = post_ptr[j]; q < post_ptr[j + 1]; q++) {")
            ind = "                "
            emit(f"{ind}s = post_syn[q];")
            emit(f"{ind}i = post_pre[q];")
            emit(f"{ind}ws = {WS_POST};")
            loc = {"__idx__": "s"}
            loads(s_read + nb, ind, loc)
            for k, st in enumerate(syn_st):
                emit(f"{ind}if (gate{k} != 0.0) {{")
                run_statements([st], loc, ind + "    ")
                emit(f"{ind}}}")
            synapse_tail(s_store, s_touch, nb, ind)
            emit("            }")
            for n in gpost:
                emit(f"            (void)g_{n};")
            emit("        }")
        elif syn_st:
            s_read, s_store, s_touch = plan(syn_st, "syn")
            nb = [n for n in sorted(block_names(syn_st)) if n in V
                  and V[n].where in ("pre", "post")]
            ind = "                "
            emit("        for (i = 0; i < n_pre; i++) {")
            loc = {"__idx__": "s"}
            # values of the presynaptic neuron once per row, not per synapse (an
            # event-driven one is a decay-table lookup: 1.6x on Clopath's step)
            loads([n for n in nb if V[n].where == "pre"], "            ", loc)
            emit("            for (s = j0 > 0 ? _pl_lower(indices, indptr[i], indptr[i + 1], j0)")
            emit("                            : indptr[i]; s < indptr[i + 1]; s++) {")
            emit(f"{ind}j = indices[s];")
            emit(f"{ind}if (j >= j1) break;")
            emit(f"{ind}ws = {WS_ROW};")
            loads(s_read + [n for n in nb if V[n].where != "pre"], ind, loc)
            run_statements(syn_st, loc, ind)
            synapse_tail(s_store, s_touch, nb, ind)
            emit("            }")
            emit("        }")
        emit("    }")

    # ---- clock-driven updates from t to t + dt (synapses first: they read the
    # neurons' and shared values before these are updated, as the others do)
    for where in ("syn", "post", "pre", "shared"):
        cvars = [v for v in res.variables(where) if v.dynamics == "clock"]
        if not cvars:
            continue
        ind = "        "
        if where == "syn":      # phase 5: this thread's postsynaptic range
            emit("    if (PHASE(5)) for (i = 0; i < n_pre; i++) {")
            emit("        for (s = j0 > 0 ? _pl_lower(indices, indptr[i], indptr[i + 1], j0)")
            emit("                        : indptr[i]; s < indptr[i + 1]; s++) {")
            emit("            j = indices[s];")
            emit("            if (j >= j1) break;")
            emit(f"            ws = {WS_ROW};")
            ind = "            "
        elif where == "post":
            emit("    if (PHASE(5)) for (j = j0; j < j1; j++) {")
        elif where == "pre":    # phase 6: one thread
            emit("    if (PHASE(6)) for (i = 0; i < n_pre; i++) {")
        else:
            emit("    if (PHASE(6)) {")
        names = set()
        for v in cvars:
            names |= _names(v.rhs_resolved) | {v.name}
        loc = {}
        for n in sorted(names):
            if n in V and (V[n].where != "shared" or where == "shared"):
                emit(f"{ind}double l_{n} = {current(n, 'i', 'j', 's')};")
                loc[n] = f"l_{n}"
        name = namer(loc)
        for v in cvars:
            n = v.name
            if v.method == "exact":
                b = c_expr(v.lin_b, name)
                emit(f"{ind}double b_{n} = {b};")
                emit(f"{ind}double n_{n} = a_{n} != 0.0 ? "
                     f"(-b_{n} / a_{n}) + (l_{n} + b_{n} / a_{n}) * E_{n} : "
                     f"l_{n} + b_{n} * dt;")
            else:
                emit(f"{ind}double n_{n} = l_{n} + dt * ({c_expr(v.rhs_resolved, name)});")
        for v in cvars:
            n = v.name
            index = {"syn": "s", "pre": "i", "post": "j", "shared": "0"}[where]
            if n == "w":
                emit(f"{ind}W[ws] = (real_t)n_w;")
            else:
                emit(f"{ind}A_{n}[{index}] = n_{n};")
        if where == "syn":
            emit("        }")
        emit("    }")
    # ---- delayed copies: record their sources' values at the start of the next
    # step (after every update of this step) in the row read D steps later
    if L.delayed:
        emit("    if (PHASE(5)) for (j = j0; j < j1; j++) {")
        for n in L.delayed:
            src = spec.delayed[n].source
            v = V[src]
            if v.dynamics == "event":
                val = (f"_pl_decay(A_{src}[j], step + 1 - last_post[j], c_{src}, "
                       f"xinf_{src}, slope_{src}, T_{src}, K_{src})")
            else:
                val = f"A_{src}[j]"
            emit(f"        H_{n}[R_{n} + j] = {val};")
        emit("    }")
    emit("}")
    code = "\n".join(out) + "\n"
    # the phases with code, for the threaded engine: everything of a phase call is
    # inside its PHASE(k) blocks, so a phase without one does nothing, and the engine
    # leaves it out with its barrier (the same numbers, fewer barriers per step)
    L.phases = sorted({int(k) for k in re.findall(r"\bPHASE\((\d)\)", code)})
    return code, L


# ----------------------------------------------------------------------------
# compilation and the on-disk cache
# ----------------------------------------------------------------------------
def cache_dir():
    """``$PLASTICITY_CACHE`` or ``~/.cache/plasticity``, + ``/rules``."""
    base = os.environ.get("PLASTICITY_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"),
                                                         ".cache"), "plasticity")
    return os.path.join(base, "rules")


def _compiler():
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") \
        or shutil.which("clang")
    if not cc:
        raise CompilerNotFound(
            "the rule language needs a C compiler and none was found (looked for $CC, "
            "cc, gcc, clang): install one (Debian/Ubuntu: 'apt install gcc'; macOS: "
            "'xcode-select --install'; conda: 'conda install c-compiler'), or run the "
            "rule in the NumPy interpreter with EquationRule(..., backend='numpy')")
    return cc


_FLAGS = ["-O3", "-fPIC", "-shared", "-ffp-contract=off", "-fno-math-errno", "-w"]
_LOADED = {}


def compile_rule(source):
    """Compile (or take from the cache) the C ``source``; return the loaded library
    and the address of ``plasticity_rule_step``."""
    key = hashlib.sha256((source + "\0" + " ".join(_FLAGS) + "\0" + sys.platform)
                         .encode()).hexdigest()[:32]
    if key in _LOADED:
        return _LOADED[key]
    d = cache_dir()
    path = os.path.join(d, f"rule_{key}.so")
    if not os.path.exists(path):
        cc = _compiler()
        try:
            os.makedirs(d, exist_ok=True)
        except OSError as e:
            raise RuntimeError(f"cannot create the rule cache directory {d!r} ({e}); "
                               "set PLASTICITY_CACHE to a writable directory") from None
        with tempfile.TemporaryDirectory(dir=d) as tmp:
            src = os.path.join(tmp, "rule.c")
            with open(src, "w") as f:
                f.write(source)
            so = os.path.join(tmp, "rule.so")
            try:
                proc = subprocess.run([cc, *_FLAGS, "-o", so, src, "-lm"],
                                      capture_output=True, text=True)
            except OSError as e:
                raise CompilerNotFound(f"the C compiler {cc!r} could not be run ({e}); "
                                       "install gcc or set CC") from None
            if proc.returncode != 0:
                raise RuntimeError(
                    f"compiling the rule failed ({cc}); this is a bug in plasticity's "
                    f"code generator, please report it with the rule's text.\n"
                    f"{proc.stderr[-2000:]}")
            os.replace(so, path)   # atomic: a reader never sees a half-written file
    lib = ctypes.CDLL(path)
    addr = ctypes.cast(lib.plasticity_rule_step, ctypes.c_void_p).value
    _LOADED[key] = (lib, addr, path)
    return _LOADED[key]
