"""TFLite (LiteRT): a sample-level network (``lstm``, ``gru``, ``tcn``) as a streaming flatbuffer.

For LSTM/GRU networks the file is the one fxlab's own ``tflite`` engine runs
(:func:`fxlab.runtime.engines.tflite_flatbuffer`): inputs ``x [1, T, 1]`` (T dynamic: resize it
to the block length) and the states ``s0, s1, ... [1, H]`` (per layer ``h, c`` for LSTM, ``h`` for
GRU; zeros at the start of a stream). A network conditioned on ``K`` knobs also takes ``knobs
[1, T, K]`` after ``x`` (one row of normalised knob values per sample, in the order of the
metadata's ``knobs``): a separate input for the reasons :mod:`fxlab.export.onnx` gives (the audio
input is the same with or without knobs; the host passes its buffer as it is); the graph
concatenates them into the network's ``[1, T, 1 + K]`` rows and the skip adds ``x`` alone
(:func:`_knob_flatbuffer`; fxlab's own ``tflite`` engine takes the rows concatenated). For the ``tcn`` the states are, per dilated layer, its last
``(K - 1) * dilation`` inputs ``[(K - 1) * dilation, C]`` (as in :mod:`fxlab.export.onnx`). Both
return ``y [T]`` (the input skip included) and the new states ``s0_out, s1_out, ...``. The
metadata is stored in the flatbuffer's ``metadata`` table under the name ``fxlab`` (UTF-8 JSON),
where LiteRT keeps model metadata; :func:`read_metadata` reads it back.

- :data:`TFLITE`         the format
- :func:`to_flatbuffer`  the bytes of the file (Keras's TensorFlow backend only)
- :func:`read_metadata`  the ``fxlab`` metadata of a written file
"""

from __future__ import annotations

import json
from pathlib import Path

from fxlab.export.base import Format, sample_level_only
from fxlab.util import atomic_write

__all__ = ["METADATA_NAME", "TFLITE", "read_metadata", "to_flatbuffer"]

#: Name of the flatbuffer metadata entry that holds fxlab's metadata.
METADATA_NAME = "fxlab"


def _tcn_flatbuffer(tm) -> bytes:
    """The streaming TCN: per dilated layer a buffer of its last ``(K - 1) * dilation`` inputs."""
    import tensorflow as tf

    from fxlab.models.base import keras_of
    from fxlab.models.tcn import tcn_spec

    spec = tcn_spec(keras_of(tm))
    c, k = spec.channels, spec.kernel
    past = [(k - 1) * int(d) for d in spec.dilations]
    sig = [tf.TensorSpec([1, None, 1], tf.float32, name="x")] + [
        tf.TensorSpec([p, c], tf.float32, name=f"s{i}") for i, p in enumerate(past) if p]

    def step(x, *states):
        x = tf.reshape(x, [-1])
        n = tf.shape(x)[0]
        h = x[:, None] * spec.input_w[None] + spec.input_b
        skip, new, it = spec.skip_b, [], iter(states)
        for layer, p in enumerate(past):
            d = int(spec.dilations[layer])
            full = tf.concat([next(it), h], axis=0) if p else h
            if p:
                new.append(full[-p:])
            z = spec.conv_b[layer]
            for m in range(k):  # tap m reads the layer input (k - 1 - m) * d samples ago
                z = z + tf.matmul(full[m * d:m * d + n], spec.conv_w[layer, m])
            gated = tf.tanh(z[:, :c]) * tf.sigmoid(z[:, c:])
            skip = skip + tf.matmul(gated, spec.skip_w[layer])
            if layer < spec.n_layers - 1:
                h = h + tf.matmul(gated, spec.res_w[layer]) + spec.res_b[layer]
        if spec.skip_tanh:
            skip = tf.tanh(skip)
        y = tf.reshape(tf.matmul(skip, spec.head_w[:, None]), [-1]) + spec.head_b + x
        return (y, *new)

    fn = tf.function(step, input_signature=sig).get_concrete_function()
    return tf.lite.TFLiteConverter.from_concrete_functions([fn]).convert()


def _knob_flatbuffer(spec) -> bytes:
    """A conditioned LSTM/GRU: inputs ``x [1, T, 1]``, ``knobs [1, T, K]``, then the states."""
    import logging
    import warnings

    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    from fxlab.models.recurrent import stateful_twin

    model = stateful_twin(spec)
    n_states = 2 if spec.cell == "lstm" else 1
    shapes = [(1, u) for u in spec.units for _ in range(n_states)]
    sig = [tf.TensorSpec([1, None, 1], tf.float32, name="x"),
           tf.TensorSpec([1, None, spec.knobs], tf.float32, name="knobs")] + [
        tf.TensorSpec(s, tf.float32, name=f"s{i}") for i, s in enumerate(shapes)]

    def step(x, knobs, *states):
        out = model([tf.concat([x, knobs], axis=-1), *states], training=False)
        y = tf.reshape(out[0], [-1])  # reshape before the add (as the runtime's engine does)
        if spec.residual:
            y = y + tf.reshape(x, [-1])
        return (y, *out[1:])

    frozen = convert_variables_to_constants_v2(tf.function(step, input_signature=sig).get_concrete_function())
    logging.getLogger("absl").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tf.lite.TFLiteConverter.from_concrete_functions([frozen]).convert()


def to_flatbuffer(tm, meta: dict) -> bytes:
    """The TFLite flatbuffer of a trained ``lstm``, ``gru`` or ``tcn``, with ``meta`` attached."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    from fxlab.models.recurrent import rnn_spec
    from fxlab.runtime.engines import tflite_flatbuffer

    if tm.structure == "tcn":
        blob = _tcn_flatbuffer(tm)
    else:
        spec = rnn_spec(tm)
        blob = _knob_flatbuffer(spec) if spec.knobs else tflite_flatbuffer(spec)
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(blob))
    graph = model.subgraphs[0]
    for idx in graph.outputs:  # the converter names outputs Identity, Identity_1, ...: say what they are
        tensor = graph.tensors[idx]
        name = tensor.name.decode() if isinstance(tensor.name, bytes) else tensor.name
        if name == "Identity":
            tensor.name = "y"
        elif name.startswith("Identity_"):
            tensor.name = f"s{int(name.split('_')[1]) - 1}_out"
    buf = schema.BufferT()
    buf.data = list(json.dumps(meta).encode("utf-8"))
    model.buffers.append(buf)
    entry = schema.MetadataT()
    entry.name = METADATA_NAME
    entry.buffer = len(model.buffers) - 1
    model.metadata = [*(model.metadata or []), entry]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def read_metadata(path) -> dict:
    """The ``fxlab`` metadata stored in a TFLite file written by this module."""
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(path))
    for entry in model.metadata or []:
        name = entry.name.decode() if isinstance(entry.name, bytes) else entry.name
        if name == METADATA_NAME:
            return json.loads(bytes(model.buffers[entry.buffer].data).decode("utf-8"))
    return {}


def _write(tm, path: Path, meta: dict) -> None:
    atomic_write(path, to_flatbuffer(tm, meta))


def _why_not(tm) -> str | None:
    import keras

    if keras.backend.backend() != "tensorflow":
        return (f"the TFLite converter needs Keras's TensorFlow backend, and this is "
                f"{keras.backend.backend()!r} (export with KERAS_BACKEND=tensorflow)")
    return sample_level_only(tm)


TFLITE = Format(
    name="tflite", extension=".tflite",
    represents="the sample-level networks (lstm, gru, tcn), streaming (state in/out)",
    why_not=_why_not, write=_write,
    verified_by="the LiteRT interpreter (ai_edge_litert.interpreter), block by block with the state carried",
)
