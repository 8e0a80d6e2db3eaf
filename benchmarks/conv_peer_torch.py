"""The peer side of ``conv_speed.py``: the Kheradpisheh MNIST network computed the way
SpykeTorch computes it, with torch tensor operations (our code, written from
SpykeTorch's published formulation; SpykeTorch itself is not on PyPI).

Run by ``conv_speed.py --peer-python PYTHON`` in an environment with torch (CPU); it
needs only torch and numpy, not plasticity. SpykeTorch's way, image after image:

- preprocess: ON/OFF DoG filtering by ``conv2d``, a threshold, then the intensity-to-
  latency transform that sorts the responses and builds the cumulative spike wave
  (T, C, H, W) packet by packet (T scatters of the sorted values, each step a copy);
- a conv layer: ``conv2d`` of the padded spike wave (the T steps are the batch), the
  threshold (``fn.threshold``), pointwise inhibition (the maximum over maps at each
  position and time, the earliest spike by a max over the signs), the k winners (the
  potentials at each neuron's first spike summed over time plus a large constant per
  spiking step, then k times a global max with its map and neighbourhood zeroed),
  and STDP on the winners' receptive fields (pre-post ordering from the summed
  waves, one learning-rate tensor, ``w += lr w (1 - w)``, clamped to [0, 1]);
- pooling: ``max_pool2d`` of the spike wave (the earliest spike in each window);
- features: the final step's potentials of conv2 with no threshold, the maximum per
  map.

The architecture, thresholds, k, radii, padding, T and the learning-rate schedule are
those of ``plasticity.conv.MNIST_LAYERS`` (the driver passes them); the DoG kernel and
its thresholds are ours, so that the spike times of the preprocessing agree with ours
(up to float32 rounding ties), and given our trained kernels the features agree with
ours to float32 rounding (``conv_speed.py`` checks both).

    python benchmarks/conv_peer_torch.py --data D.npz --threads 1 --out R.json
"""
import argparse
import json
import time

import numpy as np
import torch
import torch.nn.functional as fn


def reflect_index(n, p):
    """Indices of a length-n axis padded by p on each side, half-sample symmetric
    (scipy.ndimage's "reflect": d c b a | a b c d | d c b a)."""
    i = np.arange(-p, n + p)
    i = np.where(i < 0, -i - 1, i)
    i = np.where(i >= n, 2 * n - i - 1, i)
    return torch.from_numpy(i)


class Peer:
    def __init__(self, d):
        self.T = int(d["T"])
        k = torch.from_numpy(np.asarray(d["dog_kernel"], np.float32))
        self.dog = torch.stack([k, -k])[:, None]                 # (2, 1, s, s): ON, OFF
        self.dog_pad = k.shape[-1] // 2
        self.dog_thr = float(d["dog_threshold"])
        self.layers = json.loads(str(d["layers"]))
        self.a_plus, self.a_minus = float(d["a_plus"]), float(d["a_minus"])
        self.a_plus_max = float(d["a_plus_max"])
        self.every = int(d["lr_double_every"])
        self.H, self.W = d["X"].shape[1:]
        p = self.dog_pad
        self.iy, self.ix = reflect_index(self.H, p), reflect_index(self.W, p)

    # ---------------------------------------------------------------- preprocessing
    def preprocess(self, img):
        x = torch.from_numpy(img).float().div_(255)[None, None]
        x = x.index_select(2, self.iy).index_select(3, self.ix)
        r = fn.conv2d(x, self.dog)                               # (1, 2, H, W)
        r = torch.where(r <= self.dog_thr, torch.zeros(()), r)
        return self.intensity_to_latency(r)

    def intensity_to_latency(self, r):
        """Cumulative spike wave (T, C, H, W) float of intensities r (1, C, H, W):
        sorted descending, packet t holds ranks [t n / T, (t + 1) n / T)."""
        flat = r.reshape(-1)
        n = int(torch.count_nonzero(flat))
        vals, idx = torch.sort(flat, descending=True, stable=True)
        spike_map = torch.zeros_like(flat)
        steps = []
        for t in range(self.T):
            a, b = -(-t * n // self.T), -(-(t + 1) * n // self.T)
            spike_map.scatter_(0, idx[a:b], vals[a:b])
            steps.append(spike_map.clone().reshape(r.shape[1:]))
        return torch.stack(steps).sign_()

    # ---------------------------------------------------------------- layers
    @staticmethod
    def fire(pot, thr):
        """Thresholded potentials (0 below the threshold) and spikes."""
        th = fn.threshold(pot, thr, 0.0) if np.isfinite(thr) else pot
        return th, th.sign()

    @staticmethod
    def pointwise_inhibition(th):
        mx, arg = torch.max(th, dim=1, keepdim=True)             # best map per (t, y, x)
        first = torch.max(mx.sign(), dim=0, keepdim=True)        # earliest step
        win = arg.gather(0, first[1])
        coef = torch.zeros_like(th[0]).unsqueeze_(0)
        coef.scatter_(1, win, first[0])
        return th * coef

    @staticmethod
    def k_winners(pot, spk, k, r):
        first = torch.max(spk, dim=0, keepdim=True)[1]
        vals = pot.gather(0, first)
        trunc = spk * vals
        v = trunc.max() * pot.shape[0]
        trunc.addcmul_(spk, v)
        total = trunc.sum(0)
        shape = tuple(total.shape)
        out = []
        for _ in range(k):
            mv, mi = total.view(-1).max(0)
            if mv.item() == 0:
                break
            f, y, x = np.unravel_index(mi.item(), shape)
            out.append((f, y, x))
            total[f] = 0
            if r:
                total[:, max(0, y - r):y + r + 1, max(0, x - r):x + r + 1] = 0
        return out

    @staticmethod
    def stdp(w, spk_in, spk_out, winners, ap, am):
        lat_in = spk_in.sum(0)
        lat_out = spk_out.sum(0)
        kh, kw = w.shape[-2:]
        lr = torch.zeros_like(w)
        for f, y, x in winners:
            pre = lat_in[:, y:y + kh, x:x + kw] >= lat_out[f, y, x]
            lr[f] = torch.where(pre, torch.tensor(ap), torch.tensor(am))
        w += lr * w * (1 - w)
        w.clamp_(0, 1)

    def conv(self, wave, w, l, thr):
        p = int(l["pad"])
        x = fn.pad(wave, (p, p, p, p))
        pot = fn.conv2d(x, w)
        th, spk = self.fire(pot, thr)
        return x, th, spk

    def below(self, wave, ws, upto):
        """The spike wave into layer ``upto`` (inference through the layers below)."""
        ci = 0
        for l in self.layers[:upto]:
            if l["type"] == "conv":
                _, th, _ = self.conv(wave, ws[ci], l, float(l["threshold"]))
                wave = self.pointwise_inhibition(th).sign()
                ci += 1
            else:
                wave = fn.max_pool2d(wave, l["size"], l["stride"], l.get("pad", 0))
        return wave

    def train_layer(self, waves, ws, li, rng):
        l = self.layers[li]
        ci = sum(x["type"] == "conv" for x in self.layers[:li])
        ap, am = self.a_plus, self.a_minus
        for i, wave in enumerate(waves):
            if i and i % self.every == 0:
                ap = min(2 * ap, self.a_plus_max)
                am = ap * self.a_minus / self.a_plus
            x = self.below(wave, ws, li)
            xin, th, spk = self.conv(x, ws[ci], l, float(l["threshold"]))
            th = self.pointwise_inhibition(th)
            spk = th.sign()
            win = self.k_winners(th, spk, int(l["k"]), int(l["radius"]))
            self.stdp(ws[ci], xin, spk, win, ap, am)

    def features(self, img, ws):
        wave = self.preprocess(img)
        last = max(i for i, l in enumerate(self.layers) if l["type"] == "conv")
        x = self.below(wave, ws, last)
        _, th, _ = self.conv(x, ws[-1], self.layers[last], np.inf)
        return th[-1].amax(dim=(1, 2))


def run(d, threads, repeat):
    torch.set_num_threads(threads)
    torch.set_grad_enabled(False)
    peer = Peer(d)
    X = d["X"]
    n = len(X)
    rng = np.random.default_rng(0)
    convs = [l for l in peer.layers if l["type"] == "conv"]
    res = {k: [] for k in ("preprocess", "stdp_conv1", "stdp_conv2", "features")}
    feats = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        waves = [peer.preprocess(img) for img in X]
        res["preprocess"].append(n / (time.perf_counter() - t0))
        C = 2
        ws = []
        for li, l in enumerate(peer.layers):
            if l["type"] != "conv":
                continue
            F, s = int(l["maps"]), int(l["size"])
            w = torch.from_numpy(np.clip(rng.normal(0.8, 0.05, (F, C, s, s)), 0, 1)
                                 .astype(np.float32))
            ws.append(w)
            t0 = time.perf_counter()
            peer.train_layer(waves, ws, li, rng)
            res[f"stdp_conv{len(ws)}"].append(n / (time.perf_counter() - t0))
            C = F
        # features with our trained kernels when given (to check the two sides agree)
        if "weights_0" in d:
            ws = [torch.from_numpy(np.asarray(d[f"weights_{i}"], np.float32))
                  for i in range(len(convs))]
        t0 = time.perf_counter()
        f = torch.stack([peer.features(img, ws) for img in X])
        res["features"].append(n / (time.perf_counter() - t0))
        feats = f.numpy()
    return res, feats, torch.stack(waves[:50]).numpy()


def peak_rss_mib():
    """This process's peak resident memory since its exec (VmHWM; ru_maxrss would
    include the parent's pages at the fork)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="npz written by conv_speed.py")
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--out", required=True, help="JSON results; features beside (.npz)")
    a = ap.parse_args(argv)
    d = dict(np.load(a.data, allow_pickle=False))
    res, feats, waves = run(d, a.threads, a.repeat)
    np.savez(a.out + ".npz", features=feats, waves=waves)
    with open(a.out, "w") as fh:
        json.dump({"threads": a.threads, "torch": torch.__version__,
                   "torch_threads": torch.get_num_threads(), "images_per_s": res,
                   "peak_rss_mib": peak_rss_mib()}, fh)


if __name__ == "__main__":
    main()
