"""Exceptions of the plasticity package."""

__all__ = ["SimulationError"]


class SimulationError(RuntimeError):
    """A run produced a non-finite state value; the message names the population,
    the variable, the neuron and the step."""
