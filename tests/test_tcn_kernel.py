"""The compiled TCN kernel equals the Keras TCN, block by block, for any block size; it resets.

The TCNs are tiny and freshly built with perturbed weights (so biases are non-zero and no gate sits
at its initial value): equality with Keras does not depend on training. Two stacks and odd channel
counts catch ring-buffer and weight-layout bugs.
"""

from __future__ import annotations

import numpy as np
import pytest
from weights_support import perturb_weights

from fxlab.errors import ParameterError
from fxlab.models import build_model, model_config
from fxlab.models.tcn import TcnSpec, tcn_spec
from fxlab.runtime.tcn_kernel import TcnKernel, render

TOYS = {
    "small": {"channels": 4, "layers": 4},                          # receptive field 31
    "two_stacks": {"channels": 5, "layers": 3, "stacks": 2},        # receptive field 29
    "kernel_2": {"channels": 3, "kernel": 2, "layers": 5},          # receptive field 32
}


@pytest.fixture(scope="module", params=sorted(TOYS))
def toy(request):
    kw = TOYS[request.param]
    model = perturb_weights(build_model("tcn", seed=3, **kw), seed=4, scale=0.3)
    x = (0.5 * np.random.default_rng(7).standard_normal(300)).astype(np.float32)
    whole = np.asarray(model.predict_on_batch(x[None, :, None])).reshape(-1)
    return request.param, model, x, whole


@pytest.mark.parametrize("block_size", [1, 7, 64, None])
def test_blocks_equal_keras_on_the_whole_signal(toy, block_size):
    _, model, x, whole = toy
    kernel = TcnKernel(tcn_spec(model))
    step = block_size or x.size
    y = np.concatenate([kernel.process(x[i:i + step]) for i in range(0, x.size, step)])
    assert y.dtype == np.float32 and y.shape == x.shape
    np.testing.assert_allclose(y, whole, atol=1e-5)


def test_weights_describe_the_model(toy):
    name, model, x, whole = toy
    w = tcn_spec(model)
    assert isinstance(w, TcnSpec)
    assert w.receptive_field == model_config("tcn", **TOYS[name])["receptive_field"]
    assert all(a.dtype == np.float32 for a in (w.conv_w, w.skip_w, w.res_w, w.head_w))
    np.testing.assert_allclose(render(w, x), whole, atol=1e-5)


def test_reset_forgets_the_past(toy):
    _, model, x, whole = toy
    kernel = TcnKernel(tcn_spec(model))
    kernel.process(x[:123])
    kernel.reset()
    np.testing.assert_allclose(kernel.process(x[:100]), whole[:100], atol=1e-5)


def test_an_empty_block_gives_an_empty_output(toy):
    _, model, x, whole = toy
    kernel = TcnKernel(tcn_spec(model))
    assert kernel.process(np.zeros(0, np.float32)).shape == (0,)
    np.testing.assert_allclose(kernel.process(x), whole, atol=1e-5)


@pytest.mark.parametrize("shape", [(64, 1), (1, 64), (2, 3, 4), ()])
def test_a_block_that_is_not_mono_raises(shape):
    kernel = TcnKernel(tcn_spec(build_model("tcn", seed=0, **TOYS["small"])))
    with pytest.raises(ParameterError, match="shape"):
        kernel.process(np.zeros(shape, np.float32))


def test_a_model_that_is_not_a_tcn_raises():
    with pytest.raises(ParameterError, match="tcn"):
        tcn_spec(build_model("gru", seed=0, units=4))
    with pytest.raises(ParameterError, match="TcnSpec"):
        TcnKernel({"channels": 4})
