"""A planar two-joint arm, random target movements and a clock input (the arm task of
Scherr, Stoeckl & Maass 2020).

The network's two readouts are the joint angular velocities omega (rad/s); the joint
angles integrate them from the starting angles, phi^t = phi^0 + dt sum_{s<=t} omega^s,
and the hand position is the forward kinematics

    p = (l1 cos phi_1 + l2 cos(phi_1 + phi_2),  l1 sin phi_1 + l2 sin(phi_1 + phi_2)).

The loss (Ortner et al. 2025's weighting) is

    E = w_vel mean (omega - omega*)^2 + w_pos mean |p - p*|^2

(means over time, episodes and the two coordinates), differentiated through the
integration and the kinematics by :meth:`Arm.loss`.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from .._validation import check_int, check_nonnegative, check_positive

__all__ = ["Arm", "random_movements", "clock_input"]


@dataclasses.dataclass(frozen=True)
class Arm:
    """Two links of lengths ``l1``, ``l2`` (m), starting angles ``phi0`` (rad),
    ``dt`` seconds per step."""
    l1: float = 0.5
    l2: float = 0.5
    phi0: tuple = (0.0, math.pi / 2)
    dt: float = 1e-3
    w_vel: float = 0.5
    w_pos: float = 0.5

    def __post_init__(self):
        check_positive("l1", self.l1, "m")
        check_positive("l2", self.l2, "m")
        check_positive("dt", self.dt, "s")
        check_nonnegative("w_vel", self.w_vel)
        check_nonnegative("w_pos", self.w_pos)
        if len(self.phi0) != 2:
            raise ValueError(f"phi0 must hold 2 angles, got {self.phi0!r}")

    def angles(self, omega):
        """Joint angles (T, B, 2) from angular velocities (T, B, 2)."""
        return np.asarray(self.phi0) + self.dt * np.cumsum(omega, axis=0)

    def positions(self, phi):
        """Hand positions (T, B, 2) from joint angles."""
        a1 = phi[..., 0]
        a12 = a1 + phi[..., 1]
        return np.stack([self.l1 * np.cos(a1) + self.l2 * np.cos(a12),
                         self.l1 * np.sin(a1) + self.l2 * np.sin(a12)], axis=-1)

    def loss(self, omega, omega_target, pos_target):
        """(E, dE/domega) of the weighted velocity and position errors."""
        omega = np.asarray(omega, dtype=np.float64)
        if omega.shape != omega_target.shape or omega.shape != pos_target.shape:
            raise ValueError(f"omega {omega.shape}, omega_target {omega_target.shape} and "
                             f"pos_target {pos_target.shape} must have equal shapes")
        n = omega.size
        phi = self.angles(omega)
        pos = self.positions(phi)
        ev = omega - omega_target
        ep = pos - pos_target
        E = self.w_vel * float(np.sum(ev ** 2)) / n + self.w_pos * float(np.sum(ep ** 2)) / n
        dpos = 2 * self.w_pos * ep / n
        # Jacobian-transpose of the kinematics, then the adjoint of the cumulative sum
        a1 = phi[..., 0]
        a12 = a1 + phi[..., 1]
        s1, c1 = self.l1 * np.sin(a1), self.l1 * np.cos(a1)
        s12, c12 = self.l2 * np.sin(a12), self.l2 * np.cos(a12)
        dphi2 = -s12 * dpos[..., 0] + c12 * dpos[..., 1]
        dphi1 = -s1 * dpos[..., 0] + c1 * dpos[..., 1] + dphi2
        dphi = np.stack([dphi1, dphi2], axis=-1)
        domega = 2 * self.w_vel * ev / n + self.dt * np.cumsum(dphi[::-1], axis=0)[::-1]
        return E, domega

    def errors(self, omega, omega_target, pos_target):
        """Per-episode mean squared velocity and position errors, shapes (B,)."""
        pos = self.positions(self.angles(omega))
        return (np.mean((omega - omega_target) ** 2, axis=(0, 2)),
                np.mean((pos - pos_target) ** 2, axis=(0, 2)))


def random_movements(T, batch, rng, arm=None, *, n_components=3, omega_rms=2.0):
    """Smooth random target movements: each joint's angular velocity is a random sum of
    ``n_components`` half-wave sines, omega(t) = sum_m a_m sin(pi m t / T + theta_m),
    a_m ~ N(0, 1/m^2), rescaled to an RMS of ``omega_rms`` rad/s per joint and trial.

    Returns (omega*, position*) of shapes (T, batch, 2).
    """
    check_int("T", T, 1)
    check_int("batch", batch, 1)
    check_int("n_components", n_components, 1)
    check_positive("omega_rms", omega_rms, "rad/s")
    arm = arm or Arm()
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    m = np.arange(1, n_components + 1)
    a = rng.standard_normal((batch, 2, n_components)) / m
    theta = rng.uniform(0, 2 * np.pi, (batch, 2, n_components))
    t = np.arange(T)[:, None, None, None]
    omega = np.sum(a * np.sin(np.pi * m * t / T + theta), axis=-1)      # (T, B, 2)
    rms = np.sqrt(np.mean(omega ** 2, axis=0, keepdims=True))
    omega = omega * (omega_rms / np.maximum(rms, 1e-12))
    return omega, arm.positions(arm.angles(omega))


def clock_input(T, n_groups, per_group, rate_hz, rng, dt=1.0):
    """A frozen clock: ``n_groups`` groups of ``per_group`` Poisson channels; group g
    fires at ``rate_hz`` during the g-th of n_groups equal windows. Returns (T, n)."""
    check_int("n_groups", n_groups, 1)
    check_int("per_group", per_group, 1)
    check_nonnegative("rate_hz", rate_hz, "Hz")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    x = np.zeros((T, n_groups * per_group))
    edges = np.linspace(0, T, n_groups + 1).round().astype(int)
    p = rate_hz * dt / 1000.0
    for g in range(n_groups):
        sl = slice(edges[g], edges[g + 1])
        x[sl, g * per_group:(g + 1) * per_group] = \
            rng.random((edges[g + 1] - edges[g], per_group)) < p
    return x
