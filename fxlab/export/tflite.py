"""TFLite (LiteRT): a sample-level LSTM/GRU network as a streaming flatbuffer, state in and out.

The file is the one fxlab's own ``tflite`` engine runs (:func:`fxlab.runtime.engines.
tflite_flatbuffer`): inputs ``x [1, T, 1]`` (T dynamic: resize it to the block length) and the
states ``s0, s1, ... [1, H]`` (per layer ``h, c`` for LSTM, ``h`` for GRU; zeros at the start of
a stream); outputs ``y [T]`` (the input skip included) and the new states ``s0_out, s1_out, ...``. The metadata is stored
in the flatbuffer's ``metadata`` table under the name ``fxlab`` (UTF-8 JSON), where LiteRT keeps
model metadata; :func:`read_metadata` reads it back.

- :data:`TFLITE`         the format
- :func:`to_flatbuffer`  the bytes of the file
- :func:`read_metadata`  the ``fxlab`` metadata of a written file
"""

from __future__ import annotations

import json
from pathlib import Path

from fxlab.export.base import Format, recurrent_only
from fxlab.util import atomic_write

__all__ = ["METADATA_NAME", "TFLITE", "read_metadata", "to_flatbuffer"]

#: Name of the flatbuffer metadata entry that holds fxlab's metadata.
METADATA_NAME = "fxlab"


def to_flatbuffer(tm, meta: dict) -> bytes:
    """The TFLite flatbuffer of a trained ``lstm``/``gru`` network, with ``meta`` attached."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    from fxlab.models.recurrent import rnn_spec
    from fxlab.runtime.engines import tflite_flatbuffer

    blob = tflite_flatbuffer(rnn_spec(tm))
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
    return recurrent_only(tm)


TFLITE = Format(
    name="tflite", extension=".tflite",
    represents="sample-level LSTM/GRU networks (lstm, gru), any units and layers, streaming (state in/out)",
    why_not=_why_not, write=_write,
    verified_by="the LiteRT interpreter (ai_edge_litert.interpreter), block by block with the state carried",
)
