"""The outer loop shared by the one-shot learning experiments.

:func:`meta_train` runs Adam (or any optimiser with ``step``/``state``/``load_state``)
over fresh batches of tasks, evaluates at a fixed interval, checkpoints through a run
recorder and resumes exactly (parameters, optimiser state, curves, iteration and wall
time). :func:`best_learning_rate` is the grid search the baselines use (one-shot
e-prop at its best inner learning rate).
"""
from __future__ import annotations

import time

import numpy as np

from .._validation import check_int
from ..errors import SimulationError

__all__ = ["meta_train", "best_learning_rate", "record_outer_loop"]


def meta_train(params, opt, n_iter, train_step, evaluate, *, eval_every, recorder=None,
               log=None, desc="outer loop"):
    """Optimise ``params`` for ``n_iter`` outer iterations.

    Parameters
    ----------
    params : dict
        name -> array, updated in place (e.g. :meth:`OneShotLearning.parameters`).
    opt : optimiser
        ``opt.step(params, grads)``, ``opt.state()``, ``opt.load_state(state)``.
    train_step : callable
        ``train_step(iteration) -> (loss, grads)``: one batch of fresh tasks (drawn
        from the iteration number, so that a resumed run draws the same ones).
    evaluate : callable
        ``evaluate(iteration) -> dict`` of name -> float, called at iterations 0,
        ``eval_every``, ... and ``n_iter``; each value gets a curve.
    recorder : run recorder, optional
        Checkpoints (at the recorder's interval) and the resume state.

    Returns
    -------
    curves : dict
        ``"iteration"`` (evaluation points), one list per evaluated name, and
        ``"train_loss"`` (one value per iteration).
    wall : float
        Seconds of outer loop, including the time before a resume.
    """
    check_int("n_iter", n_iter, 0)
    check_int("eval_every", eval_every, 1)
    curves = {"iteration": [], "train_loss": []}
    it0, wall0 = 0, 0.0
    state = recorder.resume_state() if recorder is not None else None
    if state is not None:
        it0, wall0 = int(state["iteration"]), float(state["wall"])
        for k in params:
            params[k][...] = state["params"][k]
        opt.load_state(state["adam"])
        curves = {k: list(v) for k, v in state["curves"].items()}
    t0 = time.perf_counter() - wall0
    bar = recorder.progress(total=n_iter, initial=it0, desc=desc) \
        if recorder is not None else None
    for it in range(it0, n_iter + 1):
        if recorder is not None and it > it0:
            recorder.checkpoint(it, lambda: {
                "iteration": it, "wall": time.perf_counter() - t0, "adam": opt.state(),
                "curves": {k: np.array(v) for k, v in curves.items()},
                "params": {k: v.copy() for k, v in params.items()}})
        if it % eval_every == 0 or it == n_iter:
            vals = evaluate(it)
            curves["iteration"].append(it)
            for k, v in vals.items():
                curves.setdefault(k, []).append(float(v))
            if log:
                shown = "  ".join(f"{k} {v:.4f}" for k, v in vals.items())
                print(f"iter {it:5d}  {shown}  {time.perf_counter() - t0:.0f} s",
                      file=log, flush=True)
        if it == n_iter:
            break
        loss, grads = train_step(it)
        curves["train_loss"].append(float(loss))
        opt.step(params, grads)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return curves, time.perf_counter() - t0


def best_learning_rate(rates, score, *, higher_is_better=False):
    """The rate of ``rates`` with the best ``score(rate)``; a rate whose run diverges
    (SimulationError: non-finite state, or an arithmetic error) scores worst; any
    other error propagates.
    Returns (best rate, list of scores)."""
    bad = -np.inf if higher_is_better else np.inf
    scores = []
    for r in rates:
        try:
            scores.append(float(score(r)))
        except (SimulationError, ArithmeticError):
            scores.append(bad)
    k = int(np.argmax(scores) if higher_is_better else np.argmin(scores))
    return rates[k], scores


def record_outer_loop(recorder, curves, labels, params, *, per_item=(), scans=None,
                      rates=(), scan_label=""):
    """Store what every one-shot experiment stores in its run file.

    ``labels``: curve name -> y label (``curves/<name>``, against the evaluation
    iterations; ``train_loss`` against every iteration); ``per_item``: (group, dict of
    name -> per-episode values) pairs; ``scans``: name -> (best rate, scores over
    ``rates``) of :func:`best_learning_rate` (``eprop_eta_scan/<name>``); ``params``:
    the final parameters (``/features/weights/<name>``)."""
    x = np.asarray(curves["iteration"])
    for k, label in labels.items():
        kw = {} if k == "train_loss" else {"x": x}
        recorder.metric(f"curves/{k}", np.asarray(curves[k]), xlabel="outer iteration",
                        ylabel=label, **kw)
    for group, values in per_item:
        for k, v in values.items():
            recorder.metric(f"{group}/{k}", v)
    for name, (_, scores) in (scans or {}).items():
        recorder.metric(f"eprop_eta_scan/{name}", np.asarray(scores), x=np.asarray(rates),
                        xlabel="eta", ylabel=scan_label)
    for k, v in params.items():
        recorder.features(f"weights/{k}", v)
