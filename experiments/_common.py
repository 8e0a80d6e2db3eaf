"""Config fields shared by several experiments (not an experiment itself: modules whose
names start with ``_`` are not listed).

- :class:`LearnerConfig`: the RSNN learner's neurons and training loop, the fields of
  the four RSNN experiments (``eprop_pattern_generation``,
  ``eprop_evidence_accumulation``, ``scherr_oneshot_arm``,
  ``scherr_oneshot_omniglot``).
- :class:`OneShotConfig`: what the two one-shot experiments add (Scherr, Stoeckl &
  Maass 2020): the learning-signal generator (LSG), the inner update, the outer loop's
  batches and evaluation, the e-prop baselines.
- :func:`with_defaults`: an experiment's own defaults (the paper's values) on one of
  them, with the same help, units and limits.
- :func:`check_models`: a ``Config.check`` builds the models its run builds (neurons,
  rules), so that their own checks refuse a config before any work.

The fields stay top-level keys of each experiment's config (``n_iter``, not
``learner.n_iter``), so TOML files, ``--set`` keys and run files are those of a config
that declares them itself. An experiment's ``Config`` subclasses
``with_defaults(LearnerConfig or OneShotConfig, ...)`` and appends its own fields.
"""
import dataclasses

from plasticity.config import field

__all__ = ["LearnerConfig", "OneShotConfig", "oneshot_memory", "with_defaults",
           "check_models"]


def check_models(what, *builders):
    """Call ``builders`` (each builds a model of the config the run will build: a
    neuron, a rule), so that their constructors' checks (``V_reset < V_th``,
    ``V_T_max >= V_T_rest``, a positive time constant) refuse a bad config in
    ``Config.check``, before any work and any run file, not inside the run (a failed
    ``.partial``). A ``ValueError`` becomes ``"config keys of WHAT: ..."``."""
    try:
        for build in builders:
            build()
    except ValueError as e:
        raise ValueError(f"config keys of {what}: {e}") from None


@dataclasses.dataclass
class LearnerConfig:
    """The RSNN learner: neuron time constants and threshold, the rate regulariser's
    target, the optimiser's learning rate and the number of training iterations."""
    tau_m: float = field(20.0, help="membrane time constant", units="ms", gt=0.0)
    tau_out: float = field(20.0, help="readout time constant", units="ms", gt=0.0)
    v_th: float = field(0.6, help="threshold", gt=0.0)
    reg_rate: float = field(10.0, help="target rate of the rate regulariser", units="Hz",
                            min=0.0)
    lr: float = field(1e-3, help="learning rate", min=0.0)
    n_iter: int = field(2000, help="training iterations", min=0)


@dataclasses.dataclass
class OneShotConfig(LearnerConfig):
    """One-shot learning (Scherr, Stoeckl & Maass 2020): a learner, an LSG, one
    e-prop-like update per episode, an outer loop meta-learning through it. Defaults:
    the arm task's (``scherr_oneshot_arm``)."""
    v_th: float = field(0.6, help="threshold (learner and LSG)", gt=0.0)
    reg_rate: float = field(20.0, help="rate regulariser target", units="Hz", min=0.0)
    lr: float = field(1.5e-3, help="Adam learning rate of the outer loop", min=0.0)
    n_iter: int = field(1500, help="outer iterations", min=0)
    order: str = field("full", help="outer gradient through the inner update",
                       choices=("full", "first"))
    n_learner: int = field(100, help="learner LIF neurons", min=1)
    n_lsg: int = field(200, help="LSG neurons", min=1)
    lsg_alif: float = field(0.3, help="fraction of ALIF neurons in the LSG", min=0.0,
                            max=1.0)
    lsg_tau_a: float = field(500.0, help="LSG adaptation time constant", units="ms",
                             gt=0.0)
    lsg_beta: float = field(1.0, help="LSG adaptation strength", min=0.0)
    n_ref: int = field(5, help="refractory period (steps)", min=0)
    eta: float = field(1e-3, help="inner learning rate", min=0.0)
    scale_in: float = field(2.0, help="learner input weight scale", min=0.0)
    scale_rec: float = field(0.5, help="recurrent weight scale", min=0.0)
    scale_out: float = field(5.0, help="learner readout weight scale", min=0.0)
    lsg_scale_in: float = field(1.0, help="LSG input weight scale", min=0.0)
    lsg_scale_out: float = field(0.1, help="LSG readout weight scale", min=0.0)
    reg_coeff: float = field(1.0, help="rate regulariser coefficient", min=0.0)
    batch: int = field(8, help="episodes per outer iteration", min=1)
    eval_every: int = field(100, help="validation interval (iterations)", min=1)
    n_val: int = field(32, help="validation episodes", min=1)
    n_test: int = field(128, help="held-out test episodes", min=1)
    eprop_etas: list[float] = field([1e-5, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0,
                                     3.0], min_len=1, min=0.0,
                                    help="inner learning rates tried for the e-prop "
                                         "baselines")


def with_defaults(base, *, help=None, **defaults):
    """A subclass of config dataclass ``base`` whose fields ``defaults`` default to the
    given values (same type, units and limits; ``help`` maps field names to other help
    texts). Fields keep ``base``'s order."""
    names = {f.name: f for f in dataclasses.fields(base)}
    help = dict(help or {})
    unknown = sorted((set(defaults) | set(help)) - set(names))
    if unknown:
        raise TypeError(f"{base.__name__} has no field(s) {', '.join(unknown)}")
    redeclared = []
    for name in names:
        if name not in defaults and name not in help:
            continue
        f = names[name]
        meta = dict(f.metadata)
        if name in help:
            meta["help"] = help[name]
        if name in defaults:
            value = defaults[name]
        elif f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
        else:
            value = f.default
        redeclared.append((name, f.type, field(value, **meta)))
    cls = dataclasses.make_dataclass(base.__name__, redeclared, bases=(base,))
    cls.__module__ = base.__module__
    cls.__doc__ = base.__doc__
    return cls


#: bytes per time step of a trial, neuron (learner and LSG) and episode of the
#: one-shot episodes' forward and backward passes (two trials, the traces BPTT keeps
#: for the outer gradient); measured ~80 B on scherr_oneshot_arm
#: (tests/test_experiment_memory.py)
ONESHOT_STEP_BYTES = 80.0


def oneshot_memory(c, *, T, n_in, n_in_lsg, n_out, eval_chunk):
    """Bytes a one-shot experiment's outer loop needs (an estimate): ``c.batch``
    episodes of trials of ``T`` steps (evaluated ``eval_chunk`` episodes at a time),
    the learner (``n_in`` inputs, ``n_out`` outputs) and LSG (``n_in_lsg`` inputs)
    weights with their gradients and Adam moments, and each episode's updated learner
    weights."""
    episodes = max(c.batch, min(eval_chunk, max(c.n_val, c.n_test)))
    learner = c.n_learner * (n_in + c.n_learner + n_out)
    lsg = c.n_lsg * (n_in_lsg + c.n_lsg + c.n_learner)
    return (ONESHOT_STEP_BYTES * episodes * T * (c.n_learner + c.n_lsg)
            + 8.0 * 6 * (learner + lsg) + 8.0 * 4 * episodes * learner)


#: the keys that make a one-shot run larger (besides an experiment's own)
ONESHOT_SIZE_KEYS = ("batch", "n_learner", "n_lsg", "n_val", "n_test")
