"""The blind A/B listening test (being split into one module per job; see ``trials``)."""

from fxlab.listening.trials import *  # noqa: F403
from fxlab.listening.trials import __all__  # noqa: F401
