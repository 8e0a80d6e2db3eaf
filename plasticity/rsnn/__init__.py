"""Recurrent spiking networks of LIF and ALIF neurons, BPTT and e-prop.

- :class:`RSNNParams`, :class:`RSNN`: the discrete-time network of Bellec et al. 2020
  (reset by subtraction, adaptive threshold, refractoriness, leaky readout) with pure
  step functions :func:`neuron_step` / :func:`readout_step`.
- :func:`bptt`: backpropagation through time with the pseudo-derivative.
- :class:`EProp` / :func:`eprop_gradients`: e-prop with symmetric, random or
  generated learning signals, online (forward in time) or in the equivalent adjoint
  form.
- :class:`OneShotLearning`: a learner, a learning-signal generator, one e-prop-like
  update per episode and the outer-loop gradient through it (Scherr et al. 2020).
- :func:`forward_compiled`: the forward pass in Cython.
- losses and optimisers (SGD, Adam).

The tasks (the e-prop experiments' generators, the arm, Omniglot episodes) live in
:mod:`plasticity.tasks`; their old names here still work, with a DeprecationWarning.

See docs/rsnn.md.
"""
from ._compiled import forward_compiled
from .bptt import bptt
from .eprop import EProp, eligibility_traces, eprop_gradients
from .losses import cross_entropy_loss, mse_loss, rate_regularization, softmax
from .network import (RSNN, RSNNParams, RSNNState, Trace, filter_backward,
                      filter_forward, neuron_step, pseudo_derivative, readout_step,
                      simulate, spike_function)
from .oneshot import OneShotLearning, one_shot_update
from .optim import SGD, Adam

__all__ = ["RSNN", "RSNNParams", "RSNNState", "Trace", "neuron_step", "readout_step",
           "spike_function", "pseudo_derivative", "filter_forward", "filter_backward",
           "bptt", "EProp", "eprop_gradients", "eligibility_traces", "mse_loss",
           "cross_entropy_loss", "rate_regularization", "softmax", "SGD", "Adam",
           "OneShotLearning", "one_shot_update", "forward_compiled", "simulate"]

#: names (and modules) that moved to plasticity.tasks: name -> module there
_MOVED = {"Arm": "arm", "clock_input": "arm", "random_movements": "arm",
          "sum_of_sines_target": "eprop", "frozen_poisson": "eprop",
          "evidence_accumulation_batch": "eprop"}


def __getattr__(name):
    """The names that moved to :mod:`plasticity.tasks`, with a DeprecationWarning."""
    import importlib
    import warnings
    if name in ("arm", "tasks", "omniglot"):   # the old submodules (they warn)
        return importlib.import_module(f"{__name__}.{name}")
    if name in _MOVED:
        where = f"plasticity.tasks.{_MOVED[name]}"
        warnings.warn(f"plasticity.rsnn.{name} moved to {where}; import it from there",
                      DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(where), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
