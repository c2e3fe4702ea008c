"""Neural Amp Modeler's own trainer beside fxlab's, for ``python -m fxlab.bench capture --compare nam``.

NAM (``neural-amp-modeler`` 0.13, the ``interop`` extra: ``pip install -e ".[interop]"``) is what
guitarists train with. :func:`train_nam` trains its default recipe, as its simplified trainer
(``nam.train.core.train``) sets it up, on one of the capture benchmark's pairs:

- **the model**: the package's own default configuration (``nam/train/_resources/
  config_model_packed.json``): a *packed* WaveNet that trains NAM's 3- and 8-channel WaveNets
  together (23 layers, kernel 6 and 15, dilations 1..239, LeakyReLU, receptive field 6,347
  samples); the 8-channel one (12,145 parameters, the "standard" model a player loads) is the one
  scored (:data:`SCORED_SUBMODEL`); its per-submodel best checkpoint on the validation split is
  used, as NAM's exporter does;
- **the loss and optimiser**: that configuration's own (MSE plus 5e-4 multi-resolution STFT,
  Adam at 4e-3, weight decay 3.17e-7, the rate times 0.994 per epoch; the best epoch chosen by
  validation ESR); batches of 16 windows of 8,192 output samples (``ny``), shuffled; the output
  normalised to -18 dBFS RMS for training (``nam.data.normalize_joint_dataset_output``, undone
  at rendering as NAM's exporter does); the checkpoint callbacks of NAM's full trainer
  (``nam.train.full``: Lightning checkpoints and the per-submodel best). The simplified trainer's
  callbacks also write a ``.nam`` with every checkpoint, whose loudness and gain metadata take
  ~70 forward passes (measured: ~70 s per checkpoint on a loaded 2-core CPU, more than a
  one-minute budget): that export is not training, and is left out;
- **the data**: the same dry/wet samples fxlab trained and validated on (``pair.json``'s
  splits), handed to NAM's ``nam.data.Dataset`` with its ``delay`` set to the latency fxlab's
  capture found (NAM's own calibration needs its reamp file's blips, which the arbitrary
  material does not have; NAM asks the user for the latency then). Both models so learn the
  same aligned map, and both are scored in step the same way: the model's output delayed by that
  latency, against the effect's output with its true latency (:mod:`fxlab.bench.capture`);
- **the budget**: the same ``--minutes`` of wall time, stopped by Lightning's ``max_time``
  (checked after every update; validation and checkpoint writing count), on PyTorch's default
  threads (printed). A case whose latency fxlab's capture asked for rather than measured is not
  trained (``asked``), for NAM as for fxlab.

- :func:`require`     fail early, with the install line, when NAM or PyTorch is missing
- :func:`train_nam`   train NAM's recipe within a budget; returns a :class:`NamRun`
- :class:`NamRun`     its scored model (``predict``) and its figures
"""

from __future__ import annotations

import datetime
import importlib.resources
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fxlab.errors import ParameterError, problem
from fxlab.util import require_extra

__all__ = ["NY", "SCORED_SUBMODEL", "NamRun", "require", "train_nam"]

#: Output samples per training window: ``nam.train.core``'s default (``_NY_DEFAULT``).
NY = 8192
#: Windows per batch: ``nam.train.core.train``'s default.
BATCH_SIZE = 16
#: The packed model's submodel that is scored: the 8-channel WaveNet (NAM's "standard").
SCORED_SUBMODEL = "channels_8"
#: The output level NAM normalises the training target to (dBFS RMS), as its trainer does.
TARGET_RMS_DBFS = -18.0


def require():
    """Import NAM and PyTorch (returns ``torch``), or raise a ParameterError naming the
    ``interop`` extra."""
    return require_extra("the NAM comparison (--compare nam)",
                         ("nam", "pytorch_lightning", "torch"), "interop",
                         "Neural Amp Modeler and PyTorch")


def default_model_config() -> dict:
    """NAM's own default model, loss, optimiser and schedule (``config_model_packed.json``)."""
    text = importlib.resources.files("nam.train._resources").joinpath(
        "config_model_packed.json").read_text()
    return json.loads(text)


@dataclass
class NamRun:
    """NAM's trained model and its figures.

    ``predict(x)`` renders ``x`` (float mono, samples) through the scored submodel as a player
    would (zeros before the first sample, the training normalisation undone): an array of the
    same length, without the capture's latency (the caller delays it, as for fxlab's model).
    ``summary``: ``epochs`` (updates over updates per epoch: a fraction where the budget stopped
    it inside one), ``steps`` (updates), ``wall_s``, ``params``, ``val_esr`` (NAM's validation ESR
    of the scored submodel's best checkpoint, on the normalised target), ``threads``,
    ``submodel``, ``latency``.
    """

    net: Any
    scale: float
    summary: dict = field(default_factory=dict)

    def predict(self, x: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            y = self.net(torch.as_tensor(np.asarray(x, np.float32).reshape(-1)), pad_start=True)
        return (y.numpy().astype(np.float32) / self.scale).reshape(-1)


def _windows(n: int, nx: int, ny: int) -> int:
    return max(0, (n - nx + 1) // ny)


def train_nam(train: tuple[np.ndarray, np.ndarray], val: tuple[np.ndarray, np.ndarray], *,
              minutes: float, sr: int, latency: int, work, seed: int = 0, ny: int = NY,
              batch_size: int = BATCH_SIZE, log=print) -> NamRun:
    """Train NAM's default recipe on a pair within ``minutes`` of wall time.

    Parameters
    ----------
    train, val : (dry, wet)
        Float mono arrays of equal length (samples) as recorded: the wet still carries
        ``latency``, which NAM's data set removes (its ``delay``), as its trainer does.
    minutes : float > 0
        Wall-time budget (Lightning ``max_time``; the validation passes count).
    sr : int > 0
        Sample rate, Hz (written into the model's metadata).
    latency : int >= 0
        The wet's delay behind the dry, samples.
    work : path
        Folder for NAM's checkpoints and ``.nam`` files.
    ny, batch_size : int > 0
        NAM's window length (output samples) and batch size; the defaults are its trainer's.

    Returns
    -------
    NamRun
    """
    torch = require()
    import pytorch_lightning as pl
    from nam.data import Dataset, normalize_joint_dataset_output
    from nam.train.full import _create_callbacks
    from nam.train.lightning_module import PackedBestCheckpoint, PackedLightningModule

    if not minutes > 0:
        raise ParameterError(problem(f"minutes={minutes!r}", found=repr(minutes),
                                     expected="a budget > 0", fix="pass e.g. --minutes 1"))
    if latency < 0:
        raise ParameterError(problem(f"latency={latency!r}", found=repr(latency),
                                     expected="a delay >= 0 samples", fix="pass the measured latency"))
    pl.seed_everything(seed, verbose=False)
    config = default_model_config()
    module = PackedLightningModule.init_from_config(config)
    nx = module.net.receptive_field
    n_windows = _windows(len(train[0]) - latency, nx, ny)
    if n_windows < batch_size:
        raise ParameterError(problem(
            f"the NAM training split ({len(train[0])} samples)",
            found=f"{n_windows} windows of {nx - 1} + {ny} samples",
            expected=f"at least batch_size={batch_size}", fix="use a longer pair or a smaller ny"))

    def dataset(pair, n_out):
        x, y = (torch.as_tensor(np.asarray(a, np.float32).reshape(-1)) for a in pair)
        return Dataset(x=x, y=y, nx=nx, ny=n_out, delay=int(latency), sample_rate=float(sr),
                       require_input_pre_silence=None)

    ds_train, ds_val = dataset(train, ny), dataset(val, None)
    rms_before = float(torch.sqrt(torch.mean(ds_train.y ** 2)))
    normalize_joint_dataset_output(level_rms_dbfs=TARGET_RMS_DBFS).apply(ds_train, ds_val)
    scale = float(torch.sqrt(torch.mean(ds_train.y ** 2))) / rms_before
    module.net.sample_rate = float(sr)
    for ds in (ds_train, ds_val):
        ds.handshake(module.net)
        module.net.handshake(ds)
    loader_train = torch.utils.data.DataLoader(ds_train, batch_size=batch_size, shuffle=True,
                                               drop_last=True, num_workers=0)
    loader_val = torch.utils.data.DataLoader(ds_val)
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    callbacks = _create_callbacks({"trainer": {}}, packed=True)
    trainer = pl.Trainer(callbacks=callbacks, default_root_dir=str(work), accelerator="cpu",
                         max_epochs=-1, max_time=datetime.timedelta(seconds=float(minutes) * 60),
                         logger=False, enable_progress_bar=False, enable_model_summary=False)
    t0 = time.perf_counter()
    trainer.fit(module, loader_train, loader_val)
    wall = time.perf_counter() - t0

    index = module.net.submodel_names.index(SCORED_SUBMODEL)
    best = next(c for c in callbacks if isinstance(c, PackedBestCheckpoint))
    paths = best.checkpoint_paths
    if index < len(paths) and paths[index]:
        module = PackedLightningModule.load_from_checkpoint(
            paths[index], **PackedLightningModule.parse_config(config))
    module.cpu()
    module.eval()
    net = module.net.extract_submodel(index)
    net.sample_rate = float(sr)
    net.eval()
    val_esr = best.best.get(index, {}).get("best_metric", float("nan"))
    steps = int(trainer.global_step)
    summary = {"epochs": round(steps / len(loader_train), 3), "steps": steps,
               "wall_s": wall, "params": int(sum(p.numel() for p in net.parameters())),
               "val_esr": float(val_esr), "threads": int(torch.get_num_threads()),
               "submodel": SCORED_SUBMODEL, "latency": int(latency)}
    if log:
        log(f"  NAM {SCORED_SUBMODEL} ({summary['params']:,} parameters): {summary['epochs']} epochs, "
            f"{summary['steps']} updates in {wall:.0f} s on {summary['threads']} threads; "
            f"validation ESR {summary['val_esr']:.3g}")
    return NamRun(net=net, scale=scale, summary=summary)
