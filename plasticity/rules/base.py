"""The ``Rule`` interface: plasticity rules written in Python.

A Python rule sees the synapses of its projection (``self.synapses``, a
:class:`~plasticity.synapses.SynapseMatrix` whose ``weights`` it may change in place)
and is called once per step, after the compiled part of the step (docs/internals.md):

1. ``on_pre(step, syn)`` with the ids of the synapses that received a presynaptic
   spike at this step (after their delay; the weights were already delivered),
2. ``on_post(step, post)`` with the ids of the postsynaptic neurons that spiked,
3. ``on_step(step)``.

A network with a Python rule runs one step at a time through Python: slower, same
results. Built-in rules are compiled (``compiled = True``) and never call these hooks.
"""
import numpy as np

__all__ = ["Rule", "CythonRule"]


class Rule:
    """Base class of plasticity rules.

    Subclass it and override any of ``on_pre``, ``on_post``, ``on_step``; keep all
    rule state in NumPy arrays returned by ``get_state`` so that
    ``Network.store()``/``restore()`` can save and continue a run exactly.
    """

    #: built-in rules run inside the compiled loop
    compiled = False
    #: set True to read the postsynaptic state as it was in the step, before the
    #: resets (``self.post_state_before_reset()`` in the hooks), e.g. v at a spike
    reads_state_before_reset = False
    #: ms by which the rule sees the postsynaptic spikes late (the built-in STDP
    #: rules and rule-language rules take one: ``post_delay=``; 0 for the others)
    post_delay = 0.0

    def post_delay_steps(self, dt):
        """``post_delay`` in steps of ``dt``; a ValueError unless it is a whole
        number of them (at most 2**40: 1e300 ms named a 300-digit step count)."""
        from .._validation import duration_steps
        return duration_steps("post_delay", self.post_delay, dt)

    def bind(self, projection, dt):
        """Called when the network is built; ``projection`` gives ``synapses``,
        ``pre`` and ``post``. Allocate per-neuron or per-synapse state here."""
        self.projection = projection
        self.synapses = projection.synapses
        self.dt = dt

    def validate(self, projection):
        """Called by ``Network.connect``: raise a clear error if the rule cannot run
        on ``projection`` (before anything runs)."""

    def on_pre(self, step, syn):
        """Synapses ``syn`` (int array) received a presynaptic spike at ``step``."""

    def on_post(self, step, post):
        """Postsynaptic neurons ``post`` (int array) spiked at ``step``."""

    def on_step(self, step):
        """Called once per step, after ``on_pre`` and ``on_post``."""

    def attach(self, engine, k, projection, network):
        """Hand the rule to the engine as projection k (every rule binds through
        this one method). A Python rule asks the engine to record the arrivals that
        ``on_pre`` receives; the engine delivers the weights."""
        if self.compiled:
            raise TypeError(f"{type(self).__name__} has compiled = True but no attach(): "
                            "a compiled rule hands itself to the engine there")
        attach_per_step(engine, k, projection, network,
                        snapshots=[projection.post] if self.reads_state_before_reset
                        else [])

    def post_state_before_reset(self):
        """The postsynaptic population's state (n_vars, n) after its update in the
        current step, before the resets (``reads_state_before_reset = True``); rows
        as ``post.model.variables``."""
        post = self.projection.post
        if not self.reads_state_before_reset or getattr(post, "_snap", None) is None:
            raise RuntimeError("set reads_state_before_reset = True on the rule class "
                               "to read the state before the reset")
        return post._snap.reshape(post.state.shape)

    def forget_state(self):
        """Drop the state of a projection the rule served before (it is connected
        anew, in another network): ``bind`` then allocates fresh state."""
        for k in self.get_state():
            if hasattr(self, k):
                delattr(self, k)

    def get_state(self):
        """The rule's mutable state as a dict of NumPy arrays (copied by store)."""
        return {}

    def set_state(self, state):
        """Restore what ``get_state`` returned."""
        for k, v in state.items():
            np.copyto(getattr(self, k), v)

    def parameters(self):
        """The rule's parameters as a flat dict (stored in run files)."""
        return {}

    def weight_bounds(self, dt):
        """``(lo, hi, how)`` where every update of the rule clips the weights to
        ``[lo, hi]`` (``how`` says where the bounds come from, for the messages), or
        None where the rule has no such bounds. ``Network`` refuses weights outside
        them at connect and when a run starts: they would be clipped silently at
        their first update."""
        return None

    def recordable(self, projection=None):
        """The variables :meth:`Network.monitor_rule` can sample on ``projection``
        (default: the one bound), name -> where (``'syn'``, ``'pre'``, ``'post'`` or
        ``'shared'``); ``rule[name]`` gives the value now (once the network has
        run). None for a Python rule unless it overrides both."""
        return {}

    def __getitem__(self, name):
        from .._validation import unknown_name
        raise unknown_name(f"recordable variable of {self.name}", name, self.recordable())

    def __setitem__(self, name, value):
        raise TypeError(f"{self.name} has no variables to set by name (rule[{name!r}] "
                        f"= ...): its parameters are attributes "
                        f"({self.name}.parameters(): {sorted(self.parameters())})")

    @property
    def name(self):
        return type(self).__name__


class CythonRule(Rule):
    """Base class of rules compiled by the user in Cython (docs/writing-rules.md).

    A subclass allocates its state in ``bind`` and returns from ``capsule()`` a
    ``PyCapsule`` named ``"plasticity.CustomRule"`` pointing to a filled
    ``CustomRule`` struct (``plasticity/_ext/rules.pxd``) whose memory it keeps alive.
    The engine calls those functions inside its compiled loop, without the GIL.
    """

    compiled = True

    def attach(self, engine, k, projection, network):
        engine.set_custom_rule(k, self.capsule())
        # a CythonRule with Python hooks too (compiled=False) sees its arrivals in
        # compiled code: the per-step path gets an always-empty list
        projection._arr = np.zeros(1, dtype=np.int32)
        projection._arr_n = np.zeros(1, dtype=np.int64)

    def capsule(self):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement capsule()")


def attach_per_step(engine, k, projection, network, deliver=True, snapshots=()):
    """Projection k through the per-step Python path: the engine records the
    arrivals (``projection._arr``) and delivers the weights unless ``deliver`` is
    False; the populations in ``snapshots`` keep a copy of their state after the
    update, before the resets (``pop._snap``)."""
    syn = projection.synapses
    cap = syn.nnz if syn.delays is not None else syn.n_pre
    projection._arr = np.zeros(max(cap, 1), dtype=np.int32)
    projection._arr_n = np.zeros(1, dtype=np.int64)
    engine.set_python_rule(k, projection._arr, projection._arr_n, deliver)
    for pop in snapshots:
        if getattr(pop, "_snap", None) is None or pop._snap.size != pop.state.size:
            pop._snap = np.zeros(pop.state.size)
        engine.set_snapshot(network._pop_index[pop.name], pop._snap)
