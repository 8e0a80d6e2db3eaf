"""Convolutional STDP networks (Kheradpisheh, Ganjtabesh, Thorpe & Masquelier 2018).

Time-to-first-spike, at most one spike per neuron per image; spike waves are held as
first-spike times (N, C, H, W) int16 (T = no spike). See ``docs/conv.md``.
"""
from . import ops
from .network import CALTECH_LAYERS, ETH80_LAYERS, MNIST_LAYERS, SpikingConvNet

__all__ = ["SpikingConvNet", "MNIST_LAYERS", "CALTECH_LAYERS", "ETH80_LAYERS", "ops"]
