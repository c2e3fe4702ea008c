"""The raters' page: the listening test as a web page without code, served by Voilà.

- :data:`PAGE_NOTEBOOK`   the page's notebook (``fxlab/listening/listening_test.ipynb``, package
  data): markdown for the raters, then four lines of code that Voilà runs and hides
- :data:`ENV_VAR`         ``FXLAB_LISTEN``: how ``fxlab listen`` hands its configuration to the page
- :func:`page_environment` the ``{FXLAB_LISTEN: <config as JSON>}`` the server's kernels inherit
- :func:`page_config`      the page's :class:`~fxlab.listening.config.ListeningConfig`, built from
  the notebook's parameters and ``FXLAB_LISTEN`` (which wins)
- :func:`rater_page`       the two tests in tabs: the A/B similarity test (1–4) and the ABX test

How the run folder reaches the page: ``fxlab listen RUN`` (:mod:`fxlab.listening.server`) builds
and checks the whole configuration, writes it as JSON into the environment variable
:data:`ENV_VAR` of the Voilà server it starts, and every kernel Voilà starts for a page inherits
the server's environment; the page reads it back with :func:`page_config`. Without the variable
(the notebook opened by hand) the notebook's own parameters cell is used.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fxlab.errors import ParameterError, problem, unknown_name
from fxlab.listening.abx import AbxSession
from fxlab.listening.abx_widget import AbxWidget
from fxlab.listening.config import ListeningConfig
from fxlab.listening.trials import TrialSet
from fxlab.listening.widget import ListeningWidget

__all__ = ["ENV_VAR", "PAGE_NOTEBOOK", "page_config", "page_environment", "rater_page"]

#: The page's notebook, shipped inside the package.
PAGE_NOTEBOOK = Path(__file__).with_name("listening_test.ipynb")
#: The environment variable holding the page's configuration (a JSON object of
#: :class:`~fxlab.listening.config.ListeningConfig` fields).
ENV_VAR = "FXLAB_LISTEN"
#: The tabs' titles, in order.
TAB_TITLES = ("1 · Similarity", "2 · ABX")


def page_environment(config: ListeningConfig) -> dict[str, str]:
    """The environment entries that hand ``config`` to the page: ``{ENV_VAR: JSON}``.

    Paths are written as they are in ``config``: make them absolute first, since Voilà starts its
    kernels in the notebook's folder.
    """
    return {ENV_VAR: json.dumps(config.to_dict(), sort_keys=True)}


def page_config(namespace: Mapping[str, Any], *,
                environ: Mapping[str, str] | None = None) -> ListeningConfig:
    """The page's configuration: the notebook's parameters, then :data:`ENV_VAR` over them.

    Parameters
    ----------
    namespace : mapping
        The notebook's ``globals()``; the :class:`ListeningConfig` fields found there are taken,
        the others keep their defaults.
    environ : mapping, optional
        Where to read :data:`ENV_VAR` (default ``os.environ``).

    Returns
    -------
    ListeningConfig
        Always ``interactive=True`` (the page is for raters).

    Raises
    ------
    ParameterError
        :data:`ENV_VAR` is not a JSON object, or a value is bad.
    UnknownNameError
        :data:`ENV_VAR` names a field :class:`ListeningConfig` does not have.
    """
    fields = [f.name for f in dataclasses.fields(ListeningConfig) if f.init]
    values = {k: namespace[k] for k in fields if k in namespace}
    raw = (os.environ if environ is None else environ).get(ENV_VAR, "")
    if raw:
        try:
            given = json.loads(raw)
        except ValueError:
            given = None
        if not isinstance(given, dict):
            raise ParameterError(problem(
                ENV_VAR, found=repr(raw[:80]), expected="a JSON object of the listening "
                "test's parameters", fix="start the page with `fxlab listen RUN`"))
        for name in given:
            if name not in fields:
                raise unknown_name(f"listening parameter (in {ENV_VAR})", name, fields)
        values.update(given)
    values["interactive"] = True
    return ListeningConfig(**values)


def rater_page(trial_set: TrialSet, abx_session: AbxSession, config: ListeningConfig):
    """The raters' page: the A/B test and the ABX test in two tabs (CSS class ``fxlab-page``).

    Parameters
    ----------
    trial_set : TrialSet
        From :func:`~fxlab.listening.prepare_trials`.
    abx_session : AbxSession
        From :func:`~fxlab.listening.prepare_abx`.
    config : ListeningConfig
        Uses ``ratings_file``, ``abx_file`` and ``seed``.

    Returns
    -------
    ipywidgets.Tab
        Its ``ab`` and ``abx`` attributes are the :class:`ListeningWidget` and :class:`AbxWidget`.
    """
    import ipywidgets as w

    ab = ListeningWidget(trial_set, ratings_path=config.ratings_file, seed=config.seed)
    abx = AbxWidget(abx_session, answers_path=config.abx_file, seed=config.seed)
    tabs = w.Tab(children=[ab.widget, abx.widget], titles=TAB_TITLES)
    tabs.add_class("fxlab-page")
    tabs.ab, tabs.abx = ab, abx
    return tabs
