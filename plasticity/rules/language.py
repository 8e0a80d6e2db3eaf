"""The rule language: plasticity rules written as equations and statements.

A rule is text in a compatible subset of Brian2's ``Synapses`` syntax: a ``model``
that declares variables and their dynamics, and the statements run ``on_pre`` (a
presynaptic spike arrives at a synapse), ``on_post`` (the postsynaptic neuron spiked)
and ``on_step`` (every step, or every ``step_every`` ms)::

    vogels_sprekeler = EquationRule(
        model='''
        dApre/dt = -Apre / tau_stdp : 1 (event-driven)
        dApost/dt = -Apost / tau_stdp : 1 (event-driven)
        ''',
        on_pre='''
        Apre += 1
        w = clip(w + eta * (Apost - alpha), 0, w_max)
        ''',
        on_post='''
        Apost += 1
        w = clip(w + eta * Apre, 0, w_max)
        ''',
        params=dict(tau_stdp=20.0, eta=1e-3, alpha=0.12, w_max=10.0))

This module parses and checks the text (every mistake is a :class:`RuleSyntaxError`
naming the block, the line and the name) and analyses it into a :class:`RuleSpec`:
where each variable lives (per synapse, per presynaptic or postsynaptic neuron, or
shared), how it evolves between events, and the statements of each block as Python
``ast`` expressions. Two back ends execute a spec with the same semantics:
``_codegen`` (C, compiled at first use, run inside the engine's nogil loop) and
``_interpreter`` (plain NumPy, the reference the compiled code is tested against).

Semantics (docs/writing-rules.md):

- Units are ms, mV, nS, pA (the engine's); unit names in expressions are scale
  factors into them (``20*ms`` is 20, ``1*second`` is 1000, ``Hz`` is 1e-3 per ms).
  The unit after ``:`` in a declaration is checked to be a unit expression and
  otherwise only documents the variable.
- ``w`` is the synaptic weight (the projection's ``SynapseMatrix.weights``); the
  other variables are the rule's own, 0 unless ``init`` says otherwise.
- ``(event-driven)`` equations must be linear in their variable with constant
  coefficients (``-x/tau``, ``(1 - x)/tau``); they are solved exactly between the
  events that touch the variable. ``(clock-driven)`` equations are integrated every
  step: exactly (exponential Euler) when linear in their variable with a constant
  coefficient, else by forward Euler (``method='euler'`` forces it).
- A variable lives per presynaptic neuron when only ``on_pre`` changes it, from
  values of that neuron alone (``Apre += 1``), and no per-synapse delays separate
  its synapses' arrivals; per postsynaptic neuron likewise for ``on_post``; else per
  synapse. The flags ``(pre)`` / ``(post)`` demand it, ``(shared)`` makes one value
  for the whole projection (a neuromodulator, a reward). Results do not depend on
  the placement (a per-neuron trace equals every one of its synapses' copies).
- ``x_d = delayed(x, D) : unit`` declares a read-only delayed copy: ``x`` as it was
  at the start of the step ``D / dt`` steps earlier (its value at the start of the
  run before that). ``x`` must live per postsynaptic neuron, ``D`` (ms) is an
  expression of parameters, units and numbers, >= 0 and a whole number of steps.
  Each copy is a ring buffer of D/dt + 1 rows of one value per postsynaptic neuron,
  written at the end of each step (after the clock-driven updates) for the neurons
  of the thread that owns them; ``delayed()`` anywhere else is an error.
- Names of the postsynaptic neuron's variables read it (``v_post``, or ``v`` where
  the rule has no ``v`` of its own), as the neuron is in this step before its reset;
  ``X_pre`` reads the presynaptic neuron. Assigning to a receptor of the
  postsynaptic model (``g_e += w``) makes the rule own the delivery; without such a
  statement the engine delivers ``w`` to the projection's target before ``on_pre``.
- Order within a step, per projection (after every population's update, before
  the resets): shared-signal inputs, then ``on_pre`` per arriving synapse (rows in
  spike order, synapses in row order), ``on_post`` per synapse of each spiking
  postsynaptic neuron, ``on_step``, then the clock-driven updates from t to t + dt,
  then the delayed copies record their sources.
"""
import ast
import math
import re
import textwrap
from collections.abc import Mapping

import numpy as np

__all__ = ["RuleSyntaxError", "RuleSpec", "parse_rule", "UNITS", "FUNCTIONS"]


class RuleSyntaxError(ValueError):
    """A mistake in a rule's text; the message names the block, line and name."""


#: unit names and their value in the engine's units (ms, mV, nS, pA)
UNITS = {
    "ms": 1.0, "second": 1000.0, "msecond": 1.0, "usecond": 1e-3, "us": 1e-3,
    "Hz": 1e-3, "kHz": 1.0, "hertz": 1e-3,
    "mV": 1.0, "volt": 1000.0, "uV": 1e-3, "mvolt": 1.0,
    "nS": 1.0, "siemens": 1e9, "uS": 1e3, "mS": 1e6, "pS": 1e-3, "nsiemens": 1.0,
    "pA": 1.0, "amp": 1e12, "nA": 1e3, "uA": 1e6, "pamp": 1.0, "namp": 1e3,
    "pF": 1.0, "nF": 1e3, "farad": 1e12, "Mohm": 1.0, "ohm": 1e-6, "Gohm": 1e3,
    "inf": math.inf,
}

#: functions allowed in expressions: name -> number of arguments
FUNCTIONS = {"exp": 1, "log": 1, "log10": 1, "sqrt": 1, "abs": 1, "sign": 1,
             "floor": 1, "ceil": 1, "sin": 1, "cos": 1, "tan": 1, "tanh": 1,
             "int": 1, "clip": 3, "minimum": 2, "maximum": 2,
             # random numbers, statements only: uniform in [0, 1) and standard normal,
             # from a counter-based hash of (seed, step, element, call site), so the
             # same config + seed gives the same numbers in either back end
             "rand": 0, "randn": 0}
RANDOM = ("rand", "randn")

# names that cannot be declared (nor named like a unit: _unit_name)
_RESERVED = {"t", "dt", "w", "i", "j", "lastupdate", "N", "inf", "delayed"} | set(FUNCTIONS)
_FLAGS = {"event-driven", "clock-driven", "shared", "pre", "post", "constant"}
_UNIT_RE = re.compile(r"^[\sA-Za-z0-9_*/().+-]*$")


class Variable:
    """A declared variable: ``name``, ``where`` ('syn', 'pre', 'post', 'shared'),
    ``dynamics`` (None, 'event' or 'clock') and, for dynamics, the right-hand side."""

    def __init__(self, name, unit, flags, rhs=None, line=None, dynamics=None):
        self.name = name
        self.unit = unit
        self.flags = flags
        self.rhs = rhs            # ast expression of dX/dt
        self.line = line
        self.dynamics = dynamics
        self.where = None
        # linear form dX/dt = a X + b: a (ast, constant), b (ast, X-free)
        self.lin_a = None
        self.lin_b = None
        self.method = None        # 'exact' or 'euler' (clock-driven)

    def __repr__(self):
        return (f"Variable({self.name!r}, where={self.where!r}, "
                f"dynamics={self.dynamics!r})")


class Statement:
    """``target op= expr`` of a block; ``op`` is None for ``=``."""

    def __init__(self, target, op, expr, block, lineno, text):
        self.target = target
        self.op = op
        self.expr = expr
        self.block = block
        self.lineno = lineno
        self.text = text

    def value_expr(self):
        """The assigned value as one expression (``x += e`` is ``x + (e)``)."""
        if self.op is None:
            return self.expr
        return ast.BinOp(left=ast.Name(id=self.target, ctx=ast.Load()), op=self.op,
                         right=self.expr)


class Delayed:
    """``name = delayed(source, delay) : unit``: the value ``source`` (a variable
    that lives per postsynaptic neuron) had ``delay`` ms ago (``delay`` an expression
    of parameters and units, a whole number of steps), read-only."""

    def __init__(self, name, source, delay, unit, line):
        self.name = name
        self.source = source
        self.delay = delay        # ast expression (parameters, units, numbers)
        self.unit = unit
        self.line = line

    def __repr__(self):
        return f"Delayed({self.name!r}, source={self.source!r})"


class RuleSpec:
    """A parsed and checked rule (see the module docstring). Built by
    :func:`parse_rule`; :meth:`resolve` places the variables for a projection."""

    def __init__(self):
        self.variables = {}
        self.subexpressions = {}
        self.delayed = {}         # name -> Delayed (read-only delayed copies)
        self.blocks = {"on_pre": [], "on_post": [], "on_step": []}
        self.params = {}
        self.text = ""


def _fail(block, lineno, line, msg):
    where = f"{block} line {lineno}" if lineno else block
    raise RuleSyntaxError(f"{where} ({line.strip()!r}): {msg}")


def _lines(text):
    """(lineno, line) of the non-empty lines, comments stripped."""
    out = []
    for k, raw in enumerate(textwrap.dedent(text or "").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if line:
            out.append((k, line))
    return out


#: the deepest expression tree accepted (after subexpressions are substituted): far
#: beyond any rule's (Clopath's deepest is ~12), well within what Python's parser and
#: compiler take in the NumPy interpreter (~200 nested parentheses) and the code
#: generator's recursion
MAX_DEPTH = 60

_TOO_DEEP = (f"the expression is nested too deeply (more than {MAX_DEPTH} levels, e.g. "
             f"a sum of more than ~{MAX_DEPTH} terms); split it into variables "
             f"computed by several statements")


def _depth(node):
    """Depth of an expression tree (iterative: no recursion limit)."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        n, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((c, d + 1) for c in ast.iter_child_nodes(n)
                     if not isinstance(c, (ast.expr_context, ast.operator, ast.unaryop,
                                           ast.cmpop, ast.boolop)))
    return deepest


def _parse_expr(src, block, lineno, line):
    try:
        node = ast.parse(src.strip(), mode="eval").body
    except SyntaxError as e:
        _fail(block, lineno, line, f"not an expression: {e.msg}")
    except (RecursionError, MemoryError):
        _fail(block, lineno, line, _TOO_DEEP)
    _check_expr(node, block, lineno, line)
    return node


_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.Mod)
_CMPOPS = (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq)


def _check_expr(node, block, lineno, line):
    """Only arithmetic, comparisons, and/or/not, numbers, names and FUNCTIONS."""
    if _depth(node) > MAX_DEPTH:
        _fail(block, lineno, line, _TOO_DEEP)
    for sub in ast.walk(node):
        if isinstance(sub, (ast.Expression, ast.Load, ast.operator, ast.unaryop,
                            ast.cmpop, ast.boolop, ast.Name)):
            if isinstance(sub, ast.operator) and not isinstance(sub, _BINOPS):
                _fail(block, lineno, line, f"operator {type(sub).__name__} is not "
                      "allowed (use + - * / ** %)")
            if isinstance(sub, ast.cmpop) and not isinstance(sub, _CMPOPS):
                _fail(block, lineno, line, f"comparison {type(sub).__name__} is not "
                      "allowed")
            continue
        if isinstance(sub, (ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp)):
            continue
        if isinstance(sub, ast.Constant):
            if isinstance(sub.value, bool) or (isinstance(sub.value, (int, float))
                                               and math.isfinite(sub.value)):
                continue
            _fail(block, lineno, line, f"constant {sub.value!r} is not a finite number")
        if isinstance(sub, ast.Call):
            if isinstance(sub.func, ast.Name) and sub.func.id == "delayed":
                _fail(block, lineno, line, "delayed() declares a delayed copy on a model "
                      "line of its own, as the whole right-hand side: "
                      "'x_d = delayed(x, 4*ms) : mV'; read x_d in expressions")
            if not isinstance(sub.func, ast.Name) or sub.func.id not in FUNCTIONS:
                fname = getattr(sub.func, "id", ast.unparse(sub.func))
                _fail(block, lineno, line, f"unknown function {fname!r}; allowed: "
                      f"{', '.join(sorted(FUNCTIONS))}")
            if sub.keywords or len(sub.args) != FUNCTIONS[sub.func.id]:
                _fail(block, lineno, line, f"{sub.func.id}() takes "
                      f"{FUNCTIONS[sub.func.id]} positional argument(s)")
            continue
        _fail(block, lineno, line, f"{type(sub).__name__} is not allowed in a rule "
              "expression")


def _calls(node):
    """Names of the functions an expression calls."""
    return {n.func.id for n in ast.walk(node) if isinstance(n, ast.Call)}


def _names(node):
    """Names read by an expression (function names excluded)."""
    funcs = {id(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and id(n) not in funcs}


def _check_unit(unit, block, lineno, line):
    if not _UNIT_RE.match(unit):
        _fail(block, lineno, line, f"unit {unit!r} is not a unit expression")
    for tok in re.findall(r"[A-Za-z_]\w*", unit):
        if tok not in UNITS:
            _fail(block, lineno, line, f"unknown unit {tok!r}; units: 1, "
                  f"{', '.join(sorted(UNITS))}")


def _split_decl(line, block, lineno):
    """'lhs : unit (flags)' -> lhs, unit, flags."""
    if ":" not in line:
        _fail(block, lineno, line, "a declaration needs ': unit' (e.g. 'x : 1')")
    lhs, rest = line.rsplit(":", 1)
    flags = set()
    m = re.match(r"^(.*?)\(([^()]*)\)\s*$", rest)
    if m and m.group(2).strip() and _looks_like_flags(m.group(2)):
        rest, flagtext = m.group(1), m.group(2)
        flags = {f.strip() for f in flagtext.split(",") if f.strip()}
        unknown = flags - _FLAGS
        if unknown:
            _fail(block, lineno, line, f"unknown flag(s) {sorted(unknown)}; allowed: "
                  f"{sorted(_FLAGS)}")
    unit = rest.strip() or "1"
    _check_unit(unit, block, lineno, line)
    return lhs.strip(), unit, flags


def _looks_like_flags(text):
    return all(re.match(r"^[a-z][a-z -]*$", f.strip()) for f in text.split(",")
               if f.strip())


def _valid_name(name):
    """An ASCII identifier not starting with '__' (the back ends' own names)."""
    return isinstance(name, str) and name.isidentifier() and name.isascii() \
        and not name.startswith("__")


def _unit_name(name):
    """Why ``name`` (a unit, e.g. ``ms``) cannot be a variable's or a parameter's:
    it would silently shadow the unit in every expression of the rule (``20*ms``
    would be 20 times the parameter), as Brian2 refuses it; else None."""
    if name in UNITS and name != "inf":
        return (f"{name!r} is a unit ({name} = {UNITS[name]:g} in the rule's units: "
                f"ms, mV, nS, pA) and cannot name a variable or a parameter (it would "
                f"shadow the unit in every expression, and Brian2 refuses it too); "
                f"rename it")
    return None


def _check_name(name, block, lineno, line, what):
    if not _valid_name(name):
        _fail(block, lineno, line, f"{what} {name!r} is not a valid name (ASCII letters, "
              "digits and _, not starting with a digit or '__')")
    if name in _RESERVED and name != "w":
        _fail(block, lineno, line, f"{name!r} is reserved (a function or "
              "built-in name) and cannot be declared")
    if _unit_name(name):
        _fail(block, lineno, line, f"{what} {_unit_name(name)}")
    if name.endswith("_pre") or name.endswith("_post"):
        _fail(block, lineno, line, f"{name!r}: names ending in _pre/_post refer to the "
              "neurons' variables and cannot be declared")


def parse_rule(model="", on_pre="", on_post="", on_step="", params=None):
    """Parse a rule's text into a :class:`RuleSpec` (names still unresolved against
    the neuron models; :func:`resolve` does that for a projection)."""
    spec = RuleSpec()
    spec.text = "\n".join(["model:", model or "", "on_pre:", on_pre or "", "on_post:",
                           on_post or "", "on_step:", on_step or ""])
    if params is not None and not isinstance(params, Mapping):
        raise TypeError(f"params must map parameter names to numbers, got "
                        f"{params!r:.60} ({type(params).__name__})")
    params = dict(params or {})
    for name, value in params.items():
        if not _valid_name(name):
            raise RuleSyntaxError(f"params: {name!r} is not a valid parameter name (ASCII "
                                  "letters, digits and _, not starting with '__')")
        if name in _RESERVED:
            raise RuleSyntaxError(f"params: {name!r} is reserved (a function or "
                                  "built-in name)")
        if _unit_name(name):
            raise RuleSyntaxError(f"params: parameter {_unit_name(name)}")
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
                or math.isnan(float(value)):
            raise RuleSyntaxError(f"params: {name} must be a number (finite, or +-inf "
                                  f"for a bound), got {value!r}")
        spec.params[name] = float(value)

    # -- model: declarations, equations, subexpressions
    for lineno, line in _lines(model):
        lhs, unit, flags = _split_decl(line, "model", lineno)
        m = re.match(r"^d\s*(\w+)\s*/\s*dt\s*=(.*)$", lhs)
        if m:
            name, rhs = m.group(1), m.group(2)
            dyn = flags & {"event-driven", "clock-driven"}
            if len(dyn) != 1:
                _fail("model", lineno, line, f"the equation for {name} needs exactly one "
                      "of the flags (event-driven) or (clock-driven)")
            if name != "w":
                _check_name(name, "model", lineno, line, "variable")
            var = Variable(name, unit, flags, _parse_expr(rhs, "model", lineno, line),
                           (lineno, line),
                           "event" if "event-driven" in flags else "clock")
        elif "=" in lhs:
            name, rhs = (s.strip() for s in lhs.split("=", 1))
            _check_name(name, "model", lineno, line, "subexpression")
            d = _parse_delayed(rhs, "model", lineno, line)
            if d is not None:
                if flags:
                    _fail("model", lineno, line, f"the delayed copy {name} takes no "
                          f"flags (got {sorted(flags)}); it lives where its source does "
                          "(per postsynaptic neuron)")
                if name in spec.variables or name in spec.subexpressions or \
                        name in spec.delayed:
                    _fail("model", lineno, line, f"{name!r} is declared twice")
                spec.delayed[name] = Delayed(name, d[0], d[1], unit, (lineno, line))
                continue
            if flags:
                _fail("model", lineno, line, f"subexpression {name} takes no flags "
                      f"(got {sorted(flags)}; (summed) variables are not supported)")
            if name in spec.variables or name in spec.subexpressions or \
                    name in spec.delayed:
                _fail("model", lineno, line, f"{name!r} is declared twice")
            node = _parse_expr(rhs, "model", lineno, line)
            if _calls(node) & set(RANDOM):
                _fail("model", lineno, line, "rand() and randn() are for statements, not "
                      "subexpressions")
            spec.subexpressions[name] = (node, (lineno, line))
            continue
        else:
            name = lhs
            if name != "w":
                _check_name(name, "model", lineno, line, "variable")
            if flags & {"event-driven", "clock-driven"}:
                _fail("model", lineno, line, f"{name} has no equation; (event-driven) and "
                      "(clock-driven) go with 'dX/dt = ...'")
            var = Variable(name, unit, flags, None, (lineno, line), None)
        if name in spec.variables or name in spec.subexpressions or name in spec.delayed:
            _fail("model", lineno, line, f"{name!r} is declared twice")
        if var.rhs is not None and _calls(var.rhs) & set(RANDOM):
            _fail("model", lineno, line, "rand() and randn() are for statements (noise "
                  "in on_step: 'x += sigma * sqrt(dt) * randn()'), not equations")
        if name in spec.params:
            _fail("model", lineno, line, f"{name!r} is both a variable and a parameter")
        if len(flags & {"pre", "post", "shared"}) > 1:
            _fail("model", lineno, line, "at most one of (pre), (post), (shared)")
        spec.variables[name] = var
    if "w" not in spec.variables:
        spec.variables["w"] = Variable("w", "1", set(), None, None, None)
    if spec.variables["w"].flags & {"pre", "post", "shared"}:
        raise RuleSyntaxError("model: w is the synaptic weight, one per synapse; it "
                              "cannot be (pre), (post) or (shared)")
    for name, (node, (lineno, line)) in spec.subexpressions.items():
        if name in spec.params:
            _fail("model", lineno, line, f"{name!r} is both a subexpression and a "
                  "parameter")
    for name, d in spec.delayed.items():
        lineno, line = d.line
        if name in spec.params:
            _fail("model", lineno, line, f"{name!r} is both a delayed copy and a "
                  "parameter")
        if d.source == "w" or d.source not in spec.variables:
            _fail("model", lineno, line, f"delayed({d.source}, ...): the source must be "
                  f"a variable of the rule that lives per postsynaptic neuron (declared "
                  f"variables: {sorted(set(spec.variables) - {'w'})})")
        for n in _names(d.delay):
            if n not in spec.params and n not in UNITS:
                _fail("model", lineno, line, f"delayed({d.source}, ...): the delay may "
                      f"use parameters, units and numbers only, not {n!r}")

    # -- statement blocks
    for block, text in (("on_pre", on_pre), ("on_post", on_post), ("on_step", on_step)):
        for lineno, line in _lines(text):
            for part in line.split(";"):
                if part.strip():
                    spec.blocks[block].append(_parse_statement(part.strip(), block,
                                                               lineno, line))
    return spec


def _parse_delayed(rhs, block, lineno, line):
    """(source, delay ast) if ``rhs`` is ``delayed(name, delay)``, else None."""
    try:
        node = ast.parse(rhs.strip(), mode="eval").body
    except SyntaxError:
        return None
    except (RecursionError, MemoryError):
        _fail(block, lineno, line, _TOO_DEEP)
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "delayed"):
        return None
    if node.keywords or len(node.args) != 2 or not isinstance(node.args[0], ast.Name):
        _fail(block, lineno, line, "delayed() takes two arguments: a variable's name "
              "and the delay, e.g. 'u_d = delayed(u, 4*ms) : mV'")
    _check_expr(node.args[1], block, lineno, line)
    if _calls(node.args[1]):
        _fail(block, lineno, line, "the delay of delayed() is a constant: parameters, "
              "units and numbers, no function calls")
    return node.args[0].id, node.args[1]


def _parse_statement(src, block, lineno, line):
    try:
        node = ast.parse(src, mode="exec").body
    except SyntaxError as e:
        _fail(block, lineno, line, f"not a statement: {e.msg}")
    except (RecursionError, MemoryError):
        _fail(block, lineno, line, _TOO_DEEP)
    if len(node) != 1 or not isinstance(node[0], (ast.Assign, ast.AugAssign)):
        _fail(block, lineno, line, "a statement is 'x = expr' or 'x += expr' (also -=, "
              "*=, /=)")
    st = node[0]
    if isinstance(st, ast.Assign):
        if len(st.targets) != 1 or not isinstance(st.targets[0], ast.Name):
            _fail(block, lineno, line, "assign to one variable name")
        target, op = st.targets[0].id, None
    else:
        if not isinstance(st.target, ast.Name):
            _fail(block, lineno, line, "assign to one variable name")
        if not isinstance(st.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
            _fail(block, lineno, line, "augmented assignment must be +=, -=, *= or /=")
        target, op = st.target.id, st.op
    _check_expr(st.value, block, lineno, line)
    return Statement(target, op, st.value, block, lineno, line)


# ----------------------------------------------------------------------------
# resolution against a projection: placement of variables, names of the neurons
# ----------------------------------------------------------------------------
class Resolved:
    """A spec resolved for one projection. ``names[name]`` is one of
    ('var', Variable), ('param', value), ('post', row), ('pre', row), ('t',), ('dt',),
    ('unit', value); ``receptor_writes`` the postsynaptic rows the rule delivers to."""

    def __init__(self, spec, post_vars, post_receptors, pre_vars, per_synapse_delays):
        self.spec = spec
        self.post_vars = list(post_vars)
        self.pre_vars = list(pre_vars) if pre_vars is not None else None
        self.per_synapse_delays = per_synapse_delays
        self.receptors = set(post_receptors)
        self.receptor_writes = []
        self.blocks = {}
        for name in spec.params:    # a parameter would hide the neuron's variable
            for suffix, vars_, whose in (("_post", self.post_vars, "postsynaptic"),
                                         ("_pre", self.pre_vars or (), "presynaptic")):
                if name.endswith(suffix) and name[:-len(suffix)] in vars_:
                    raise RuleSyntaxError(
                        f"params: {name!r} would hide the {whose} neurons' variable "
                        f"{name[:-len(suffix)]!r} (read as {name}); rename the "
                        "parameter")
        self._resolve()

    # -- names
    def lookup(self, name, block, lineno, line):
        spec = self.spec
        if name in spec.variables:
            return ("var", spec.variables[name])
        if name in spec.params:
            return ("param", name)
        if name in spec.delayed:
            return ("delayed", spec.delayed[name])
        if name == "t":
            return ("t",)
        if name == "dt":
            return ("dt",)
        if name.endswith("_post") and name[:-5] in self.post_vars:
            return ("post", self.post_vars.index(name[:-5]))
        if name.endswith("_pre"):
            if self.pre_vars is None:
                _fail(block, lineno, line, f"{name!r}: the presynaptic population is a "
                      "spike source without state variables")
            if name[:-4] in self.pre_vars:
                return ("pre", self.pre_vars.index(name[:-4]))
            _fail(block, lineno, line, f"unknown presynaptic variable {name!r}; the "
                  f"presynaptic neurons have {self.pre_vars}")
        if name in self.post_vars:
            return ("post", self.post_vars.index(name))
        if name in UNITS:
            return ("unit", UNITS[name])
        if name.endswith("_post"):
            _fail(block, lineno, line, f"unknown postsynaptic variable {name!r}; the "
                  f"postsynaptic neurons have {self.post_vars}")
        known = sorted(set(spec.variables) | set(spec.params) | set(spec.subexpressions))
        _fail(block, lineno, line, f"unknown name {name!r}; the rule has {known}, "
              f"parameters come from params=, the postsynaptic neuron's variables are "
              f"{self.post_vars} (name_post)")

    def expand(self, node, block, lineno, line, seen=()):
        """The expression with subexpressions substituted, every name checked."""
        spec = self.spec

        class Sub(ast.NodeTransformer):
            def visit_Call(s, n):
                n.args = [s.visit(a) for a in n.args]
                return n

            def visit_Name(s, n):
                if n.id in spec.subexpressions:
                    if n.id in seen:
                        _fail(block, lineno, line, f"subexpression {n.id!r} refers to "
                              "itself")
                    sub, _ = spec.subexpressions[n.id]
                    return self.expand(_copy(sub), block, lineno, line, seen + (n.id,))
                self.lookup(n.id, block, lineno, line)
                return n

        out = Sub().visit(_copy(node))
        if _depth(out) > MAX_DEPTH:   # subexpressions substituted
            _fail(block, lineno, line, _TOO_DEEP + " (with its subexpressions "
                  "substituted)")
        return out

    def _resolve(self):
        spec = self.spec
        writes = {"on_pre": set(), "on_post": set(), "on_step": set()}
        # statements: targets writable, names known
        for block, stmts in spec.blocks.items():
            out = []
            for st in stmts:
                expr = self.expand(st.expr, block, st.lineno, st.text)
                kind = self.lookup(st.target, block, st.lineno, st.text)
                if kind[0] == "post":
                    var = self.post_vars[kind[1]]
                    if var not in self.receptors:
                        _fail(block, st.lineno, st.text, f"{st.target!r} is read-only: "
                              f"statements may write the postsynaptic receptors "
                              f"{sorted(self.receptors)}, not {var}")
                    if block != "on_pre":
                        _fail(block, st.lineno, st.text, f"{st.target!r}: a rule "
                              "delivers to the postsynaptic neuron in on_pre only")
                    if st.op is None:
                        _fail(block, st.lineno, st.text, f"{st.target!r}: deliver with "
                              "+= or -= (other synapses add to the same receptor)")
                    if kind[1] not in self.receptor_writes:
                        self.receptor_writes.append(kind[1])
                elif kind[0] != "var":
                    what = {"param": "a parameter", "pre": "a presynaptic neuron's "
                            "variable", "t": "the time", "dt": "the time step",
                            "unit": "a unit", "delayed": "a delayed copy: write its "
                            "source"}[kind[0]]
                    _fail(block, st.lineno, st.text, f"{st.target!r} is read-only "
                          f"({what})")
                else:
                    writes[block].add(st.target)
                new = Statement(st.target, st.op, expr, block, st.lineno, st.text)
                new.kind = kind
                out.append(new)
            self.blocks[block] = out
        self._place(writes)
        for name, d in spec.delayed.items():
            src = spec.variables[d.source]
            if src.where != "post":
                lineno, line = d.line
                _fail("model", lineno, line, f"delayed({d.source}, ...): {d.source} lives "
                      f"{_PLACES[src.where]}; a delayed copy needs a variable that lives "
                      "per postsynaptic neuron (written only in on_post, or clock-driven "
                      "from the postsynaptic neuron's values; flag it (post) to check)")
        self._dynamics()
        # call sites of rand()/randn(), numbered in the order of the text
        self.random_sites = {}
        for block in ("on_pre", "on_post", "on_step"):
            for st in self.blocks[block]:
                for n in ast.walk(st.expr):
                    if isinstance(n, ast.Call) and n.func.id in RANDOM:
                        self.random_sites[id(n)] = len(self.random_sites)
        self.uses_random = bool(self.random_sites)

    def _place(self, writes):
        """Per synapse, per pre or post neuron, or shared (module docstring)."""
        spec = self.spec
        stmts = [s for b in self.blocks.values() for s in b]

        def deps(name):
            """Names the values assigned to ``name`` depend on (statements + eq)."""
            out = set()
            for s in stmts:
                if s.target == name:
                    out |= _names(s.value_expr())
            v = spec.variables[name]
            if v.rhs is not None:
                out |= _names(self.expand(v.rhs, "model", *v.line))
            return out - {name}

        for name, v in spec.variables.items():
            if "shared" in v.flags:
                v.where = "shared"
        random_targets = {st.target for st in stmts if _calls(st.value_expr()) & set(RANDOM)}
        # fixed point: a variable may live per pre (post) neuron if it is written
        # only in on_pre (on_post), from pre (post)-side values only
        cand = {}
        for side, block in (("pre", "on_pre"), ("post", "on_post")):
            other = {"on_pre", "on_post", "on_step"} - {block}
            c = set()
            for name, v in spec.variables.items():
                if name == "w" or v.where == "shared":
                    continue
                if any(name in writes[b] for b in other):
                    continue
                if side == "pre" and self.per_synapse_delays and name in writes[block]:
                    continue
                if name in random_targets:
                    continue
                c.add(name)
            changed = True
            while changed:
                changed = False
                for name in sorted(c):
                    ok = True
                    for d in deps(name):
                        kind = self.lookup(d, "model", 0, "")
                        if kind[0] == "var" and kind[1].name not in c and not (
                                kind[1].where == "shared"
                                and d not in writes["on_pre"] | writes["on_post"]):
                            ok = False
                        if kind[0] == ("pre" if side == "post" else "post") or (
                                kind[0] == "delayed" and side == "pre"):
                            ok = False
                    if not ok:
                        c.discard(name)
                        changed = True
            cand[side] = c
        for name, v in spec.variables.items():
            if v.where == "shared":
                continue
            want = v.flags & {"pre", "post"}
            in_pre, in_post = name in cand["pre"], name in cand["post"]
            if want == {"pre"} or want == {"post"}:
                side = next(iter(want))
                if not (in_pre if side == "pre" else in_post):
                    lineno, line = v.line
                    _fail("model", lineno, line, f"{name} cannot live per {side}synaptic "
                          f"neuron: it is written outside on_{side}, from per-synapse "
                          "values, or its presynaptic arrivals differ per synapse "
                          "(per-synapse delays)")
                v.where = side
            elif in_pre and name in writes["on_pre"]:
                v.where = "pre"
            elif in_post and name in writes["on_post"]:
                v.where = "post"
            elif in_post and v.dynamics == "clock":
                v.where = "post"
            elif in_pre and v.dynamics == "clock" and self.pre_vars is not None:
                v.where = "pre"
            else:
                v.where = "syn"
        # a neuron-side variable may depend only on its own side: demote the others
        # to per-synapse until nothing changes (per synapse is always correct)
        changed = True
        while changed:
            changed = False
            for name, v in spec.variables.items():
                if v.where not in ("pre", "post"):
                    continue
                for d in deps(name):
                    kind = self.lookup(d, "model", 0, "")
                    place = "post" if kind[0] == "delayed" else kind[0]
                    bad = place in ("pre", "post") and place != v.where
                    if kind[0] == "var":
                        dv = kind[1]
                        bad = not (dv.where == v.where or (
                            dv.where == "shared"
                            and d not in writes["on_pre"] | writes["on_post"]))
                    if bad:
                        if v.flags & {"pre", "post"}:
                            lineno, line = v.line
                            _fail("model", lineno, line, f"{name} cannot live per "
                                  f"{v.where}synaptic neuron: it depends on {d!r}, which "
                                  "is not a value of that neuron")
                        v.where = "syn"
                        changed = True
                        break
        # shared variables may only depend on shared values and parameters
        for name, v in spec.variables.items():
            if v.where != "shared":
                continue
            for d in deps(name):
                kind = self.lookup(d, "model", 0, "")
                if kind[0] in ("post", "pre", "delayed") or (kind[0] == "var"
                                                   and kind[1].where != "shared"):
                    lineno, line = v.line
                    _fail("model", lineno, line, f"shared variable {name} cannot depend "
                          f"on {d!r} (a per-synapse or per-neuron value)")

    def _dynamics(self):
        spec = self.spec
        for name, v in spec.variables.items():
            if v.dynamics is None:
                continue
            lineno, line = v.line
            rhs = self.expand(v.rhs, "model", lineno, line)
            v.rhs_resolved = rhs
            others = _names(rhs) - {name}
            a, b = _linear_parts(rhs, name)
            const = all(self.lookup(n, "model", lineno, line)[0] in
                        ("param", "unit", "dt") for n in _names(a)) if a is not None \
                else False
            if v.dynamics == "event":
                if a is None or not const:
                    _fail("model", lineno, line, f"the event-driven equation for {name} "
                          "must be linear in it with constant coefficients (dX/dt = a X "
                          "+ b, a and b from parameters); make it (clock-driven)")
                for n in others:
                    k = self.lookup(n, "model", lineno, line)
                    if k[0] not in ("param", "unit", "dt"):
                        _fail("model", lineno, line, f"the event-driven equation for "
                              f"{name} reads {n!r}, which is not a parameter; make it "
                              "(clock-driven)")
                v.lin_a, v.lin_b, v.method = a, b, "exact"
            else:
                if a is not None and const:
                    v.lin_a, v.lin_b, v.method = a, b, "exact"
                else:
                    v.method = "euler"
        if spec.variables["w"].dynamics == "event":
            lineno, line = spec.variables["w"].line
            _fail("model", lineno, line, "w cannot be event-driven (its changes are the "
                  "statements'); make it (clock-driven) or give the change in on_pre/"
                  "on_post")

    # -- the post gate of on_step
    def post_gates(self, stmts):
        """Per statement, the factor of its change that depends on the postsynaptic
        neuron alone (an ast), or None for all if a statement has none.

        A per-synapse ``on_step`` statement ``x += A``, ``x -= A``, ``x = x + A`` or
        ``x = clip(x + A, lo, hi)`` whose product ``A`` has factors that read only the
        postsynaptic neuron (its variables, the rule's per-post and shared variables,
        parameters, t, dt) is skipped for the synapses of the neurons where the product
        of those factors is 0 (Clopath's [v - theta+]+ [u+ - theta-]+ is 0 on most
        steps): the change would be 0 (an x outside [lo, hi] then stays where it is,
        and a non-finite other factor gives no NaN). Both back ends do this."""
        gates = []
        for st in stmts:
            add = _change_of(st)
            if add is None:
                return None
            factors = [f for f in _factors(add) if self._post_only(f)]
            if not factors:
                return None
            g = factors[0]
            for f in factors[1:]:
                g = ast.BinOp(left=g, op=ast.Mult(), right=f)
            gates.append(ast.fix_missing_locations(g))
        return gates

    def _post_only(self, node):
        if _calls(node) & set(RANDOM):
            return False
        for n in _names(node):
            kind = self.lookup(n, "model", 0, "")
            if kind[0] in ("param", "unit", "t", "dt", "post", "delayed"):
                continue
            if kind[0] == "var" and kind[1].where in ("post", "shared"):
                continue
            return False
        return True

    # -- helpers for the back ends
    def variables(self, where=None, dynamics=False):
        vs = [v for v in self.spec.variables.values() if where is None or v.where == where]
        return [v for v in vs if v.dynamics] if dynamics else vs


_PLACES = {"syn": "per synapse", "pre": "per presynaptic neuron",
           "shared": "shared (one value)", "post": "per postsynaptic neuron"}


def _change_of(st):
    """The added term A of ``x += A``, ``x -= A`` (as -A's factors: A), ``x = x + A``
    or ``x = clip(x + A, lo, hi)`` on a variable x, else None."""
    if st.kind[0] != "var":
        return None
    if isinstance(st.op, (ast.Add, ast.Sub)):
        return st.expr
    if st.op is not None:
        return None
    e = st.expr
    if isinstance(e, ast.Call) and e.func.id == "clip":
        e = e.args[0]
    if isinstance(e, ast.BinOp) and isinstance(e.op, (ast.Add, ast.Sub)) and \
            isinstance(e.left, ast.Name) and e.left.id == st.target:
        return e.right
    return None


def _factors(node):
    """The factors of a product (a single factor otherwise)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        return _factors(node.left) + _factors(node.right)
    return [node]


def _copy(node):
    return ast.parse(ast.unparse(node), mode="eval").body


def _subst(node, name, value):
    class T(ast.NodeTransformer):
        def visit_Name(s, n):
            return ast.Constant(value) if n.id == name else n
    return ast.fix_missing_locations(T().visit(_copy(node)))


def _linear_parts(rhs, name):
    """(a, b) with rhs == a*name + b if rhs is affine in ``name`` (checked by the
    structure of the expression tree), else (None, None): ``a`` the coefficient
    (built from the terms that hold ``name``), ``b`` the rhs with name = 0."""
    if not _affine(rhs, name):
        return None, None
    return ast.fix_missing_locations(_coef(rhs, name)), _subst(rhs, name, 0.0)


def _coef(n, name):
    if name not in _names(n):
        return ast.Constant(0.0)
    if isinstance(n, ast.Name):
        return ast.Constant(1.0)
    if isinstance(n, ast.UnaryOp):
        c = _coef(n.operand, name)
        return ast.UnaryOp(op=n.op, operand=c)
    if isinstance(n.op, (ast.Add, ast.Sub)):
        return ast.BinOp(left=_coef(n.left, name), op=n.op, right=_coef(n.right, name))
    if isinstance(n.op, ast.Mult):
        if name in _names(n.left):
            return ast.BinOp(left=_coef(n.left, name), op=ast.Mult(), right=_copy(n.right))
        return ast.BinOp(left=_copy(n.left), op=ast.Mult(), right=_coef(n.right, name))
    return ast.BinOp(left=_coef(n.left, name), op=ast.Div(), right=_copy(n.right))


def _affine(node, name):
    """True if ``node`` is affine in ``name``: sums/differences of terms, each a
    product with the variable in at most one factor, divided only by name-free
    expressions, and no function of it."""
    def has(n):
        return name in _names(n)

    def aff(n):
        if not has(n):
            return True
        if isinstance(n, ast.Name):
            return True
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, (ast.USub, ast.UAdd)):
            return aff(n.operand)
        if isinstance(n, ast.BinOp):
            if isinstance(n.op, (ast.Add, ast.Sub)):
                return aff(n.left) and aff(n.right)
            if isinstance(n.op, ast.Mult):
                if has(n.left) and has(n.right):
                    return False
                return aff(n.left) and aff(n.right)
            if isinstance(n.op, ast.Div):
                return not has(n.right) and aff(n.left)
        return False
    return aff(node)


def resolve(spec, post_model, pre_model, per_synapse_delays):
    """Resolve ``spec`` for a projection onto ``post_model`` from ``pre_model``
    (None for spike sources)."""
    return Resolved(spec, post_model.variables, post_model.receptors,
                    None if pre_model is None else pre_model.variables,
                    per_synapse_delays)
