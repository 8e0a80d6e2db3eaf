"""Recurrent spiking networks of LIF and ALIF neurons, BPTT and e-prop.

- :class:`RSNNParams`, :class:`RSNN`: the discrete-time network of Bellec et al. 2020
  (reset by subtraction, adaptive threshold, refractoriness, leaky readout) with pure
  step functions :func:`neuron_step` / :func:`readout_step`.
- :func:`bptt`: backpropagation through time with the pseudo-derivative.
- :class:`EProp` / :func:`eprop_gradients`: e-prop with symmetric, random or
  generated learning signals, online (forward in time) or in the equivalent adjoint
  form.
- :class:`OneShotLearning`: a learner, a learning-signal generator, one e-prop-like
  update per episode and the outer-loop gradient through it (Scherr et al. 2020);
  the arm task (:mod:`.arm`) and Omniglot episodes (:mod:`.omniglot`).
- :func:`forward_compiled`: the forward pass in Cython.
- losses, optimisers (SGD, Adam) and the task generators of the e-prop experiments.

See docs/rsnn.md.
"""
from ._compiled import forward_compiled
from .arm import Arm, clock_input, random_movements
from .bptt import bptt
from .eprop import EProp, eligibility_traces, eprop_gradients
from .losses import cross_entropy_loss, mse_loss, rate_regularization, softmax
from .network import (RSNN, RSNNParams, RSNNState, Trace, filter_backward,
                      filter_forward, neuron_step, pseudo_derivative, readout_step,
                      simulate, spike_function)
from .oneshot import OneShotLearning, one_shot_update
from .optim import SGD, Adam
from .tasks import evidence_accumulation_batch, frozen_poisson, sum_of_sines_target

__all__ = ["RSNN", "RSNNParams", "RSNNState", "Trace", "neuron_step", "readout_step",
           "spike_function", "pseudo_derivative", "filter_forward", "filter_backward",
           "bptt", "EProp", "eprop_gradients", "eligibility_traces", "mse_loss",
           "cross_entropy_loss", "rate_regularization", "softmax", "SGD", "Adam",
           "sum_of_sines_target", "frozen_poisson", "evidence_accumulation_batch",
           "OneShotLearning", "one_shot_update", "Arm", "random_movements", "clock_input",
           "forward_compiled", "simulate"]
