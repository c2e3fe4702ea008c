"""fxlab.util's shared helpers that no other test file reaches directly."""

from __future__ import annotations

import json

import pytest

from fxlab.errors import ParameterError
from fxlab.util import require_extra


def test_require_extra_returns_the_last_module_or_names_the_extra():
    assert require_extra("a test", ("os", "json"), "dev", "the standard library") is json
    with pytest.raises(ParameterError, match=r"fxlab listen.*no Voilà.*'listen' extra.*\.\[listen\]"):
        require_extra("fxlab listen", ("json", "fxlab_no_such_module"), "listen", "Voilà")
