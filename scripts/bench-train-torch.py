#!/usr/bin/python3
"""bench-train-torch.py - training throughput of the mpbn default network in
PyTorch on the CPU, for a side-by-side figure with `mpbn train`
(`make bench-train-torch`, mk/train.mk; docs/trainer.md "Speed").

The same network and training step as host/train (docs/trainer.md, "Model"
and "Training numerics"):

  image (uint8) -> x_n = (x/255 - mean)/std          mean/std of the training set
  -> [conv3x3 pad 1, no bias | fc, no bias] -> BN -> LIF(MPBN)   per hidden layer
  -> [2x2 max-pool of spikes] for "p"
  -> fc + bias, logits = mean over T -> cross-entropy

* Multi-step: every layer runs over all T*B images at once (layout T*B first),
  like the C trainer; the first layer's conv and BN run on the B images once
  and are reused at each step, its padding is the normalised black pixel.
* BN statistics over time, batch and space (momentum 0.1, eps 1e-5).
* LIF per step: u_pre = tau*u + y_t (tau 0.25), m = MPBN(u_pre) (channel-wise,
  one BatchNorm shared over time, batch statistics of each step, running
  statistics updated at every step), o = m > vth (0.5), u = u_pre * (1 - o)
  (hard reset; the gradient flows through the reset term). Surrogate
  gradient do/dm = 1 for |m - vth| <= 0.5.
* SGD momentum 0.9, weight decay 5e-4 on conv/fc weights only, cosine LR
  from 0.1 per iteration; batches from a random permutation.

Data: the Fashion-MNIST IDX files (gzip or plain) of --data, read with numpy.
Timing: --warmup batches first, then --batches timed batches of --batch
images (forward, loss, backward, SGD step), with torch.set_num_threads(N);
wall time and the process's CPU time (images per CPU-second: the stable
figure on a shared machine). With --compare MPBN, `MPBN train` runs first on
the same network, batch, data and thread count, timed the same way: a run of
warmup + batches batches minus a run of warmup batches (set-up and warm-up
cancel out), wall and CPU time of the process.
With --repeat N both are timed N times, alternating (the machine's speed
drifts between runs): each run is printed, then the medians, PyTorch's best
run, the median of the per-run ratios and mpbn's median against PyTorch's
best (the conservative figure). Figures on stderr; last stdout line: JSON {"torch": {"images_per_s":..,
"images_per_cpu_s":..}, "mpbn_train": {...}, "ratio":.., "ratio_cpu":..}.

  /usr/bin/python3 scripts/bench-train-torch.py --threads 1 --batches 30 --compare build/mpbn
"""
import argparse
import gzip
import json
import math
import os
import resource
import subprocess
import sys
import time

import numpy as np

# libgomp's threads spin while they wait at a barrier; on a shared machine a
# spinning thread keeps its partner (descheduled by another job) from
# running, and PyTorch with 2 threads measured 22 img/s instead of 200
# (load average 5 on 2 cores). Passive waiting is PyTorch's best case there.
# Set before torch loads libgomp; an explicit OMP_WAIT_POLICY is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:  # pragma: no cover - the make target checks first
    sys.stderr.write("bench-train-torch: PyTorch not found: apt-get install -y python3-torch\n")
    sys.exit(3)

TAU, VTH = 0.25, 0.5


def read_idx(path):
    for p in (path, path + ".gz"):
        if os.path.exists(p):
            with open(p, "rb") as f:
                raw = f.read()
            if raw[:2] == b"\x1f\x8b":
                raw = gzip.decompress(raw)
            ndim = raw[3]
            dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
            return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)
    raise SystemExit("bench-train-torch: %s(.gz): no such file" % path)


class SpikeFn(torch.autograd.Function):
    """o = m > vth; do/dm = 1 on |m - vth| <= 0.5 (rectangular surrogate)."""

    @staticmethod
    def forward(ctx, m):
        ctx.save_for_backward(m)
        return (m > VTH).to(m.dtype)

    @staticmethod
    def backward(ctx, g):
        (m,) = ctx.saved_tensors
        return g * ((m - VTH).abs() <= 0.5).to(g.dtype)


class LIF(nn.Module):
    """LIF with MPBN over x of shape [T*B, ...] (step t = rows t*B..t*B+B-1)."""

    def __init__(self, shape, T, mpbn=True):
        super().__init__()
        self.T = T
        if not mpbn:
            self.mpbn = None
        elif len(shape) == 3:
            self.mpbn = nn.BatchNorm2d(shape[0])
        else:
            self.mpbn = nn.BatchNorm1d(shape[0])

    def forward(self, y, shared=False):
        # shared: y holds B rows reused at every step (first layer)
        B = y.shape[0] if shared else y.shape[0] // self.T
        u = None
        out = []
        for t in range(self.T):
            yt = y if shared else y[t * B:(t + 1) * B]
            upre = yt if u is None else TAU * u + yt
            m = self.mpbn(upre) if self.mpbn is not None else upre
            o = SpikeFn.apply(m)
            u = upre * (1 - o)
            out.append(o)
        return torch.cat(out, 0)


class Net(nn.Module):
    def __init__(self, arch, T, in_shape, n_classes, mean, std, mpbn=True):
        super().__init__()
        self.T, self.mean, self.std = T, mean, std
        c, h, w = in_shape
        self.layers = nn.ModuleList()
        self.kinds = []
        flat = False
        for tok in arch.split(","):
            if tok == "p":
                self.layers.append(nn.MaxPool2d(2))
                self.kinds.append("p")
                h, w = h // 2, w // 2
            elif tok[0] == "c":
                oc = int(tok[1:])
                self.layers.append(nn.ModuleDict({
                    "conv": nn.Conv2d(c, oc, 3, padding=0 if not self.kinds else 1, bias=False),
                    "bn": nn.BatchNorm2d(oc),
                    "lif": LIF((oc, h, w), T, mpbn)}))
                self.kinds.append("c")
                c = oc
            else:
                n_in = c * h * w if not flat else c
                oc = int(tok[1:])
                self.layers.append(nn.ModuleDict({
                    "fc": nn.Linear(n_in, oc, bias=False),
                    "bn": nn.BatchNorm1d(oc),
                    "lif": LIF((oc,), T, mpbn)}))
                self.kinds.append("f")
                c, h, w, flat = oc, 1, 1, True
        self.out = nn.Linear(c * h * w if not flat else c, n_classes)
        self.pad = -mean / std  # the normalised black pixel

    def forward(self, x_u8):
        x = (x_u8.float() / 255.0 - self.mean) / self.std
        B = x.shape[0]
        first = True
        for kind, L in zip(self.kinds, self.layers):
            if kind == "p":
                x = L(x)
                continue
            if kind == "c":
                if first:
                    x = F.pad(x, (1, 1, 1, 1), value=self.pad)
                y = L["bn"](L["conv"](x))
            else:
                y = L["bn"](L["fc"](x.flatten(1)))
            x = L["lif"](y, shared=first)
            first = False
        z = self.out(x.flatten(1))  # [T*B, K]
        return z.view(self.T, B, -1).mean(0)


_interop_set = False


def bench_torch(a):
    global _interop_set
    torch.set_num_threads(a.threads)
    if not _interop_set:  # once per process: a second call aborts it
        _interop_set = True
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass
    torch.manual_seed(a.seed)
    X = read_idx(os.path.join(a.data, "train-images-idx3-ubyte"))
    Y = read_idx(os.path.join(a.data, "train-labels-idx1-ubyte"))
    mean = float(X.mean()) / 255.0
    std = float((X / 255.0).std())
    need = (a.warmup + a.batches) * a.batch
    X = torch.from_numpy(X[:, None].copy())
    Y = torch.from_numpy(Y.astype(np.int64))
    net = Net(a.arch, a.T, tuple(X.shape[1:]), int(Y.max()) + 1, mean, std, a.mpbn == "channel")
    decay = [p for n, p in net.named_parameters() if n.endswith("weight") and p.dim() > 1]
    other = [p for n, p in net.named_parameters() if not (n.endswith("weight") and p.dim() > 1)]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4},
                           {"params": other, "weight_decay": 0.0}], lr=0.1, momentum=0.9)
    total = a.warmup + a.batches
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda i: 0.5 * (1 + math.cos(math.pi * min(i, total) / total)))
    perm = torch.randperm(X.shape[0])
    if need > X.shape[0]:
        perm = perm.repeat(need // X.shape[0] + 1)
    net.train()
    t0 = c0 = None
    loss_sum = 0.0
    for i in range(total):
        if i == a.warmup:
            t0, c0 = time.perf_counter(), time.process_time()
        idx = perm[i * a.batch:(i + 1) * a.batch]
        logits = net(X[idx])
        loss = F.cross_entropy(logits, Y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if i >= a.warmup:
            loss_sum += float(loss)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = a.batches * a.batch
    return {"images_per_s": n / secs, "images_per_cpu_s": n / cpu, "seconds": secs,
            "cpu_seconds": cpu, "mean_loss": loss_sum / a.batches}


def run_mpbn(a, batches):
    """One `mpbn train` run of `batches` batches: (wall s, CPU s of the process)."""
    out = os.path.join(a.tmp, "bench-train-torch-mpbn.safetensors")
    cmd = [a.compare, "train", "--data", a.data, "--arch", a.arch, "--T", str(a.T), "--mpbn",
           a.mpbn, "--batch", str(a.batch), "--epochs", "1", "--limit-train",
           str(batches * a.batch), "--limit-test", str(a.batch), "--seed", str(a.seed),
           "--threads", str(a.threads), "--quiet", "--out", out]
    env = dict(os.environ, MPBN_PROGRESS="0")
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise SystemExit("bench-train-torch: %s failed:\n%s" % (" ".join(cmd), p.stderr[-800:]))
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def bench_mpbn(a):
    """Our trainer, timed like PyTorch: the difference between a run of
    warmup + batches batches and one of warmup batches, so that set-up
    (data loading, allocation) and warm-up batches cancel out."""
    w1, c1 = run_mpbn(a, a.warmup)
    w2, c2 = run_mpbn(a, a.warmup + a.batches)
    n = a.batches * a.batch
    return {"images_per_s": n / max(w2 - w1, 1e-9), "images_per_cpu_s": n / max(c2 - c1, 1e-9),
            "seconds": w2 - w1, "cpu_seconds": c2 - c1}


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--arch", default="c32,c32,p,c64,p,f128")
    ap.add_argument("--T", type=int, default=4)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--batches", type=int, default=30, help="timed batches")
    ap.add_argument("--warmup", type=int, default=3, help="untimed batches first")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--mpbn", choices=["channel", "none"], default="channel")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--compare", metavar="MPBN",
                    help="also time `MPBN train` on the same network and batches, and print both")
    ap.add_argument("--tmp", default="/tmp", help="directory of --compare's checkpoint")
    ap.add_argument("--repeat", type=int, default=1,
                    help="time both REPEAT times, alternating; report medians and PyTorch's best run")
    a = ap.parse_args()
    if a.repeat < 1:
        ap.error("--repeat must be at least 1")
    if a.repeat > 1 and a.compare and os.environ.get("OMP_WAIT_POLICY", "").upper() == "ACTIVE":
        # after the first PyTorch run its OpenMP threads would keep spinning in
        # this process while `mpbn train` runs (measured: 533-563 img/s instead
        # of 876-942 at 2 threads)
        ap.error("--repeat with --compare needs OMP_WAIT_POLICY=PASSIVE (the default here): "
                 "PyTorch's spinning OpenMP threads would slow the later mpbn runs")
    res = {"threads": a.threads, "batches": a.batches, "batch": a.batch, "T": a.T,
           "arch": a.arch, "mpbn": a.mpbn, "torch_version": torch.__version__,
           "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")}
    runs = []
    for _ in range(a.repeat):
        r = {}
        if a.compare:
            r["load_mpbn"] = loadavg()
            r["mpbn_train"] = bench_mpbn(a)
        r["load_torch"] = loadavg()
        r["torch"] = bench_torch(a)
        runs.append(r)
    sys.stderr.write("bench-train-torch: %s, T=%d, batch %d, %d thread(s), %d batches, %d run(s):\n"
                     % (a.arch, a.T, a.batch, a.threads, a.batches, a.repeat))
    for r in runs:
        t = r["torch"]
        sys.stderr.write("  PyTorch %-10s %8.1f img/s %8.1f img/CPU-s   (load average %s; "
                         "OMP_WAIT_POLICY=%s)\n"
                         % (torch.__version__, t["images_per_s"], t["images_per_cpu_s"],
                            r["load_torch"], os.environ.get("OMP_WAIT_POLICY")))
        if a.compare:
            m = r["mpbn_train"]
            r["ratio"] = m["images_per_s"] / t["images_per_s"]
            r["ratio_cpu"] = m["images_per_cpu_s"] / t["images_per_cpu_s"]
            sys.stderr.write("  mpbn (OPENBLAS_CORETYPE=%s) %8.1f img/s %8.1f img/CPU-s   (load average "
                             "%s)\n  ratio mpbn/PyTorch: %.2f (wall), %.2f (CPU time)\n"
                             % (os.environ.get("OPENBLAS_CORETYPE", "auto"), m["images_per_s"],
                                m["images_per_cpu_s"], r["load_mpbn"], r["ratio"], r["ratio_cpu"]))
    res.update(runs[-1])
    if a.repeat > 1:
        def median(v):
            v = sorted(v)
            n = len(v)
            return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])
        tw = [r["torch"]["images_per_s"] for r in runs]
        res["runs"] = runs
        res["torch_median"] = median(tw)
        res["torch_best"] = max(tw)
        sys.stderr.write("  PyTorch: median %.1f img/s, best %.1f\n" % (res["torch_median"], res["torch_best"]))
        if a.compare:
            mw = [r["mpbn_train"]["images_per_s"] for r in runs]
            res["mpbn_median"] = median(mw)
            res["ratio_median"] = median([r["ratio"] for r in runs])
            res["ratio_vs_best"] = res["mpbn_median"] / res["torch_best"]
            sys.stderr.write("  mpbn: median %.1f img/s; ratio: median of the runs %.2f, mpbn's median "
                             "against PyTorch's best run %.2f\n"
                             % (res["mpbn_median"], res["ratio_median"], res["ratio_vs_best"]))
    if a.compare:
        res["openblas_coretype"] = os.environ.get("OPENBLAS_CORETYPE", "auto")
    def rounded(v):
        if isinstance(v, float):
            return round(v, 3)
        if isinstance(v, dict):
            return {k: rounded(x) for k, x in v.items()}
        return v

    print(json.dumps(rounded(res)))


if __name__ == "__main__":
    main()
