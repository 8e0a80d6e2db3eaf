"""B4: a balanced E/I network at cortical scale, ours vs NEST 3.10 (and Brian2).

The size of the Potjans & Diesmann (2014) microcircuit in a Brunel (2000)-style
balanced network: N_E = 64,000 excitatory and N_I = 16,000 inhibitory current-based
LIF neurons with exponential synaptic currents (NEST ``iaf_psc_exp``; ours ``LIF``,
the same exact integration), each receiving K_E = 3,000 excitatory and K_I = 750
inhibitory synapses (``fixed_indegree``, no autapses, no multapses): 300M synapses,
of which the 192M E->E carry additive all-to-all pair STDP (NEST
``stdp_synapse_hom``; ours ``STDP(Pair, Additive)``). 1 s of biology at dt 0.1 ms,
one delay of 1.5 ms for all synapses.

Parameters (scale 1): tau_m 20 ms, C_m 250 pF, E_L -70 mV, V_th -50 mV, V_reset
-60 mV, t_ref 2 ms, tau_syn 0.5 ms; J = 100 pA (PSP ~0.18 mV), inhibitory -g J
with g = 5; a bias current I_e = 120 pA (9.6 mV) and external Poisson drive of
2 kHz per neuron with weight 2 J (16 mV of mean drive): ours
``Network.add_poisson_input(N=2, rate=1 kHz)``, a Poisson count of mean 0.2 per neuron
and step (``--ours-drive sources``: the former drive, 2 Poisson source neurons of 1 kHz
per neuron through a static one-synapse-each projection with the 1.5 ms delay, a
Bernoulli spike per source and step); NEST: a ``poisson_generator`` of 2 kHz (a
Poisson count per target and step); Brian2: ``PoissonInput(N=2, rate=1 kHz)`` (a
binomial count of 2 trials per step). STDP: tau_plus = tau_minus =
20 ms, W_max = 2 J, lambda = 0.005, alpha = 1.05 (NEST), i.e. a_plus = lambda W_max,
a_minus = alpha lambda W_max (ours). Initial V uniform in [V_reset, V_th).

``--scale s`` multiplies N and K by s and J by 1/sqrt(s) (the recurrent
fluctuations stay the same); the bias current is lowered by the mean recurrent input
the smaller K no longer provides at the nominal rate of 5 Hz (as Potjans & Diesmann's
DC compensation), so that small scales stay in the same regime (down to about
scale 0.05, K_E = 150: 5 Hz; below ~0.04 the network falls silent).

Each side runs in a fresh process (started through GNU time: peak RSS and CPU are
that process's own, construction included). Reported per side and thread count:
build wall/CPU s (ours: populations + connectivity; NEST: Create + Connect +
``nest.Prepare``, where NEST sorts its connections), simulation wall/CPU s of 1 s
of biology, peak RSS, our matrix bytes per synapse and peak RSS / matrix bytes, E
and I rates and the mean CV of the inter-spike intervals (E neurons with >= 3
spikes).

Brian2 ``cpp_standalone`` (``--sides ours,nest,brian2``) at reduced scale only: its
synapses with event-driven STDP cost ~60 B each (measured at scale 0.1), ~18 GB
for 300M.

    python benchmarks/b4_cortical.py [--scale 0.1] [--threads 1,2]
        [--sides ours,nest[,brian2]] [--nest-scale S] [--brian2-scale S]
        [--ours-drive input|sources] [--duration 1000] [--json FILE]
"""
import argparse
import json
import math
import os
import resource
import sys
import time

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import common  # noqa: E402

NAME = "B4 cortical scale: 64k E + 16k I LIF, K 3,750 (300M synapses), STDP on E->E"

# the model at scale 1
BASE = dict(N_E=64_000, N_I=16_000, K_E=3_000, K_I=750, J=100.0, g=5.0, J_ext_factor=2.0,
            n_ext=2, rate_ext=1000.0, I_e=120.0, nu0=5.0, tau_m=20.0, C_m=250.0,
            E_L=-70.0, V_th=-50.0, V_reset=-60.0, t_ref=2.0, tau_syn=0.5, delay=1.5,
            dt=0.1, tau_plus=20.0, tau_minus=20.0, lam=0.005, alpha=1.05,
            Wmax_factor=2.0, seed=12345, drive="input")

DRIVES = ("input", "sources")   # ours: Network.add_poisson_input, or source neurons


def model(scale, **over):
    """The parameters at ``scale`` (N and K times scale, J / sqrt(scale), bias
    current compensated for the missing mean recurrent input)."""
    if not (isinstance(scale, (int, float)) and 0 < scale <= 1):
        raise ValueError(f"scale must be a number in (0, 1], got {scale!r}")
    c = dict(BASE, **over)
    if c["drive"] not in DRIVES:
        raise ValueError(f"drive must be one of {DRIVES}, got {c['drive']!r}")
    c["scale"] = float(scale)
    c["N_E"] = max(1, int(round(c["N_E"] * scale)))
    c["N_I"] = max(1, int(round(c["N_I"] * scale)))
    c["K_E"] = max(1, int(round(c["K_E"] * scale)))
    c["K_I"] = max(1, int(round(c["K_I"] * scale)))
    J0 = c["J"]
    c["J"] = J0 / math.sqrt(scale)
    # mean recurrent input (mV) at the nominal rate, K J tau_syn tau_m / C per Hz
    per = c["tau_syn"] * c["tau_m"] / c["C_m"] * c["nu0"] * 1e-3

    def mu_rec(K_E, K_I, J):
        return (K_E - c["g"] * K_I) * J * per
    full = mu_rec(BASE["K_E"], BASE["K_I"], J0)
    here = mu_rec(c["K_E"], c["K_I"], c["J"])
    c["I_e"] = c["I_e"] + (full - here) * c["C_m"] / c["tau_m"]
    c["J_ext"] = c["J_ext_factor"] * J0        # the external drive does not scale
    c["Wmax"] = c["Wmax_factor"] * c["J"]
    c["a_plus"] = c["lam"] * c["Wmax"]
    c["a_minus"] = c["alpha"] * c["lam"] * c["Wmax"]
    c["n_syn"] = (c["N_E"] + c["N_I"]) * (c["K_E"] + c["K_I"])
    c["n_stdp"] = c["N_E"] * c["K_E"]
    return c


def rusage_peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _stats(times, ids, n, duration_ms):
    """(mean rate Hz, mean CV of ISIs over neurons with >= 3 spikes, n such neurons)."""
    import numpy as np
    times = np.asarray(times, dtype=np.float64)
    ids = np.asarray(ids, dtype=np.int64)
    rate = len(times) / n / (duration_ms * 1e-3)
    if len(times) == 0:
        return rate, float("nan"), 0
    order = np.lexsort((times, ids))
    t, i = times[order], ids[order]
    isi = np.diff(t)
    same = i[1:] == i[:-1]
    isi, who = isi[same], i[1:][same]
    cnt = np.bincount(who, minlength=n)
    s1 = np.bincount(who, weights=isi, minlength=n)
    s2 = np.bincount(who, weights=isi * isi, minlength=n)
    ok = cnt >= 2
    if not ok.any():
        return rate, float("nan"), 0
    m = s1[ok] / cnt[ok]
    var = np.maximum(s2[ok] / cnt[ok] - m * m, 0.0)
    cv = np.sqrt(var) / m
    return rate, float(np.mean(cv)), int(ok.sum())


def _mean_std(w, chunk=1 << 22):
    """Mean and standard deviation of ``w`` in float64, in chunks (np.std of 192M
    float32 weights in float64 would hold a 1.5 GB temporary)."""
    import numpy as np
    n = w.shape[0]
    if n == 0:
        return float("nan"), float("nan")
    s = sum(float(np.sum(w[a:a + chunk], dtype=np.float64)) for a in range(0, n, chunk))
    m = s / n
    q = sum(float(np.sum((w[a:a + chunk].astype(np.float64) - m) ** 2))
            for a in range(0, n, chunk))
    return m, (q / n) ** 0.5


# ----------------------------------------------------------------- ours
def ours_build(c, threads):
    """The network in our engine; returns (net, monitors, projections)."""
    import numpy as np
    from plasticity.network import Network
    from plasticity.neurons import LIF
    from plasticity.rules.stdp import STDP, Additive, Pair
    from plasticity.synapses import SynapseMatrix
    net = Network(dt=c["dt"], seed=c["seed"], threads=threads)
    lif = LIF(tau_m=c["tau_m"], C_m=c["C_m"], E_L=c["E_L"], V_th=c["V_th"],
              V_reset=c["V_reset"], t_ref=c["t_ref"], tau_syn_ex=c["tau_syn"],
              tau_syn_in=c["tau_syn"])
    rng = np.random.default_rng(c["seed"])
    NE, NI, KE, KI = c["N_E"], c["N_I"], c["K_E"], c["K_I"]
    E = net.add_population("E", NE, lif, init={
        "v": rng.uniform(c["V_reset"], c["V_th"], NE), "I_ext": c["I_e"]})
    I = net.add_population("I", NI, lif, init={
        "v": rng.uniform(c["V_reset"], c["V_th"], NI), "I_ext": c["I_e"]})
    d = int(round(c["delay"] / c["dt"]))
    f32 = np.float32
    projs = []
    for pop, name in ((E, "XE"), (I, "XI")):
        if c.get("drive", "input") == "input":
            net.add_poisson_input(pop, "I_syn_ex", c["n_ext"], c["rate_ext"], c["J_ext"],
                                  name=name)
            continue
        n = pop.n * c["n_ext"]
        X = net.add_poisson(name, n, rates=c["rate_ext"])
        syn = SynapseMatrix(np.arange(n + 1), np.arange(n) // c["n_ext"],
                            np.full(n, c["J_ext"], dtype=f32), shape=(n, pop.n),
                            delay=d)
        projs.append(net.connect(X, pop, syn, target="I_syn_ex"))
    # the STDP projection last: the others' transients are gone by then
    for pre, post, K, w, tgt in ((I, I, KI, -c["g"] * c["J"], "I_syn_in"),
                                 (I, E, KI, -c["g"] * c["J"], "I_syn_in"),
                                 (E, I, KE, c["J"], "I_syn_ex")):
        syn = SynapseMatrix.fixed_indegree(pre.n, post.n, K, weight=w, rng=rng,
                                           allow_self=pre is not post, dtype=f32,
                                           delay=d)
        projs.append(net.connect(pre, post, syn, target=tgt))
    syn = SynapseMatrix.fixed_indegree(NE, NE, KE, weight=c["J"], rng=rng,
                                       allow_self=False, dtype=f32, delay=d)
    rule = STDP(Pair(tau_plus=c["tau_plus"], tau_minus=c["tau_minus"],
                     a_plus=c["a_plus"], a_minus=c["a_minus"]),
                Additive(w_min=0.0, w_max=c["Wmax"]))
    projs.append(net.connect(E, E, syn, target="I_syn_ex", rule=rule))
    mons = (net.monitor_spikes(E), net.monitor_spikes(I))
    return net, mons, projs


def ours_child(c):
    threads = c["threads"]
    rss0 = rusage_peak()
    w0, c0 = time.perf_counter(), time.process_time()
    net, (mE, mI), projs = ours_build(c, threads)
    build_wall, build_cpu = time.perf_counter() - w0, time.process_time() - c0
    rss_build = rusage_peak()
    nnz = sum(p.synapses.nnz for p in projs)
    rec = [p for p in projs if not p.name.startswith("X")]
    rec_nnz = sum(p.synapses.nnz for p in rec)
    matrix = sum(p.synapses.nbytes for p in projs)
    rec_bytes = sum(p.synapses.nbytes for p in rec)
    w1, c1 = time.perf_counter(), time.process_time()
    net.run(c["duration"], progress=False)
    sim_wall, sim_cpu = time.perf_counter() - w1, time.process_time() - c1
    rE, cvE, nE = _stats(mE.times, mE.ids, c["N_E"], c["duration"])
    rI, cvI, _ = _stats(mI.times, mI.ids, c["N_I"], c["duration"])
    w_mean, w_std = _mean_std(projs[-1].synapses.weights)
    rss_peak = rusage_peak()
    return dict(build_wall_s=build_wall, build_cpu_s=build_cpu, sim_wall_s=sim_wall,
                sim_cpu_s=sim_cpu, threads_used=net._run_threads(), nnz=nnz,
                drive=c.get("drive", "input"),
                rec_nnz=rec_nnz, matrix_bytes=matrix, rec_matrix_bytes=rec_bytes,
                bytes_per_synapse=matrix / nnz, rss_start=rss0, rss_after_build=rss_build,
                rss_peak_self=rss_peak, rate_E=rE, rate_I=rI, cv_E=cvE,
                n_cv=nE, w_ee_mean=w_mean, w_ee_std=w_std)


# ----------------------------------------------------------------- NEST
def nest_child(c):
    import numpy as np
    rss0 = rusage_peak()
    import nest
    try:
        nest.verbosity = nest.VerbosityLevel.ERROR
    except AttributeError:
        nest.set_verbosity("M_ERROR")
    w0, c0 = time.perf_counter(), time.process_time()
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": c["dt"], "local_num_threads": c["threads"],
                          "rng_seed": c["seed"], "print_time": False})
    params = dict(tau_m=c["tau_m"], C_m=c["C_m"], E_L=c["E_L"], V_th=c["V_th"],
                  V_reset=c["V_reset"], t_ref=c["t_ref"], tau_syn_ex=c["tau_syn"],
                  tau_syn_in=c["tau_syn"], I_e=c["I_e"], tau_minus=c["tau_minus"])
    E = nest.Create("iaf_psc_exp", c["N_E"], params=params)
    I = nest.Create("iaf_psc_exp", c["N_I"], params=params)
    for pop in (E, I):
        pop.V_m = nest.random.uniform(c["V_reset"], c["V_th"])
    pg = nest.Create("poisson_generator", params={"rate": c["n_ext"] * c["rate_ext"]})
    d = c["delay"]
    nest.Connect(pg, E + I, syn_spec={"weight": c["J_ext"], "delay": d})
    nest.CopyModel("stdp_synapse_hom", "stdp_ee",
                   {"tau_plus": c["tau_plus"], "lambda": c["lam"], "alpha": c["alpha"],
                    "mu_plus": 0.0, "mu_minus": 0.0, "Wmax": c["Wmax"]})
    for pre, post, K, w in ((I, I, c["K_I"], -c["g"] * c["J"]),
                            (I, E, c["K_I"], -c["g"] * c["J"]),
                            (E, I, c["K_E"], c["J"])):
        nest.Connect(pre, post, {"rule": "fixed_indegree", "indegree": K,
                                 "allow_autapses": pre is not post, "allow_multapses": False},
                     {"synapse_model": "static_synapse", "weight": w, "delay": d})
    nest.Connect(E, E, {"rule": "fixed_indegree", "indegree": c["K_E"],
                        "allow_autapses": False, "allow_multapses": False},
                 {"synapse_model": "stdp_ee", "weight": c["J"], "delay": d})
    sE = nest.Create("spike_recorder")
    sI = nest.Create("spike_recorder")
    nest.Connect(E, sE)
    nest.Connect(I, sI)
    connect_wall = time.perf_counter() - w0
    nest.Prepare()
    build_wall, build_cpu = time.perf_counter() - w0, time.process_time() - c0
    rss_build = rusage_peak()
    nnz = nest.GetKernelStatus("num_connections")
    w1, c1 = time.perf_counter(), time.process_time()
    nest.Run(c["duration"])
    sim_wall, sim_cpu = time.perf_counter() - w1, time.process_time() - c1
    nest.Cleanup()
    ev = sE.get("events")
    rE, cvE, nE = _stats(ev["times"], np.asarray(ev["senders"]) - E[0].global_id,
                         c["N_E"], c["duration"])
    ev = sI.get("events")
    rI, cvI, _ = _stats(ev["times"], np.asarray(ev["senders"]) - I[0].global_id,
                        c["N_I"], c["duration"])
    out = dict(build_wall_s=build_wall, build_cpu_s=build_cpu, connect_wall_s=connect_wall,
               sim_wall_s=sim_wall, sim_cpu_s=sim_cpu, threads_used=c["threads"],
               nnz=int(nnz), rss_start=rss0, rss_after_build=rss_build,
               rss_peak_self=rusage_peak(), rate_E=rE, rate_I=rI, cv_E=cvE, n_cv=nE)
    if c["scale"] <= 0.05:   # reading 192M weights back would cost memory and time
        w = np.asarray(nest.GetConnections(E, E, synapse_model="stdp_ee").get("weight"))
        out.update(w_ee_mean=float(w.mean()), w_ee_std=float(w.std()))
    return out


# ----------------------------------------------------------------- Brian2
def brian2_child(c):
    """Brian2 ``cpp_standalone`` with ``c['threads']`` OpenMP threads: the same model,
    the same connectivity (our fixed_indegree arrays handed to ``connect(i=, j=)``),
    external drive as ``PoissonInput(N=n_ext)`` (a binomial count per step: the sum
    of our n_ext Bernoulli sources). Build = code generation + compilation (wall,
    a cold build); the binary's own run (synapse creation, then ``Network::run``)
    in a fresh process: sim CPU = its ``std::clock`` of ``Network::run`` (all
    threads), sim wall = the binary's wall time, peak RSS = the binary's."""
    import shutil
    import numpy as np
    import brian2 as b2
    from brian2 import ms, pA, pF, mV, Hz
    from plasticity.synapses import SynapseMatrix
    directory = common.brian2_standalone_dir("b4")
    b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
    # one thread: no OpenMP at all (Brian2 warns that its OpenMP code is less tested)
    b2.prefs.devices.cpp_standalone.openmp_threads = 0 if c["threads"] == 1 else \
        int(c["threads"])
    b2.defaultclock.dt = c["dt"] * ms
    eqs = """dv/dt = (E_L - v) / tau_m + (I_ex + I_in + I_e) / C_m : volt (unless refractory)
             dI_ex/dt = -I_ex / tau_s : amp
             dI_in/dt = -I_in / tau_s : amp"""
    ns = dict(E_L=c["E_L"] * mV, tau_m=c["tau_m"] * ms, C_m=c["C_m"] * pF,
              I_e=c["I_e"] * pA, tau_s=c["tau_syn"] * ms, V_th=c["V_th"] * mV,
              V_reset=c["V_reset"] * mV, tau_plus=c["tau_plus"] * ms,
              tau_minus=c["tau_minus"] * ms, a_plus=c["a_plus"] * pA,
              a_minus=c["a_minus"] * pA, Wmax=c["Wmax"] * pA, J=c["J"] * pA,
              JI=-c["g"] * c["J"] * pA)
    rng = np.random.default_rng(c["seed"])
    groups = {}
    for name, n in (("E", c["N_E"]), ("I", c["N_I"])):
        G = b2.NeuronGroup(n, eqs, threshold="v >= V_th", reset="v = V_reset",
                           refractory=c["t_ref"] * ms, method="exact", namespace=ns,
                           name=name)
        G.v = rng.uniform(c["V_reset"], c["V_th"], n) * mV
        groups[name] = G
    objs = list(groups.values())
    for G in groups.values():
        objs.append(b2.PoissonInput(G, "I_ex", c["n_ext"], c["rate_ext"] * Hz,
                                    weight=c["J_ext"] * pA))
    d = c["delay"] * ms
    for pre, post, K, on_pre in (("I", "I", c["K_I"], "I_in_post += JI"),
                                 ("I", "E", c["K_I"], "I_in_post += JI"),
                                 ("E", "I", c["K_E"], "I_ex_post += J")):
        m = SynapseMatrix.fixed_indegree(groups[pre].N, groups[post].N, K, rng=rng,
                                         allow_self=pre != post)
        S = b2.Synapses(groups[pre], groups[post], on_pre=on_pre, delay=d, namespace=ns,
                        name=f"{pre}_{post}")
        S.connect(i=m.pre_ids(), j=m.indices)
        objs.append(S)
    m = SynapseMatrix.fixed_indegree(c["N_E"], c["N_E"], c["K_E"], rng=rng,
                                     allow_self=False)
    S = b2.Synapses(groups["E"], groups["E"], model="""w : amp
        dApre/dt = -Apre / tau_plus : 1 (event-driven)
        dApost/dt = -Apost / tau_minus : 1 (event-driven)""",
                    on_pre="""I_ex_post += w
        w = clip(w - a_minus * Apost, 0 * pA, Wmax)
        Apre += 1""", on_post="""w = clip(w + a_plus * Apre, 0 * pA, Wmax)
        Apost += 1""", delay=d, namespace=ns, name="E_E")
    S.connect(i=m.pre_ids(), j=m.indices)
    S.w = c["J"] * pA
    objs.append(S)
    mE, mI = b2.SpikeMonitor(groups["E"]), b2.SpikeMonitor(groups["I"])
    net = b2.Network(*objs, mE, mI)
    net.run(c["duration"] * ms)
    build = common.brian2_build(directory)
    run = common.brian2_run_binary(1)[0]
    rE, cvE, nE = _stats(mE.t[:] / ms, mE.i[:], c["N_E"], c["duration"])
    rI, _, _ = _stats(mI.t[:] / ms, mI.i[:], c["N_I"], c["duration"])
    w = np.asarray(S.w[:] / pA)
    nnz = int(sum(len(o) for o in objs if isinstance(o, b2.Synapses)))
    shutil.rmtree(directory, ignore_errors=True)
    return dict(build_wall_s=build, build_cpu_s=float("nan"), sim_wall_s=run["wall_s"],
                sim_cpu_s=run["sim_cpu_s"], binary_cpu_s=run["proc_cpu_s"],
                binary_peak_rss=run["peak_rss_bytes"], threads_used=c["threads"],
                nnz=nnz, rate_E=rE, rate_I=rI, cv_E=cvE, n_cv=nE,
                w_ee_mean=float(w.mean()), w_ee_std=float(w.std()))


# ----------------------------------------------------------------- memory guard
# bytes per synapse assumed before starting a child (refused with a message when the
# estimate leaves less than RESERVE free): ours 16 in the matrix + 8 per STDP
# synapse while running (post-ordered weights and their positions); NEST 85 B per
# connection as measured here between scales 0.1 and 0.2 (stdp_synapse_hom and
# static_synapse, with its source table and construction buffers)
EST = dict(ours=(16.0, 8.0, 0.4e9), brian2=(75.0, 40.0, 0.5e9), nest=(float(os.environ.get("B4_NEST_B_PER_SYN",
                                                                   "85")), 0.0, 0.5e9))
RESERVE = 3 * 2**30


def estimate_bytes(side, c):
    per, per_stdp, base = EST[side]
    return c["n_syn"] * per + c["n_stdp"] * per_stdp + base


# ----------------------------------------------------------------- driver
def run_side(side, c, threads, timeout=None):
    from plasticity._memory import available_bytes, fmt_bytes
    cfg = dict(c, threads=threads)
    need = estimate_bytes(side, c)
    avail = available_bytes()
    if avail is not None and need + RESERVE > avail:
        print(f"  {side} at scale {c['scale']}: skipped, needs about {fmt_bytes(need)} "
              f"(estimate) and {fmt_bytes(avail)} is available (keeping "
              f"{fmt_bytes(RESERVE)} free)", file=sys.stderr)
        return None
    r = common.spawn_child(os.path.abspath(__file__), side, cfg, timeout=timeout)
    r.update(side=side, threads=threads, scale=c["scale"])
    if side == "brian2":   # the simulation's peak is the compiled binary's
        r["python_peak_rss"] = r["peak_rss_bytes"]
        r["peak_rss_bytes"] = r["binary_peak_rss"]
    return r


def fmt_row(r, c):
    mb = r["peak_rss_bytes"] / 2**20
    mat = r.get("matrix_bytes")
    ratio = f"{r['peak_rss_bytes'] / mat:.2f}" if mat else "-"
    bps = f"{r['bytes_per_synapse']:.2f}" if mat else "-"
    side = r["side"] + (" (sources)" if r.get("drive") == "sources" else "")
    return (f"| {side} | {r['scale']:g} | {r['nnz'] / 1e6:.1f}M | {r['threads']} "
            f"| {r['build_wall_s']:.1f} / {r['build_cpu_s']:.1f} "
            f"| {r['sim_wall_s']:.1f} / {r['sim_cpu_s']:.1f} | {mb:,.0f} | {bps} "
            f"| {ratio} | {r['rate_E']:.2f} / {r['rate_I']:.2f} | {r['cv_E']:.2f} |")


HEAD = ("| side | scale | synapses | threads | build wall / CPU s | sim wall / CPU s "
        "(1 s biology) | peak RSS MiB | matrix B/syn | peak RSS / matrix "
        "| rate E / I Hz | CV ISI E |\n|---|---|---|---|---|---|---|---|---|---|---|")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--nest-scale", type=float, default=None,
                    help="NEST at another scale (default: --scale)")
    ap.add_argument("--brian2-scale", type=float, default=None,
                    help="Brian2 at another scale (default: --scale)")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--sides", default="ours,nest")
    ap.add_argument("--ours-drive", default="input", choices=DRIVES,
                    help="our external drive: Network.add_poisson_input (input, the "
                         "default) or Poisson source neurons and a projection (sources)")
    ap.add_argument("--duration", type=float, default=1000.0, help="ms of biology")
    ap.add_argument("--json", default=None)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--config", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        cfg = json.loads(args.config)
        res = dict(ours=ours_child, nest=nest_child, brian2=brian2_child)[args.child](cfg)
        common.emit(res)
        return 0
    threads = [int(t) for t in args.threads.split(",")]
    sides = [s.strip() for s in args.sides.split(",") if s.strip()]
    for s in sides:
        if s not in ("ours", "nest", "brian2"):
            raise SystemExit(f"--sides: unknown side {s!r} (allowed: ours, nest, "
                             f"brian2)")
    if "nest" in sides and not common.nest_available():
        print("NEST not importable: running ours only", file=sys.stderr)
        sides = [s for s in sides if s != "nest"]
    print(f"# {NAME}")
    print(f"# uptime: {os.popen('uptime').read().strip()}")
    rows = []
    for t in threads:
        for s in sides:
            scale = {"nest": args.nest_scale, "brian2": args.brian2_scale}.get(s) \
                or args.scale
            c = model(scale, duration=args.duration, drive=args.ours_drive)
            print(f"# {s}, scale {scale:g}, {t} thread(s): {c['N_E']}+{c['N_I']} neurons, "
                  f"K {c['K_E']}+{c['K_I']}, {c['n_syn'] / 1e6:.1f}M recurrent synapses",
                  file=sys.stderr, flush=True)
            r = run_side(s, c, t)
            if r is not None:
                rows.append(r)
                print(fmt_row(r, c), file=sys.stderr, flush=True)
    print(HEAD)
    for r in rows:
        print(fmt_row(r, None))
    by = {(r["side"], r["threads"], r["scale"]): r for r in rows}
    for t in threads:
        for side in ("nest", "brian2"):
            o = by.get(("ours", t, args.scale))
            n = by.get((side, t, args.scale))
            if o and n:
                print(f"ratio {side} / ours at {t} thread(s): build wall "
                      f"{n['build_wall_s'] / o['build_wall_s']:.2f}x, sim wall "
                      f"{n['sim_wall_s'] / o['sim_wall_s']:.2f}x, sim CPU "
                      f"{n['sim_cpu_s'] / o['sim_cpu_s']:.2f}x, peak RSS "
                      f"{n['peak_rss_bytes'] / o['peak_rss_bytes']:.2f}x")
    print(f"# uptime: {os.popen('uptime').read().strip()}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(title=NAME, argv=sys.argv[1:], rows=rows), f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
