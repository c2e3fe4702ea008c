"""Latency: how fast each model runs block by block on one CPU core, and can it run live?

For every model x engine x block size (1, 16, 64, 256, 1024, 4096 samples) the time of each
``Processor.process(block)`` call is taken with ``time.perf_counter_ns`` over up to 1000 blocks
of seeded white noise after a warm-up (the first blocks, which also trigger XLA compilation, are not
counted). Slow configurations get fewer blocks (a per-configuration time budget; the entry's
``note`` says so) or are skipped when a smaller block size already shows one block would take longer
than ``max_block_seconds`` (``skipped`` says why). Reported per configuration: the median and 99th
percentile time per block, the real-time factor ``RTF = median time / block duration`` (< 1: faster
than real time), ``rtf_p99``, and the algorithmic latency ``block / sr`` in ms (a block must be
complete before it is processed; no model here adds look-ahead).

The gray-box emulator (``graybox``: biquads and a static curve, not a network) is timed exactly as
the networks are, through its processor (kind ``graybox``, engine ``numba`` only).

Knob-conditioned models (LSTM/GRU reading knob values beside the audio, a gray-box emulator
computing its parameters from them) are timed twice: with
their knobs at rest at the defaults (``knobs: "fixed"``; every engine) and with every knob moved to
a new seeded value before every block (``knobs: "moved every block"``: ``set_knobs`` inside the
timed call, then the 10 ms glide the network is fed; the first engine that runs the model). The
difference is what moving a knob costs a plugin's block. Networks without knobs have
``knobs: null``.

The live question (the thesis, section 5): a model can run live at a block size when the 99th
percentile of its block time stays under the block's duration. Its *smallest live block* is the
smallest measured block size where that holds (with its best engine); it runs live for voice if that
block is at most 3 ms long (132 samples at 44.1 kHz) and for guitar if at most 13 ms (573 samples).
Only the measured sizes are tried, so 64 samples (1.45 ms) is the voice answer and 256 (5.8 ms) the
guitar answer when the model makes it at those sizes.

One core: :func:`pin_one_core` must run before TensorFlow executes its first operation. It sets the
process's CPU affinity to one core (``os.sched_setaffinity``), ``OMP_NUM_THREADS``,
``TF_NUM_INTRAOP_THREADS``/``TF_NUM_INTEROP_THREADS`` = 1, TensorFlow's
``tf.config.threading.set_intra_op_parallelism_threads(1)`` and ``..._inter_op_...(1)``, and
``numba.set_num_threads(1)``; the TFLite interpreter gets ``num_threads=1``. If TensorFlow was already
running, the record says so (``tf_threads_pinned: false``); the affinity still holds.

``latency.json`` layout
-----------------------
::

    {
      "schema": 1,
      "sr": 44100,
      "block_sizes": [1, 16, 64, 256, 1024, 4096],
      "settings": {LatencyConfig fields: "models", "engines", "block_sizes", "n_blocks",
                   "seconds_per_config", "max_block_seconds", "seed"},
      "conditions": {"cpu_affinity": [0], "tf_threads_pinned": true, "numba_threads": 1,
                     "machine": {...}, "versions": {...}, "load_average": [...]},
      "thesis": {"ms_per_sample": 0.8, "rtf": 35.28, "bounds_ms": {"voice": 3.0, "guitar": 13.0}},
      "models": {
        "<model>": {
          "kind": "rnn" | "tcn" | "windowed" | "graybox", "family": "sample" | "windowed",
          "param_count": int,
          "engines": {"<engine>": null | "<why it is unavailable>"},
          "default_engine": "numba", "knobs": [knob names; empty when not conditioned],
          "summary": {"engine": ..., "rtf": <RTF at 64-sample blocks, default engine>,
                      "p99_ms_64": ..., "ms_per_sample": <median per output sample, block 1 or
                      the smallest measured>, "smallest_live_block": int | null,
                      "smallest_live_ms": float | null, "live_voice": bool, "live_guitar": bool,
                      "best_engine_64": ..., "best_rtf_64": ...,
                      "rtf_moved_64": <RTF at 64 with a knob moved every block> | null,
                      "p99_ms_moved_64": ... | null}
        }
      },
      "measurements": [
        {"model": ..., "engine": ..., "block_size": 64, "latency_ms": 1.451,
         "n_blocks": 1000, "warmup": 20, "median_ms": ..., "p99_ms": ..., "mean_ms": ...,
         "rtf": ..., "rtf_p99": ..., "ms_per_sample": ..., "note": "" , "skipped": null,
         "knobs": null | "fixed" | "moved every block"}
      ]
    }

Functions
---------
- :data:`BLOCK_SIZES`, :data:`THESIS_MS_PER_SAMPLE`, :data:`THESIS_RTF`, :data:`BOUNDS_MS`,
  :data:`RECOMMENDED_MODEL`
- :class:`LatencyConfig`     the frozen, checked settings of a measurement (notebook 05)
- :func:`pin_one_core`       pin this process to one core (call first)
- :func:`machine_info`       CPU, Python and library versions
- :func:`time_blocks`        time one processor at one block size
- :func:`measure_model`      every engine x block size of one model
- :func:`live_answer`        the smallest live block and the voice/guitar verdicts
- :func:`load_models`        trained models of a run folder
- :func:`measure_run`        everything, written to ``run_dir/latency.json``
- :data:`KNOBS_FIXED`, :data:`KNOBS_MOVED`   a conditioned network's two knob modes
- :func:`live_table_html`, :func:`thesis_table_html`, :func:`measurements_html`,
  :func:`knobs_table_html`, :func:`answer_markdown`   what the notebook and the report show (the
  figure: :func:`fxlab.plots.latency.rtf_figure`)
- :func:`pick_demo_model`    the model the live-style demo streams
- :func:`demo_knob_sweep`, :func:`sweep_note`   a conditioned demo model's knob moved mid-stream,
  and the sentence saying so

Modules: ``config`` (:class:`LatencyConfig`, :data:`KIND_ENGINES`, the thesis's figures),
``measure`` (pinning, timing, ``latency.json``), ``display`` (tables, answer).
"""

from fxlab.latency.config import (
    BLOCK_SIZES,
    BOUNDS_MS,
    KIND_ENGINES,
    RECOMMENDED_MODEL,
    THESIS_MS_PER_SAMPLE,
    THESIS_RTF,
    LatencyConfig,
    parse_block_sizes,
)
from fxlab.latency.display import (
    answer_markdown,
    knobs_table_html,
    live_table_html,
    measurements_html,
    sweep_note,
    thesis_table_html,
)
from fxlab.latency.measure import (
    KNOBS_FIXED,
    KNOBS_MOVED,
    demo_knob_sweep,
    live_answer,
    load_models,
    machine_info,
    measure_model,
    measure_run,
    pick_demo_model,
    pin_one_core,
    time_blocks,
)

__all__ = [
    "BLOCK_SIZES",
    "BOUNDS_MS",
    "KIND_ENGINES",
    "KNOBS_FIXED",
    "KNOBS_MOVED",
    "LatencyConfig",
    "RECOMMENDED_MODEL",
    "THESIS_MS_PER_SAMPLE",
    "THESIS_RTF",
    "answer_markdown",
    "demo_knob_sweep",
    "knobs_table_html",
    "live_answer",
    "live_table_html",
    "load_models",
    "machine_info",
    "measure_model",
    "measure_run",
    "measurements_html",
    "parse_block_sizes",
    "pick_demo_model",
    "pin_one_core",
    "sweep_note",
    "thesis_table_html",
    "time_blocks",
]
