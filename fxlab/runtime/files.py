"""Stream a WAV file through a processor block by block, as a plugin would see its audio.

- :func:`stream_file`  WAV in -> WAV out, block by block, with a progress bar (and, for a
                       knob-conditioned network, knobs swept along the file)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from fxlab.audio import wav_writer
from fxlab.errors import (
    AudioFileError,
    ChannelError,
    ParameterError,
    SampleRateError,
    problem,
    unknown_name,
)
from fxlab.runtime.streaming import Processor, check_block_size

__all__ = ["stream_file"]


def stream_file(in_wav, out_wav, processor: Processor, block_size: int, *,
                progress: bool = True, knob_sweep=None) -> dict:
    """Stream a mono WAV through ``processor`` block by block and write the result.

    Reads ``block_size`` samples at a time from disk, processes them, writes them out (float32
    WAV), the way a plugin would see its audio. The processor is reset first. With
    ``knob_sweep``, a knob-conditioned network's knobs are moved mid-stream as a hand on the
    pedal would: before every block, ``processor.set_knobs`` sets each swept knob to its value at
    that point of the file, along a straight line on the knob's own scale from the first value
    to the second (the processor's smoothing glides between blocks: no step, no click).

    Parameters
    ----------
    in_wav, out_wav : str or Path
        Mono WAV at ``processor.sr``; the output is written as 32-bit float.
    processor : Processor
    block_size : int >= 1 [samples]
    progress : bool
        Show a ``tqdm`` progress bar (on stderr) counting samples.
    knob_sweep : {knob name: (start, end)}, optional
        Knob values in knob units at the file's first and last sample (each checked against the
        knob's range); the knobs not named stay where they are.

    Returns
    -------
    info : dict
        ``n_samples``, ``n_blocks``, ``block_size``, ``seconds_audio``, ``seconds_processing``
        (time inside ``processor.process`` and ``set_knobs`` only), ``rtf`` (processing / audio),
        ``out_wav``, ``knob_sweep`` (``{name: [start, end]}`` or None).

    Raises
    ------
    AudioFileError, ChannelError, SampleRateError, ParameterError
    """
    import soundfile as sf
    from tqdm import tqdm

    block_size = check_block_size(block_size)
    in_wav, out_wav = Path(in_wav), Path(out_wav)
    info = _input_info(in_wav, processor.sr)
    sweep = _sweep_ends(processor, knob_sweep) if knob_sweep else None
    out_wav.parent.mkdir(parents=True, exist_ok=True)
    processor.reset()
    busy = 0.0
    n_blocks = 0
    done = 0
    last = max(info.frames - 1, 1)
    bar = tqdm(total=info.frames, unit="sample", unit_scale=True, disable=not progress,
               desc=f"{processor.name} ({processor.engine_name}, {block_size}-sample blocks)",
               file=sys.stderr, mininterval=0.25)
    with wav_writer(out_wav, processor.sr) as dst:
        for block in sf.blocks(str(in_wav), blocksize=block_size, dtype="float32", always_2d=False):
            moves = {name: float(knob.denormalise(u0 + (u1 - u0) * min(done / last, 1.0)))
                     for name, (knob, u0, u1) in sweep.items()} if sweep else None
            t0 = time.perf_counter()
            if moves:
                processor.set_knobs(**moves)
            y = processor.process(block)
            busy += time.perf_counter() - t0
            done += block.size
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
        "knob_sweep": {name: [float(knob_sweep[name][0]), float(knob_sweep[name][1])]
                       for name in sweep} if sweep else None,
    }


def _input_info(in_wav: Path, sr: int):
    """``soundfile.info`` of the input, refused unless a readable mono WAV at ``sr``."""
    import soundfile as sf

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
    if info.samplerate != sr:
        raise SampleRateError(problem(
            str(in_wav), found=f"sample rate {info.samplerate} Hz", expected=f"{sr} Hz",
            fix=f"resample it with fxlab.audio.resample(x, {info.samplerate}, {sr})",
        ))
    return info


def _sweep_ends(processor: Processor, knob_sweep: dict) -> dict:
    """``{name: (knob, start, end)}``, the ends normalised to [0, 1]; refuses a knob the
    processor lacks, or ends that are not two values in the knob's range."""
    if not processor.knobs:
        processor.set_knobs(**{k: v[0] for k, v in knob_sweep.items()})  # the error: no knobs
    by_name = {k.name: k for k in processor.knobs}
    sweep = {}
    for name, ends in knob_sweep.items():
        if name not in by_name:
            raise unknown_name(f"knob of model {processor.name!r}", name, list(by_name))
        try:
            a, b = ends
        except (TypeError, ValueError) as exc:
            raise ParameterError(problem(
                f"knob_sweep[{name!r}]", found=repr(ends), expected="two values (start, end)",
                fix=f"pass knob_sweep={{{name!r}: (low, high)}}")) from exc
        knob = by_name[name]
        sweep[name] = (knob, knob.normalise(knob.check(a, "knob_sweep")),
                       knob.normalise(knob.check(b, "knob_sweep")))
    return sweep
