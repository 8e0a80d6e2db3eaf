"""Plasticity rules from the literature, each written once in the rule language.

Every function returns an :class:`~plasticity.rules.equations.EquationRule`; its text
(``rule.text``) is the whole definition. Values marked UNVERIFIED were not checked
against the paper's text here.
"""
from .._validation import check_finite, check_nonnegative, check_positive, check_range
from .equations import EquationRule

__all__ = ["vogels_sprekeler_2011", "tsodyks_markram_1997", "clopath_2010",
           "graupner_brunel_2012", "van_rossum_2000"]


def vogels_sprekeler_2011(eta=1e-4, rho0=3.0, tau_stdp=20.0, w_min=0.0, w_max=10.0,
                          name="vogels_sprekeler_2011", post_delay=0.0):
    """Inhibitory STDP of Vogels, Sprekeler, Zenke, Clopath & Gerstner (2011).

    A symmetric window (pre and post traces with ``tau_stdp``) potentiates for
    near-coincident spikes in either order; every presynaptic spike also depresses
    by ``eta * alpha`` with ``alpha = 2 rho0 tau_stdp``, so that the postsynaptic rate
    settles at ``rho0`` for uncorrelated pre- and postsynaptic trains (an excess c of
    pre-post coincidences within ~tau_stdp moves it to ``rho0 / (1 + c)``; in
    ``experiments/vogels_sprekeler_2011.py`` c = 0.17: 5.3 Hz for rho0 = 6.25 Hz)::

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
        Weight bounds (the weights are inhibitory conductance jumps, >= 0);
        ``w_max=None``: no upper bound (the authors' single-cell code bounds the
        weights below only).
    post_delay : float
        ms by which the synapse sees the postsynaptic spikes late (EquationRule's
        ``post_delay``; a dendritic delay, as NEST's vogels_sprekeler_synapse).

    The authors' single-cell MATLAB code (ModelDB 143751, the Fig. 1 model; used by
    ``experiments/vogels_sprekeler_2011.py``) has eta = 1e-3 and alpha = 0.25 in
    units of its weight scale gbar_i: rho0 = 6.25 Hz.
    """
    eta = check_nonnegative("eta", eta)
    rho0 = check_nonnegative("rho0", rho0, "Hz")
    tau_stdp = check_positive("tau_stdp", tau_stdp, "ms")
    w_min = check_range("w_min", w_min, 0.0)
    params = dict(eta=eta, alpha=2.0 * rho0 * 1e-3 * tau_stdp, tau_stdp=tau_stdp,
                  w_min=w_min)
    if w_max is not None:
        params["w_max"] = check_range("w_max", w_max, w_min)
    hi = "w_max" if w_max is not None else "inf"
    return EquationRule(
        model="""
        dApre/dt = -Apre / tau_stdp : 1 (event-driven)
        dApost/dt = -Apost / tau_stdp : 1 (event-driven)
        """,
        on_pre=f"""
        Apre += 1
        w = clip(w + eta * (Apost - alpha), w_min, {hi})
        """,
        on_post=f"""
        Apost += 1
        w = clip(w + eta * Apre, w_min, {hi})
        """,
        params=params, name=name, post_delay=post_delay)


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
        # u = U throughout: a parameter, not a variable (a per-presynaptic u could
        # not follow per-synapse delays)
        model = """
        dx/dt = (1 - x) / tau_d : 1 (event-driven)
        """
        on_pre = f"""
        {receptor} += w * U * x
        x -= U * x
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
                 V_clamp=None, t_clamp=2.0, u_ref2=None, tau_homeo=1200.0, E_L=-70.6,
                 delay_u_bars=4.0, name="clopath_2010"):
    """Voltage-based STDP of Clopath, Büsing, Vasilaki & Gerstner (2010).

    The postsynaptic membrane potential ``u`` (``v_post`` read before the reset, so
    that the spike's depolarisation counts) is low-pass filtered twice per
    postsynaptic neuron (``u_minus`` with ``tau_minus``, ``u_plus`` with
    ``tau_plus``); a presynaptic trace ``x_bar`` jumps by 1/tau_x at each presynaptic
    spike. A presynaptic spike depresses by ``A_LTD [u_minus_d - theta_minus]+``;
    every step potentiates by ``dt A_LTP x_bar [u - theta_plus]+ [u_plus_d -
    theta_minus]+`` (forward Euler, as the paper's own integration). Weights are
    clipped to [w_min, w_max].

    ``u_minus_d``, ``u_plus_d`` are u_minus and u_plus as they were ``delay_u_bars``
    ms earlier (the language's ``delayed()``: a ring buffer per postsynaptic neuron),
    as the authors' code (ModelDB 144566, VoTri.m: ``u_md(t-3)``, ``u_mp(t-3)`` at
    1 ms steps, "to read the value of the voltage trace before this spike") and
    NEST's ``aeif_psc_delta_clopath`` (``delay_u_bars``: default 5 ms, 4 ms in its
    pairing example; "not described in Clopath et al. 2010 but present in the code
    which was presumably used to create the figures") read them: a spike's own
    depolarisation (2 ms at ~30 mV in the paper's neuron) does not potentiate
    through u_plus. Default 4 ms: the authors' lag between the newest filtered value
    (``u_mp(t+1)``) and the one read, and NEST's pairing example; it must be a whole
    number of steps. ``delay_u_bars=None`` reads them undelayed (the paper's text;
    Larisch's ReScience reimplementation).

    Options of the paper's model, off by default:

    - ``V_clamp`` (mV): the spike as the paper's neuron has it, ``u = V_clamp`` for
      ``t_clamp`` ms from the postsynaptic spike (a counter set by ``on_post``), then
      ``u = v_post``: for a neuron that spikes in one step
      (:class:`~plasticity.neurons.AdEx`, with ``t_ref=t_clamp`` so that v is held
      meanwhile). :class:`~plasticity.neurons.AdExClopath` holds its spike itself
      (v is V_clamp for t_clamp from the spike step): use it with ``u = v_post``,
      the default.
    - ``u_ref2`` (mV^2): the homeostatic LTD amplitude ``A_LTD u_bar_bar / u_ref2``,
      ``u_bar_bar`` the low-pass (``tau_homeo``) of ``[u - E_L]+^2``, starting at
      ``u_ref2``. This is the authors' MATLAB form (ModelDB 144566, as read by
      Larisch's ReScience reimplementation: tau 1200 ms, u_ref2 = 60 mV^2);
      the paper's text writes ``A_LTD u_bar_bar^2 / u_ref^2`` with u_bar_bar a ~1 s
      mean: UNVERIFIED which of the two the paper's figures used. Not delayed (as
      NEST).

    Parameters are the paper's visual-cortex set (as NEST's ``clopath_synapse`` and
    the ReScience reimplementation; UNVERIFIED against the paper's table here);
    potentials in mV, times in ms, ``A_LTD`` in 1/mV, ``A_LTP`` in 1/mV^2 (weight
    units per ms). Use it with :class:`~plasticity.neurons.AdExClopath` (the
    paper's neuron) or :class:`~plasticity.neurons.AdEx` postsynaptic neurons.
    """
    for k, v in (("A_LTD", A_LTD), ("A_LTP", A_LTP)):
        check_nonnegative(k, v)
    for k, v in (("tau_minus", tau_minus), ("tau_plus", tau_plus), ("tau_x", tau_x),
                 ("t_clamp", t_clamp), ("tau_homeo", tau_homeo)):
        check_positive(k, v, "ms")
    # the potentials and w_min checked by name (float('x') was NumPy's "could not
    # convert", a string w_min "'<' not supported", a string E_L was kept unused)
    theta_minus = check_finite("theta_minus", theta_minus, "mV")
    theta_plus = check_finite("theta_plus", theta_plus, "mV")
    E_L = check_finite("E_L", E_L, "mV")
    w_max = check_range("w_max", w_max, check_finite("w_min", w_min))
    params = dict(A_LTD=float(A_LTD), A_LTP=float(A_LTP), theta_minus=theta_minus,
                  theta_plus=theta_plus, tau_minus=tau_minus, tau_plus=tau_plus,
                  tau_x=tau_x, w_min=float(w_min), w_max=w_max)
    init = {"u_minus": theta_minus, "u_plus": theta_minus}
    u, u_p, u_m, extra, on_post, ltd = "v_post", "u_plus", "u_minus", "", "", "A_LTD"
    if delay_u_bars is not None:
        params.update(delay_u_bars=check_nonnegative("delay_u_bars", delay_u_bars, "ms"))
        u_p, u_m = "u_plus_d", "u_minus_d"
        extra += """
        u_minus_d = delayed(u_minus, delay_u_bars) : mV
        u_plus_d = delayed(u_plus, delay_u_bars) : mV"""
    if V_clamp is not None:
        on_post = "clamp = t_clamp"
        u = "u"
        extra += """
        dclamp/dt = -1 : 1 (event-driven)
        u = (clamp > 0.5 * dt) * V_clamp + (clamp <= 0.5 * dt) * v_post : mV"""
        params.update(t_clamp=float(t_clamp),
                      V_clamp=check_finite("V_clamp", V_clamp, "mV"))
    if u_ref2 is not None:
        ltd = "A_LTD * u_bar_bar / u_ref2"
        extra += f"""
        du_bar_bar/dt = (clip({u} - E_L, 0, inf)**2 - u_bar_bar) / tau_homeo : 1 (clock-driven)"""
        params.update(u_ref2=check_positive("u_ref2", u_ref2, "mV^2"),
                      tau_homeo=float(tau_homeo), E_L=float(E_L))
        init["u_bar_bar"] = float(u_ref2)
    return EquationRule(
        model=f"""
        du_minus/dt = ({u} - u_minus) / tau_minus : mV (clock-driven)
        du_plus/dt = ({u} - u_plus) / tau_plus : mV (clock-driven)
        dx_bar/dt = -x_bar / tau_x : 1 (event-driven){extra}
        """,
        on_pre=f"""
        w = clip(w - {ltd} * clip({u_m} - theta_minus, 0, inf), w_min, w_max)
        x_bar += 1 / tau_x
        """,
        on_post=on_post,
        on_step=f"""
        w = clip(w + dt * A_LTP * x_bar * clip({u} - theta_plus, 0, inf) * clip({u_p} - theta_minus, 0, inf), w_min, w_max)
        """,
        params=params, init=init, name=name)


#: Graupner & Brunel (2012) parameter sets (times in ms), as in the authors' code
#: (github.com/mgraupe/CalciumBasedPlasticityModel, synapticChange.py); the noise
#: amplitude sigma is listed but not used (the rule is the deterministic model).
GRAUPNER_BRUNEL_2012 = {
    # the fit to hippocampal cultures (Wang et al. 2005)
    "hippocampal_cultures": dict(tau_Ca=11.9536, C_pre=0.58156, C_post=1.76444,
                                 theta_d=1.0, theta_p=1.3, gamma_d=61.141,
                                 gamma_p=113.6545, sigma=2.5654, tau=33759.6,
                                 rho_star=0.5, D=10.0, beta=0.5, b=36.0263),
    # the fit to cortical slices (Sjöström et al. 2001), with its frequency dependence
    "cortical_slices": dict(tau_Ca=22.6936, C_pre=0.5617539, C_post=1.23964,
                            theta_d=1.0, theta_p=1.3, gamma_d=331.909, gamma_p=725.085,
                            sigma=3.3501, tau=346361.5, rho_star=0.5, D=4.6098,
                            beta=0.5, b=5.40988),
    # the "DP" example of the paper's Fig. 2 (the diversity of STDP curves)
    "DP": dict(tau_Ca=20.0, C_pre=1.0, C_post=2.0, theta_d=1.0, theta_p=1.3,
               gamma_d=200.0, gamma_p=321.808, sigma=2.8284, tau=150000.0,
               rho_star=0.5, D=13.7, beta=0.5, b=5.0),
}


def graupner_brunel_2012_max_dt(params, calcium=True):
    """The longest step (ms) at which the forward-Euler efficacy of
    :func:`graupner_brunel_2012` (parameters ``params``, a dict as
    :data:`GRAUPNER_BRUNEL_2012`'s) does not overshoot: ``tau / r``, r the largest
    relaxation rate of rho (times tau) at its stable states, ``max(rho_star, 1 -
    rho_star)``, plus ``gamma_p + gamma_d`` where the calcium can be above both
    thresholds (``calcium``). A longer step jumps past 0 or 1 (a step above twice it
    diverges): the bistability run at ``bistability_dt = 1e6`` ms ran and reported a
    wrong relaxation."""
    rs = params["rho_star"]
    r = max(rs, 1.0 - rs) + (params["gamma_p"] + params["gamma_d"] if calcium else 0.0)
    return params["tau"] / r


def graupner_brunel_2012(parameter_set="cortical_slices", rho0=0.0, w_down=1.0,
                         w_up=None, name="graupner_brunel_2012", **overrides):
    """Calcium-based plasticity with a bistable efficacy, Graupner & Brunel (2012),
    deterministic (without the noise term).

    Per synapse, the calcium ``c`` jumps by ``C_pre`` when a presynaptic spike
    arrives and by ``C_post`` at a postsynaptic spike, and decays with ``tau_Ca``.
    The efficacy ``rho`` follows (forward Euler, every step)::

        tau drho/dt = -rho (1 - rho) (rho_star - rho)
                      + gamma_p (1 - rho) [c > theta_p] - gamma_d rho [c > theta_d]

    with stable states rho = 0 (DOWN) and 1 (UP) and the unstable one ``rho_star``.
    The weight is the paper's readout, ``w = w_down + rho (w_up - w_down)``
    (``w_up / w_down = b``), set every step from rho (so it lags rho by one step).

    The presynaptic calcium arrives ``D`` ms after the presynaptic spike: the rule
    has no delay of its own; connect it with a ``SynapseMatrix`` whose delays are
    ``rule.delay`` (D rounded to the step), which delays the delivery of ``w`` too.

    Departures from the paper: no noise (the paper's sigma term; the language has no
    random numbers); the paper's curves are transition probabilities of the noisy
    model, the experiment reports the deterministic change (see
    ``experiments/graupner_brunel_2012.py``).

    Parameters
    ----------
    parameter_set : str
        A key of :data:`GRAUPNER_BRUNEL_2012`: ``"cortical_slices"`` (fit to
        Sjöström et al. 2001), ``"hippocampal_cultures"`` (fit to Wang et al. 2005)
        or ``"DP"`` (the paper's Fig. 2 example). Values from the authors' code;
        UNVERIFIED against the paper's Table S1 (which we could not read).
    rho0 : float or array
        Initial efficacy (per synapse), in [0, 1] for the paper's states.
    w_down, w_up : float
        Weights of the DOWN and UP states; ``w_up`` defaults to ``b * w_down``.
    overrides
        Any parameter of the set (``tau_Ca``, ``C_pre``, ..., in ms).
    """
    if parameter_set not in GRAUPNER_BRUNEL_2012:
        raise ValueError(f"parameter_set must be one of {sorted(GRAUPNER_BRUNEL_2012)}, "
                         f"got {parameter_set!r}")
    p = dict(GRAUPNER_BRUNEL_2012[parameter_set])
    for k, v in overrides.items():
        if k not in p:
            raise ValueError(f"unknown parameter {k!r} of graupner_brunel_2012 "
                             f"(parameters: {sorted(p)})")
        p[k] = check_finite(k, v)      # float('x') was NumPy's "could not convert"
    for k in ("tau_Ca", "tau"):
        check_positive(k, p[k], "ms")
    for k in ("C_pre", "C_post", "gamma_p", "gamma_d", "D"):
        check_nonnegative(k, p[k])
    w_down = check_nonnegative("w_down", w_down)
    w_up = p["b"] * w_down if w_up is None else check_range("w_up", w_up, w_down)
    rule = EquationRule(
        model="""
        dc/dt = -c / tau_Ca : 1 (event-driven)
        drho/dt = (-rho * (1 - rho) * (rho_star - rho) + gamma_p * (1 - rho) * int(c > theta_p) - gamma_d * rho * int(c > theta_d)) / tau : 1 (clock-driven)
        """,
        on_pre="c += C_pre",
        on_post="c += C_post",
        on_step="w = w_down + rho * (w_up - w_down)",
        params=dict(tau_Ca=p["tau_Ca"], C_pre=p["C_pre"], C_post=p["C_post"],
                    theta_d=p["theta_d"], theta_p=p["theta_p"], gamma_d=p["gamma_d"],
                    gamma_p=p["gamma_p"], tau=p["tau"], rho_star=p["rho_star"],
                    w_down=float(w_down), w_up=float(w_up)),
        init={"rho": rho0}, name=name)
    rule.delay = p["D"]
    rule.paper = p
    return rule


def van_rossum_2000(tau_stdp=20.0, c_p=1e-4, c_d=3e-3, tau_a=5000.0, a_goal=10.0,
                    beta=0.05, gamma=5e-6, w_min=0.0, w_max=1.0, name="van_rossum_2000"):
    """STDP with soft bounds and activity-dependent synaptic scaling, van Rossum, Bi &
    Turrigiano (2000).

    Pair STDP, all-to-all, one time constant ``tau_stdp``: potentiation is additive
    (``+c_p Apre`` at a postsynaptic spike), depression multiplicative (``-c_d w
    Apost`` at a presynaptic spike), so the weights settle around ``c_p / c_d``
    in a unimodal distribution without reaching the bounds. A per-neuron activity
    sensor ``a`` (a rate, jumping by ``1/tau_a`` at each postsynaptic spike)
    drives the scaling of all the neuron's weights every step (the paper's eq. 3,
    proportional and integral terms)::

        dw/dt = w (beta (a_goal - a) + gamma z),   dz/dt = a_goal - a

    Parameters
    ----------
    tau_stdp : float
        STDP window time constant (ms); 20 ms as the paper (UNVERIFIED).
    c_p, c_d : float
        Potentiation step (weight units) and relative depression step; the paper's
        c_d = 0.003 (UNVERIFIED), c_p in its conductance units.
    tau_a : float
        Time constant of the activity sensor (ms); the paper's 100 s (UNVERIFIED),
        5 s by default here so that scaling acts within a simulation of minutes.
    a_goal : float
        Target rate (Hz).
    beta : float
        Proportional scaling strength (s^-1 Hz^-1, i.e. dimensionless); the paper's
        4e-5 (UNVERIFIED) is for hours; faster by default here.
    gamma : float
        Integral scaling strength (s^-2 Hz^-1); the paper's 1e-7 (UNVERIFIED).
    w_min, w_max : float
        Clip bounds (not reached in normal operation).
    """
    for k, v in (("tau_stdp", tau_stdp), ("tau_a", tau_a)):
        check_positive(k, v, "ms")
    for k, v in (("c_p", c_p), ("c_d", c_d), ("a_goal", a_goal), ("beta", beta),
                 ("gamma", gamma)):
        check_nonnegative(k, v)
    w_max = check_range("w_max", w_max, check_finite("w_min", w_min))
    return EquationRule(
        model="""
        dApre/dt = -Apre / tau_stdp : 1 (event-driven)
        dApost/dt = -Apost / tau_stdp : 1 (event-driven)
        da/dt = -a / tau_a : Hz (event-driven)
        dz/dt = a_goal * Hz - a : 1 (clock-driven, post)
        """,
        on_pre="""
        Apre += 1
        w = clip(w - c_d * w * Apost, w_min, w_max)
        """,
        on_post="""
        Apost += 1
        a += 1 / tau_a
        w = clip(w + c_p * Apre, w_min, w_max)
        """,
        on_step="""
        w = clip(w + dt * w * (beta * (a_goal * Hz - a) + gamma / second * z), w_min, w_max)
        """,
        params=dict(tau_stdp=float(tau_stdp), c_p=float(c_p), c_d=float(c_d),
                    tau_a=float(tau_a), a_goal=float(a_goal), beta=float(beta),
                    gamma=float(gamma), w_min=float(w_min), w_max=w_max),
        name=name)
