"""The study's figures, one module per step (matplotlib; safe under the Agg backend).

=================  ======================================================================
module             figures
=================  ======================================================================
``common``         the shared style: :func:`~fxlab.plots.common.grid_figure`,
                   :func:`~fxlab.plots.common.finish` (title and caption),
                   :func:`~fxlab.plots.common.hz_axis`, :func:`~fxlab.plots.common.spectrum_db`,
                   :func:`~fxlab.plots.common.save_figure` and the colours
``data``           step 01 (``01_synthesize_data``): signal overview, the effect's response,
                   a split over time, a conditioned data set's knob settings
``training``       step 02 (``02_train``): training curves per model folder, and the thesis's
                   networks' learning curves (drawn by the evaluation)
``evaluation``     step 03 (``03_evaluate``): target against output over time, spectra,
                   spectrograms, magnitude responses, band errors, the thesis's measure per
                   model, harmonics, error against a knob
``listening``      step 04 (``04_listening_test``): mean answer per model beside the thesis's
``latency``        step 05 (``05_latency``): real-time factor against block size
``sweep``          ``06_compare`` (sweeps): headline metrics against a swept parameter
``capture``        ``fxlab train`` on a user's pair: the evidence for the latency found
=================  ======================================================================

Every figure is a :class:`matplotlib.figure.Figure` built directly, never through ``pyplot``, so
no GUI backend is touched and nothing accumulates in pyplot's figure registry; frequency axes are
logarithmic and in Hz, levels in dB. Importing this package imports nothing: each module imports
matplotlib itself.
"""
