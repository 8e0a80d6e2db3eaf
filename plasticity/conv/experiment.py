"""Shared driver of the Kheradpisheh experiments: fit the spiking network without
labels, extract features, train a LinearSVC, record everything in the run file."""
import time

import numpy as np

__all__ = ["conv_memory", "fit_and_evaluate", "fit_checkpoints", "readout",
           "record_kernels"]

#: bytes per input pixel and DoG channel of an encoded image kept by a fit (int16
#: spike times), and of an image being encoded (the DoG's float64 temporaries), per
#: thread; fitted to the peak RSS of fits on 200 and 1600 Caltech-sized images, 1
#: and 2 threads (tests/test_experiment_memory.py)
ENCODED_BYTES, ENCODING_BYTES = 2.0, 24.0
#: bytes per neuron of a conv layer's output for an image of a batch (int16 times,
#: float32 potentials, the kernels' buffers)
MAP_BYTES = 10.0


def conv_memory(layers, image_shape, channels, *, n_images, n_fit, n_features,
                batch=1000, chunk=1, threads=1):
    """Bytes a :class:`plasticity.conv.SpikingConvNet` experiment needs (an estimate):
    ``n_images`` uint8 images of ``image_shape``, a fit on ``n_fit`` of them (their
    encoding is kept while the layers train; ``threads`` encode chunks at once, as
    :meth:`SpikingConvNet.encode`), ``batch`` (or the training ``chunk``) images at a
    time through ``layers``, and ``n_features`` float64 features per image (the
    features, and the readout's copies). No work: the layer sizes follow from the
    shapes."""
    from .ops import out_size
    H, W = (int(x) for x in image_shape)
    pixels = float(H) * W
    b = max(int(batch), int(chunk))
    nt = max(1, int(threads))
    step = min(int(batch), -(-int(n_fit) // (4 * nt)) if nt > 1 else int(n_fit))
    per_image = 0.0
    for l in layers:
        st = 1 if l["type"] == "conv" else l["stride"]
        H, W = (out_size(n, l["size"], st, l.get("pad", 0)) for n in (H, W))
        if l["type"] == "conv":
            per_image += MAP_BYTES * int(l["maps"]) * max(H, 0) * max(W, 0)
    return (float(n_images) * pixels
            + channels * pixels * (ENCODED_BYTES * n_fit + ENCODING_BYTES * nt * step)
            + b * per_image + 3 * 8.0 * n_images * n_features)


def _dense_projection(recorder, name, w, pre, post, rule, params):
    F = w.shape[0]
    n_pre = int(np.prod(w.shape[1:]))
    data = np.ascontiguousarray(w.reshape(F, n_pre).T, dtype=np.float32).ravel()
    indptr = np.arange(n_pre + 1, dtype=np.int64) * F
    indices = np.tile(np.arange(F, dtype=np.int32), n_pre)
    recorder.set_synapses(name, indptr, indices, data, (n_pre, F), pre, post, rule, params,
                          pre_shape=w.shape[1:], units="dimensionless")


def record_kernels(recorder, net):
    """Each conv layer's kernels as a dense projection ``conv<i>`` (rows = the C*kh*kw
    kernel inputs, columns = maps) with pre_shape (C, kh, kw) for receptive-field plots,
    and for deeper layers their preferred stimuli back-projected to the input channels
    as ``conv<i>_preferred`` (pre_shape (C_in, h, w))."""
    for i, w in enumerate(net.weights_):
        if i > 0:
            p = net.preferred_stimuli(i)
            p = p / max(float(p.max()), 1e-12)
            _dense_projection(recorder, f"conv{i + 1}_preferred", p, "input",
                              f"conv{i + 1}", "back-projection", {})
        F = w.shape[0]
        n_pre = int(np.prod(w.shape[1:]))
        data = np.ascontiguousarray(w.reshape(F, n_pre).T, dtype=np.float32).ravel()
        indptr = np.arange(n_pre + 1, dtype=np.int64) * F
        indices = np.tile(np.arange(F, dtype=np.int32), n_pre)
        pre = "input" if i == 0 else f"conv{i}"
        recorder.set_synapses(f"conv{i + 1}", indptr, indices, data, (n_pre, F), pre,
                              f"conv{i + 1}", "STDP w(1-w) (Kheradpisheh)",
                              dict(a_plus=net.a_plus, a_minus=net.a_minus,
                                   a_plus_max=net.a_plus_max), pre_shape=w.shape[1:],
                              units="dimensionless")


def readout(svm_C, standardize=False):
    """The linear readout: LinearSVC(C), after a StandardScaler if ``standardize``.

    Standardizing (each feature centred and divided by its standard deviation over the
    training images, as learned by the scaler; test images use the same numbers) makes
    the SVM's one penalty C weigh all features alike. Without it, features with large
    potentials (many coincident inputs) dominate the margin. The paper does not say
    whether it scaled its features. ``random_state=0`` fixes liblinear's coordinate
    order where it uses one (the dual solver, chosen when there are more features than
    training images), so that the same features give the same SVM bit for bit."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC
    svm = LinearSVC(C=svm_C, max_iter=20000, random_state=0)
    return make_pipeline(StandardScaler(), svm) if standardize else svm


def fit_checkpoints(recorder, *, extra=None, offset=0, resume=True):
    """``fit`` keyword arguments that make :meth:`SpikingConvNet.fit` checkpoint through
    ``recorder`` (when due: ``--checkpoint-every``) and, if ``resume``, continue from the
    checkpoint of a resumed run; ``{}`` without a recorder.

    The checkpoint's state is ``{"fit": the fit's state, **extra}`` and its step
    ``offset`` + the training images presented so far (all conv layers together)."""
    if recorder is None:
        return {}
    resumed = recorder.resume_state() if resume else None
    extra = dict(extra or {})

    def checkpoint(step, state):
        recorder.checkpoint(int(offset) + int(step), lambda: dict(extra, fit=state()))
    return {"checkpoint": checkpoint,
            "resume": None if resumed is None else resumed["fit"]}


def fit_and_evaluate(net, X_unsup, X_train, y_train, X_test, y_test, svm_C, *,
                     standardize=False, recorder=None, labels=None, log=print,
                     fit_kwargs=None):
    """Fit ``net`` on ``X_unsup``, features of the train/test images, then the
    ``readout(svm_C, standardize)``. Returns the metrics dict (accuracies, confusion,
    timings, images/s per stage). The fit checkpoints through ``recorder`` and resumes
    from its checkpoint (:func:`fit_checkpoints`), or takes ``fit_kwargs``."""
    from sklearn.metrics import confusion_matrix
    t0 = time.perf_counter()
    net.fit(X_unsup, **(fit_checkpoints(recorder) if fit_kwargs is None
                        else fit_kwargs))
    t_fit = time.perf_counter() - t0
    for i, (c, n, s) in enumerate(zip(net.convergence_, net.n_train_images_,
                                      net.train_seconds_)):
        log(f"conv{i + 1}: {n} images in {s:.1f} s ({n / max(s, 1e-9):.0f} img/s), "
            f"C_l {c[0, 1]:.4f} -> {c[-1, 1]:.4f}")
    t1 = time.perf_counter()
    F_train = net.transform(X_train)
    F_test = net.transform(X_test)
    t_feat = time.perf_counter() - t1
    n_feat = len(X_train) + len(X_test)
    log(f"features of {n_feat} images in {t_feat:.1f} s ({n_feat / t_feat:.0f} img/s)")
    t2 = time.perf_counter()
    svm = readout(svm_C, standardize).fit(F_train, y_train)
    t_svm = time.perf_counter() - t2
    pred = svm.predict(F_test)
    acc = float(np.mean(pred == y_test))
    acc_train = float(svm.score(F_train, y_train))
    classes = np.unique(np.concatenate([y_train, y_test]))
    cm = confusion_matrix(y_test, pred, labels=classes)
    scaled = " on standardized features" if standardize else ""
    log(f"LinearSVC(C={svm_C}){scaled}: train {100 * acc_train:.2f} %, test {100 * acc:.2f} % "
        f"({t_svm:.1f} s)")
    metrics = {
        "accuracy_test": acc,
        "accuracy_train": acc_train,
        "fit_seconds": t_fit,
        "features_seconds": t_feat,
        "svm_seconds": t_svm,
        "features_images_per_s": n_feat / t_feat,
    }
    for i, (n, s) in enumerate(zip(net.n_train_images_, net.train_seconds_)):
        metrics[f"train_images_per_s_conv{i + 1}"] = n / max(s, 1e-9)
        metrics[f"train_images_conv{i + 1}"] = int(n)
        metrics[f"final_convergence_conv{i + 1}"] = float(net.convergence_[i][-1, 1])
    if recorder is not None:
        names = [str(labels[c]) for c in classes] if labels is not None \
            else [str(c) for c in classes]
        recorder.metric("confusion", cm, labels=names)
        for i, c in enumerate(net.convergence_):
            recorder.metric(f"convergence/conv{i + 1}", c[:, 1], x=c[:, 0],
                            xlabel="training images")
        record_kernels(recorder, net)
        recorder.features("train", F_train.astype(np.float32))
        recorder.features("train_labels", np.asarray(y_train))
        recorder.features("test", F_test.astype(np.float32))
        recorder.features("test_labels", np.asarray(y_test))
        recorder.features("test_predictions", np.asarray(pred))
        recorder.headline({k: v for k, v in metrics.items()
                           if k in ("accuracy_test", "accuracy_train", "fit_seconds")})
        for k, v in metrics.items():
            recorder.metric(k, v)
    metrics["confusion"] = cm
    return metrics
