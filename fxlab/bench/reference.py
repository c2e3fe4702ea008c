"""The reference recipe ``python -m fxlab.bench train --compare`` trains beside fxlab's model.

A PyTorch LSTM-32 (input added back at the output) trained as Wright et al. 2020 describe their
recurrent models, written from that description: loss 0.75 ESR + 0.25 DC; Adam at 5e-3 with
weight decay 1e-4; the rate halved after 5 validations without improvement; 22,050-sample
segments, whose first 200 samples only warm the state up (no loss, no gradient); then truncated
back-propagation every 1,000 samples with the state carried across (detached) to the segment's
end. It validates on Validation 1 after every epoch (the whole split, one sequence), keeps the
best weights and stops at the time budget (checked after every update). PyTorch runs on one thread
(``threads``): its second thread made an update 6-30x slower on a loaded 2-core machine, and
buys nothing for 40 x 32 matrices on a quiet one (docs/TRAINING_SPEED.md).

PyTorch is optional (the ``bench`` extra: ``pip install -e ".[bench]"``); without it
:func:`train_reference` raises a :class:`fxlab.errors.ParameterError` saying so.

- :data:`RECIPE`            the recipe's settings
- :func:`train_reference`   train it on ``{split: (dry, wet)}`` within a budget; returns its row
"""

from __future__ import annotations

import os
import time

import numpy as np

from fxlab.errors import ParameterError, problem
from fxlab.metrics import esr
from fxlab.util import require_extra

__all__ = ["RECIPE", "train_reference"]

#: The published recipe (Wright et al. 2020, LSTM-32), as settings.
RECIPE = {"units": 32, "loss": "0.75*esr+0.25*dc", "learning_rate": 5e-3, "weight_decay": 1e-4,
          "plateau_patience": 5, "plateau_factor": 0.5, "segment": 22050, "warmup": 200,
          "tbptt": 1000, "batch_size": 40, "threads": 1}


def _torch():
    return require_extra("the reference recipe (--compare)", ("torch",), "bench", "PyTorch")


def train_reference(splits, minutes: float, *, seed: int = 0, recipe: dict | None = None,
                    log=print) -> dict:
    """Train the reference recipe within ``minutes`` of wall time; returns its results.

    Parameters
    ----------
    splits : dict
        ``{"train": (dry, wet), "val1": (dry, wet), "val2": (dry, wet)}``, float32 mono arrays
        (samples); ``val1`` picks the best epoch and drives the plateau schedule.
    minutes : float > 0
        Training budget (validation included), checked after every update.
    seed : int
        Seeds the weights and the segment order.
    recipe : dict or None
        Overrides of :data:`RECIPE` (``threads`` 0: one per core).
    log : callable or None
        Receives one line per epoch.

    Returns
    -------
    dict
        ``esr_v1``, ``esr_v2`` (the best epoch's weights on the whole splits), ``samples_per_s``
        (samples in the loss per second of wall time), ``train_samples``, ``epochs``,
        ``best_epoch``, ``wall_s``.
    """
    torch = _torch()
    r = dict(RECIPE, **(recipe or {}))
    if not minutes > 0:
        raise ParameterError(problem(f"minutes={minutes!r}", found=repr(minutes), expected="a budget > 0",
                                     fix="pass e.g. minutes=5"))
    torch.manual_seed(seed)
    torch.set_num_threads(int(r["threads"]) or os.cpu_count() or 1)
    rng = np.random.default_rng(seed)
    seg = int(r["segment"])
    dry, wet = (np.asarray(a, np.float32) for a in splits["train"])
    n_seg = dry.size // seg
    if n_seg < 1:
        raise ParameterError(problem(f"training signal of {dry.size} samples", found=f"fewer than {seg}",
                                     expected="at least one segment", fix="pass a shorter segment in recipe"))
    xs = torch.from_numpy(dry[: n_seg * seg].reshape(n_seg, seg, 1).copy())
    ys = torch.from_numpy(wet[: n_seg * seg].reshape(n_seg, seg, 1).copy())

    net = _reference_net(torch, int(r["units"]))
    opt = torch.optim.Adam(net.parameters(), lr=float(r["learning_rate"]), weight_decay=float(r["weight_decay"]))
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=float(r["plateau_factor"]),
                                                         patience=int(r["plateau_patience"]))

    def run(x_np):
        with torch.no_grad():
            out, _ = net(torch.from_numpy(np.asarray(x_np, np.float32))[None, :, None])
        return out[0, :, 0].numpy()

    v1d, v1w = (np.asarray(a, np.float32) for a in splits["val1"])
    budget, t0 = 60.0 * float(minutes), time.perf_counter()
    best, best_state, best_epoch, epoch, trained, over = np.inf, None, 0, 0, 0, False
    while not over:
        epoch += 1
        order = torch.from_numpy(rng.permutation(n_seg))
        n, over = _epoch_updates(torch, net, opt, xs, ys, order, r, t0=t0, budget=budget)
        trained += n
        pv = run(v1d)
        val = float(_reference_loss(torch, torch.from_numpy(v1w)[None, :, None],
                                    torch.from_numpy(pv)[None, :, None]))
        plateau.step(val)
        if val < best:
            best, best_epoch = val, epoch
            best_state = {k: v.clone() for k, v in net.state_dict().items()}
        if log:
            log(f"reference epoch {epoch} val1_loss={val:.3g} lr={opt.param_groups[0]['lr']:.2g} "
                f"({time.perf_counter() - t0:.0f} s){' *' if best_epoch == epoch else ''}")
        over = over or time.perf_counter() - t0 >= budget
    wall = time.perf_counter() - t0
    net.load_state_dict(best_state)
    out = {"esr_v1": esr(v1w, run(v1d))}
    if "val2" in splits:
        v2d, v2w = (np.asarray(a, np.float32) for a in splits["val2"])
        out["esr_v2"] = esr(v2w, run(v2d))
    out.update({"samples_per_s": trained / wall, "train_samples": trained, "epochs": epoch,
                "best_epoch": best_epoch, "wall_s": wall})
    return out


def _reference_net(torch, units: int):
    """The recipe's network: an LSTM of ``units`` and a linear head, the input added back."""

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.LSTM(1, units, batch_first=True)
            self.head = torch.nn.Linear(units, 1)

        def forward(self, x, state=None):
            h, state = self.rnn(x, state)
            return self.head(h) + x, state

    return Net()


def _reference_loss(torch, y, p):
    """0.75 ESR + 0.25 DC error."""
    esr = torch.sum((y - p) ** 2) / (torch.sum(y**2) + 1e-8)
    dc = torch.mean(torch.mean(y - p, dim=1) ** 2) / (torch.mean(y**2) + 1e-8)
    return 0.75 * esr + 0.25 * dc


def _epoch_updates(torch, net, opt, xs, ys, order, r: dict, *, t0: float,
                   budget: float) -> tuple[int, bool]:
    """One epoch over the segments ``xs``, ``ys`` in ``order``, in batches: each warms the state
    up, then is trained by truncated back-propagation with the state carried across; returns
    ``(samples in the loss, whether the budget ran out)``."""
    seg, warm, step = int(r["segment"]), int(r["warmup"]), int(r["tbptt"])
    batch = int(r["batch_size"])
    trained = 0
    for b in range(0, len(order), batch):
        idx = order[b: b + batch]
        x, y = xs[idx], ys[idx]
        with torch.no_grad():
            _, state = net(x[:, :warm], None)
        for s in range(warm, seg, step):
            p, state = net(x[:, s: s + step], state)
            loss = _reference_loss(torch, y[:, s: s + step], p)
            opt.zero_grad()
            loss.backward()
            opt.step()
            state = tuple(h.detach() for h in state)
            trained += int(x.shape[0]) * int(p.shape[1])
            if time.perf_counter() - t0 >= budget:
                return trained, True
    return trained, False
