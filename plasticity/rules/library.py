"""Plasticity rules from the literature, each written once in the rule language.

Every function returns an :class:`~plasticity.rules.equations.EquationRule`; its text
(``rule.text``) is the whole definition. Values marked UNVERIFIED were not checked
against the paper's text here.
"""
from .._validation import check_nonnegative, check_positive, check_range
from .equations import EquationRule

__all__ = ["vogels_sprekeler_2011", "tsodyks_markram_1997", "clopath_2010"]


def vogels_sprekeler_2011(eta=1e-4, rho0=3.0, tau_stdp=20.0, w_min=0.0, w_max=10.0,
                          name="vogels_sprekeler_2011"):
    """Inhibitory STDP of Vogels, Sprekeler, Zenke, Clopath & Gerstner (2011).

    A symmetric window (pre and post traces with ``tau_stdp``) potentiates for
    near-coincident spikes in either order; every presynaptic spike also depresses
    by ``eta * alpha`` with ``alpha = 2 rho0 tau_stdp``, so that the postsynaptic rate
    settles at ``rho0``::

        on_pre:  Apre += 1;  w = clip(w + eta (Apost - alpha), w_min, w_max)
        on_post: Apost += 1; w = clip(w + eta Apre, w_min, w_max)

    Parameters
    ----------
    eta : float
        Learning rate (weight units), >= 0. 1e-4 as the paper (UNVERIFIED).
    rho0 : float
        Target postsynaptic rate (Hz), >= 0; 3 Hz in the paper's network (UNVERIFIED:
        5 Hz is also quoted for the single-cell model).
    tau_stdp : float
        Time constant of both traces (ms), > 0; 20 ms as the paper.
    w_min, w_max : float
        Weight bounds (the weights are inhibitory conductance jumps, >= 0).
    """
    eta = check_nonnegative("eta", eta)
    rho0 = check_nonnegative("rho0", rho0, "Hz")
    tau_stdp = check_positive("tau_stdp", tau_stdp, "ms")
    w_min = check_range("w_min", w_min, 0.0)
    w_max = check_range("w_max", w_max, w_min)
    return EquationRule(
        model="""
        dApre/dt = -Apre / tau_stdp : 1 (event-driven)
        dApost/dt = -Apost / tau_stdp : 1 (event-driven)
        """,
        on_pre="""
        Apre += 1
        w = clip(w + eta * (Apost - alpha), w_min, w_max)
        """,
        on_post="""
        Apost += 1
        w = clip(w + eta * Apre, w_min, w_max)
        """,
        params=dict(eta=eta, alpha=2.0 * rho0 * 1e-3 * tau_stdp, tau_stdp=tau_stdp,
                    w_min=w_min, w_max=w_max),
        name=name)


def tsodyks_markram_1997(U=0.5, tau_d=800.0, tau_f=None, receptor="g_e",
                         name="tsodyks_markram_1997"):
    """Short-term depression (Tsodyks & Markram 1997) and facilitation (Tsodyks,
    Pawelzik & Markram 1998), the rule owning the delivery.

    Per presynaptic neuron, the available resources ``x`` recover to 1 with
    ``tau_d``; with ``tau_f`` the utilisation ``u`` decays to 0 with ``tau_f`` and
    jumps by ``U (1 - u)`` at a spike before it is used (without ``tau_f``, u = U).
    A spike delivers ``w u x`` and uses ``u x`` of the resources::

        on_pre: u += U (1 - u);  receptor += w u x;  x -= u x

    Parameters
    ----------
    U : float
        Utilisation increment, in (0, 1]. Depressing synapses: 0.5, tau_d 800 ms
        (UNVERIFIED); facilitating: U 0.03 (UNVERIFIED), tau_d 130 ms, tau_f 530 ms
        (UNVERIFIED).
    tau_d : float
        Recovery time constant of the resources (ms), > 0.
    tau_f : float or None
        Facilitation time constant (ms), > 0; None for depression only.
    receptor : str
        The postsynaptic receptor variable the rule delivers to (``g_e``,
        ``I_syn_ex``, ...); it must be the projection's ``target``.
    """
    U = check_range("U", U, 0.0, 1.0)
    if U == 0.0:
        raise ValueError("U must be in (0, 1], got 0.0")
    tau_d = check_positive("tau_d", tau_d, "ms")
    if not isinstance(receptor, str) or not receptor.isidentifier():
        raise ValueError(f"receptor must be the name of a receptor variable, got "
                         f"{receptor!r}")
    params = dict(U=U, tau_d=tau_d)
    if tau_f is None:
        model = """
        dx/dt = (1 - x) / tau_d : 1 (event-driven)
        u : 1 (pre)
        """
        on_pre = f"""
        u = U
        {receptor} += w * u * x
        x -= u * x
        """
    else:
        params["tau_f"] = check_positive("tau_f", tau_f, "ms")
        model = """
        dx/dt = (1 - x) / tau_d : 1 (event-driven)
        du/dt = -u / tau_f : 1 (event-driven)
        """
        on_pre = f"""
        u += U * (1 - u)
        {receptor} += w * u * x
        x -= u * x
        """
    rule = EquationRule(model=model, on_pre=on_pre, params=params, init={"x": 1.0},
                        name=name)
    rule.receptor = receptor
    return rule


def clopath_2010(A_LTD=14e-5, A_LTP=8e-5, theta_minus=-70.6, theta_plus=-45.3,
                 tau_minus=10.0, tau_plus=7.0, tau_x=15.0, w_min=0.0, w_max=3.0,
                 name="clopath_2010"):
    """Voltage-based STDP of Clopath, Büsing, Vasilaki & Gerstner (2010), without the
    homeostatic scaling of A_LTD.

    The postsynaptic membrane potential ``v`` (read before the reset, so that the
    spike's depolarisation counts) is low-pass filtered twice per postsynaptic
    neuron (``u_minus`` with ``tau_minus``, ``u_plus`` with ``tau_plus``); a
    presynaptic trace ``x_bar`` jumps by 1/tau_x at each presynaptic spike. A
    presynaptic spike depresses by ``A_LTD [u_minus - theta_minus]+``; every step
    potentiates by ``dt A_LTP x_bar [v - theta_plus]+ [u_plus - theta_minus]+``
    (forward Euler, as the paper's own integration). Weights are clipped to
    [w_min, w_max].

    Parameters are the paper's visual-cortex set (as NEST's ``clopath_synapse``
    defaults; UNVERIFIED against the paper's table here); potentials in mV, times in
    ms, ``A_LTD`` in 1/mV, ``A_LTP`` in 1/mV^2 (weight units per ms). Use it with
    :class:`~plasticity.neurons.AdEx` postsynaptic neurons (the paper's).
    """
    for k, v in (("A_LTD", A_LTD), ("A_LTP", A_LTP)):
        check_nonnegative(k, v)
    for k, v in (("tau_minus", tau_minus), ("tau_plus", tau_plus), ("tau_x", tau_x)):
        check_positive(k, v, "ms")
    w_max = check_range("w_max", w_max, w_min)
    return EquationRule(
        model="""
        du_minus/dt = (v_post - u_minus) / tau_minus : mV (clock-driven)
        du_plus/dt = (v_post - u_plus) / tau_plus : mV (clock-driven)
        dx_bar/dt = -x_bar / tau_x : 1 (event-driven)
        """,
        on_pre="""
        w = clip(w - A_LTD * clip(u_minus - theta_minus, 0, inf), w_min, w_max)
        x_bar += 1 / tau_x
        """,
        on_step="""
        w = clip(w + dt * A_LTP * x_bar * clip(v_post - theta_plus, 0, inf) * clip(u_plus - theta_minus, 0, inf), w_min, w_max)
        """,
        params=dict(A_LTD=float(A_LTD), A_LTP=float(A_LTP), theta_minus=float(theta_minus),
                    theta_plus=float(theta_plus), tau_minus=tau_minus, tau_plus=tau_plus,
                    tau_x=tau_x, w_min=float(w_min), w_max=w_max),
        init={"u_minus": theta_minus, "u_plus": theta_minus},
        name=name)
