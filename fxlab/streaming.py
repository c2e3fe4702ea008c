"""Streaming: run any fxlab model block by block, as a plugin would, state carried between blocks.

A :class:`StreamProcessor` takes blocks of any size (1 sample to a whole file; sizes may change
from block to block) and returns as many output samples, equal to the offline output of the whole
signal within 1e-6 (the tests check block sizes 1, 7 and 64 for every model family). How the state is
carried depends on the network:

- **sample-level LSTM/GRU** (``kind == "rnn"``): the recurrent state, inside an
  :class:`fxlab.engines.Engine` (numba by default; any engine by name).
- **causal TCN** (``"tcn"``): a buffer of the last ``receptive_field - 1`` input samples; each block
  runs the network over ``[buffer, block]`` and keeps the last ``len(block)`` outputs. While fewer
  samples than that have arrived the buffer holds the whole signal so far, so the network's own
  causal zero padding sits where it sits offline and the first outputs match exactly too.
- **the thesis's windowed networks** (``"windowed"``): a buffer of the last ``window - 1`` samples
  (zeros at the start, as :func:`fxlab.engines.windowed_predict` pads offline); each output sample
  is one forward pass over its own window, as the thesis measured (section 4.1.1). The windows of
  one block go through the network together, as one batch of ``len(block)`` forward passes.

No algorithmic latency is added beyond the block itself: output sample ``n`` is returned in the
same call that delivers input sample ``n``.

Functions and classes
---------------------
- :class:`StreamProcessor`   ``process(block)``, ``reset()``, ``process_signal(x, block_size=)``
- :func:`check_block_size`   the one validator of block sizes (raises ``ParameterError``)
- :func:`stream_file`        WAV in -> WAV out, block by block, with a progress bar
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from fxlab import engines
from fxlab.errors import (
    AudioFileError,
    ChannelError,
    ParameterError,
    SampleRateError,
    problem,
)

__all__ = ["StreamProcessor", "check_block_size", "stream_file", "STUDY_SR"]

#: The study's sample rate [Hz].
STUDY_SR = 44100


def check_block_size(block_size, *, name: str = "block_size") -> int:
    """Check a block size and return it as an ``int``.

    Parameters
    ----------
    block_size : int > 0 [samples]
        Python ``int`` or numpy integer; floats (even ``64.0``), bools and strings are refused.

    Raises
    ------
    ParameterError
        For 0, negative numbers and anything that is not an integer.
    """
    if isinstance(block_size, bool) or not isinstance(block_size, int | np.integer):
        raise ParameterError(problem(
            f"{name}={block_size!r}", found=f"a {type(block_size).__name__}",
            expected="a whole number of samples >= 1, e.g. 64",
            fix=f"pass an int (e.g. {name}=64)",
        ))
    if block_size < 1:
        raise ParameterError(problem(
            f"{name}={block_size!r}", found="a block of no samples" if block_size == 0 else "a negative size",
            expected="a whole number of samples >= 1, e.g. 64",
            fix=f"pass {name}=1 or more (64 samples = 1.45 ms at 44.1 kHz)",
        ))
    return int(block_size)


class StreamProcessor:
    """Block-by-block processing of a trained fxlab model.

    Parameters
    ----------
    model : fxlab.training.TrainedModel or keras.Model
        Any fxlab model: sample-level LSTM/GRU, causal TCN, or a windowed thesis network.
    engine : str
        For LSTM/GRU networks, the :mod:`fxlab.engines` engine (``"auto"`` = numba); other kinds
        run their Keras model inside ``tf.function`` and ignore it.
    sr : int > 0 [Hz]
        The sample rate the model was trained at (only used to check WAV files and report timings).

    Attributes
    ----------
    kind : str
        ``"rnn"``, ``"tcn"`` or ``"windowed"``.
    engine_name : str
        ``"numba"``, ``"xla"``, ... for ``"rnn"``; ``"keras"`` (in ``tf.function``) otherwise.
    buffer_samples : int
        Input samples kept between blocks (0 for recurrent networks, which keep a state instead).
    """

    def __init__(self, model, *, engine: str = "auto", sr: int = STUDY_SR):
        self.model = model
        self.name = engines._model_name(model)
        self.sr = int(sr)
        self.kind = engines.model_kind(model)
        km = engines.keras_model(model)
        if self.kind == "rnn":
            self._engine = engines.make_engine(model, engine)
            self.engine_name = self._engine.name
            self.buffer_samples = 0
        elif self.kind == "tcn":
            self.engine_name = "keras"
            self.receptive_field = engines.receptive_field(model)
            self.buffer_samples = self.receptive_field - 1
            self._fn = engines._forward_fn(km, None)
        else:
            self.engine_name = "keras"
            self.window = int(km.inputs[0].shape[1])
            self.buffer_samples = self.window - 1
            self._fn = engines._forward_fn(km, self.window)
        self.reset()

    def reset(self) -> None:
        """Forget everything heard so far (call between files)."""
        if self.kind == "rnn":
            self._engine.reset()
        elif self.kind == "tcn":
            self._hist = np.zeros(0, np.float32)
        else:
            self._hist = np.zeros(self.buffer_samples, np.float32)

    def process(self, block: np.ndarray) -> np.ndarray:
        """Process the next block.

        Parameters
        ----------
        block : np.ndarray [shape=(n,), float32], n >= 0
            The next ``n`` input samples; ``n`` may differ from call to call.

        Returns
        -------
        out : np.ndarray [shape=(n,), float32]
            The output samples for exactly these input samples.
        """
        x = np.ascontiguousarray(block, dtype=np.float32)
        if x.ndim != 1:
            raise ParameterError(problem(
                "block", found=f"shape {x.shape}", expected="a mono block of shape (n,)",
                fix="pass one channel, e.g. block[:, 0]",
            ))
        n = x.size
        if n == 0:
            return np.zeros(0, np.float32)
        if self.kind == "rnn":
            return self._engine.process(x)
        ext = np.concatenate([self._hist, x])
        if self.kind == "tcn":
            y = self._fn(ext)[-n:]
            keep = self.buffer_samples
            self._hist = ext[-keep:] if keep else np.zeros(0, np.float32)
            return np.ascontiguousarray(y, np.float32)
        frames = np.lib.stride_tricks.sliding_window_view(ext, self.window)
        y = self._fn(frames)
        self._hist = ext[ext.size - self.buffer_samples:].copy()
        return np.asarray(y, np.float32)

    def process_signal(self, x: np.ndarray, *, block_size: int) -> np.ndarray:
        """Reset, then stream a whole signal through in blocks of ``block_size`` samples.

        Parameters
        ----------
        x : np.ndarray [shape=(n,), float32]
        block_size : int >= 1 [samples]
            The last block may be shorter.

        Returns
        -------
        y : np.ndarray [shape=(n,), float32]
        """
        block_size = check_block_size(block_size)
        x = np.asarray(x, dtype=np.float32)
        self.reset()
        out = [self.process(x[i : i + block_size]) for i in range(0, x.size, block_size)]
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def __repr__(self) -> str:
        return f"<StreamProcessor {self.name} kind={self.kind} engine={self.engine_name}>"


def stream_file(in_wav, out_wav, processor: StreamProcessor, block_size: int, *,
                progress: bool = True) -> dict:
    """Stream a mono WAV through ``processor`` block by block and write the result.

    Reads ``block_size`` samples at a time from disk, processes them, writes them out (float32
    WAV), the way a plugin would see its audio. The processor is reset first.

    Parameters
    ----------
    in_wav, out_wav : str or Path
        Mono WAV at ``processor.sr``; the output is written as 32-bit float.
    processor : StreamProcessor
    block_size : int >= 1 [samples]
    progress : bool
        Show a ``tqdm`` progress bar (on stderr) counting samples.

    Returns
    -------
    info : dict
        ``n_samples``, ``n_blocks``, ``block_size``, ``seconds_audio``, ``seconds_processing``
        (time inside ``processor.process`` only), ``rtf`` (processing / audio), ``out_wav``.

    Raises
    ------
    AudioFileError, ChannelError, SampleRateError, ParameterError
    """
    import soundfile as sf
    from tqdm import tqdm

    block_size = check_block_size(block_size)
    in_wav, out_wav = Path(in_wav), Path(out_wav)
    if not in_wav.is_file():
        raise AudioFileError(problem(
            str(in_wav), found="no such file", expected="a mono WAV file",
            fix="check the path (the validation speech is run_dir/data/val2/dry.wav)",
        ))
    try:
        info = sf.info(str(in_wav))
    except Exception as exc:
        raise AudioFileError(problem(
            str(in_wav), found=f"an unreadable file ({exc})", expected="a WAV file",
            fix="convert it to WAV (e.g. with fxlab.audio.write_wav)",
        )) from exc
    if info.channels != 1:
        raise ChannelError(problem(
            str(in_wav), found=f"{info.channels} channels", expected="mono",
            fix="mix it down first (fxlab.audio.read_wav(path, mono=True))",
        ))
    if info.samplerate != processor.sr:
        raise SampleRateError(problem(
            str(in_wav), found=f"sample rate {info.samplerate} Hz", expected=f"{processor.sr} Hz",
            fix=f"resample it with fxlab.audio.resample(x, {info.samplerate}, {processor.sr})",
        ))
    out_wav.parent.mkdir(parents=True, exist_ok=True)
    processor.reset()
    busy = 0.0
    n_blocks = 0
    bar = tqdm(total=info.frames, unit="sample", unit_scale=True, disable=not progress,
               desc=f"{processor.name} ({processor.engine_name}, {block_size}-sample blocks)",
               file=sys.stderr, mininterval=0.25)
    with sf.SoundFile(str(out_wav), "w", samplerate=processor.sr, channels=1, subtype="FLOAT") as dst:
        for block in sf.blocks(str(in_wav), blocksize=block_size, dtype="float32", always_2d=False):
            t0 = time.perf_counter()
            y = processor.process(block)
            busy += time.perf_counter() - t0
            dst.write(y)
            n_blocks += 1
            bar.update(block.size)
    bar.close()
    seconds_audio = info.frames / processor.sr
    return {
        "n_samples": int(info.frames),
        "n_blocks": n_blocks,
        "block_size": block_size,
        "seconds_audio": seconds_audio,
        "seconds_processing": busy,
        "rtf": busy / seconds_audio if seconds_audio else float("nan"),
        "out_wav": str(out_wav),
    }
