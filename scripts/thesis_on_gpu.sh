#!/usr/bin/env bash
# Run the `thesis` reference profile (fxlab/profiles/thesis.yaml) on a GPU machine that has JAX but
# no TensorFlow, with Keras on its JAX backend.
#
#   scripts/thesis_on_gpu.sh [--tiny] [--run-id ID] [--reports DIR] [-- EXTRA fxlab run ARGS...]
#
#   --tiny         the `tiny` profile instead (seconds, toy sizes): to try the script on a CPU
#                  (PROFILE=tiny in the environment does the same; PROFILE=NAME any profile)
#   --run-id ID    run folder name (default: <profile>-jax-<date>); rerun with the same ID to resume
#   --reports DIR  reports folder (default: ./reports); the run lands in DIR/ID
#   PYTHON=...     the interpreter (default: python3); SITE=... where wheels go (default /tmp/site)
#
# Shell, not Python: the work is setting up the process before Python starts (wheels into a
# target folder, PYTHONPATH, KERAS_BACKEND, which Keras reads once, at import) and then one
# `fxlab run`; nothing of it is measured, so it is no benchmark under fxlab/bench.
#
# What fxlab needs that such a machine may lack. Everything of fxlab that imports TensorFlow does
# so only under the TensorFlow backend (training's determinism switch and TensorBoard logs, the
# TensorFlow-only engines tflite/xla/tf_function, which report themselves unavailable, and the
# latency step's thread pinning), so TensorFlow itself is not needed. The steps do need, beside
# JAX, numpy, scipy, numba, matplotlib, jinja2, pyyaml and tqdm:
#   keras namex optree                               (Keras 3)
#   librosa soundfile soxr pyloudnorm pedalboard      (audio, metrics, the listening clips; librosa
#     audioread pooch decorator cffi pycparser        also wants these)
#   papermill nbformat nbclient nbconvert jupyter_client ipykernel ipython ipywidgets
#     and their dependencies (traitlets jupyter_core pyzmq tornado comm debugpy jedi parso
#     prompt_toolkit ...): the pipeline runs each step's notebook in a Jupyter kernel (papermill,
#     kernel "python3"), and the report reads the executed notebooks.
# Bring them as wheels for the machine's Python (cp312, manylinux x86_64) in .whl/ of this checkout:
# the script installs every .whl/*.whl with `pip --no-index --no-deps --target $SITE` and puts
# $SITE on PYTHONPATH. Before running anything it checks that every module imports, and lists the
# ones that do not, so a missing wheel costs seconds, not a failed step.
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE=${PROFILE:-thesis}
PYTHON=${PYTHON:-python3}
SITE=${SITE:-/tmp/site}
REPORTS=reports
RUN_ID=""
EXTRA=()
while [ $# -gt 0 ]; do
    case "$1" in
        --tiny) PROFILE=tiny ;;
        --run-id) RUN_ID=$2; shift ;;
        --reports) REPORTS=$2; shift ;;
        --) shift; EXTRA=("$@"); break ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "thesis_on_gpu.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
RUN_ID=${RUN_ID:-$PROFILE-jax-$(date +%Y%m%d-%H%M%S)}

if compgen -G ".whl/*.whl" >/dev/null; then
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$SITE" .whl/*.whl
    export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi
# fxlab from this checkout (no install needed); the notebooks' kernels inherit the environment.
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export KERAS_BACKEND=jax
# One step's kernel at a time holds the GPU; take memory as needed rather than 75% up front.
export XLA_PYTHON_CLIENT_PREALLOCATE=${XLA_PYTHON_CLIENT_PREALLOCATE:-false}
export MPLBACKEND=${MPLBACKEND:-Agg}
# Windows per forward call of the windowed networks: a GPU wants many (fxlab.runtime.streaming);
# 16384 ran the full-size CNN out of an H100's 80 GB (one call asked for 32 GiB), 2048 scored all three
# networks' whole clips in 98 s there.
export FXLAB_WINDOW_BATCH=${FXLAB_WINDOW_BATCH:-2048}

"$PYTHON" - <<'EOF'
import importlib, sys
needed = ["jax", "keras", "numpy", "scipy", "numba", "matplotlib", "jinja2", "markupsafe", "yaml",
          "tqdm", "librosa", "soundfile", "soxr", "pyloudnorm", "pedalboard", "papermill",
          "nbformat", "nbclient", "nbconvert", "jupyter_client", "ipykernel", "IPython",
          "ipywidgets", "fxlab"]
missing = []
for name in needed:
    try:
        importlib.import_module(name)
    except Exception as e:  # ImportError, or a wheel built for another Python
        missing.append(f"{name} ({type(e).__name__}: {e})")
if missing:
    print("thesis_on_gpu.sh: cannot import:\n  " + "\n  ".join(missing), file=sys.stderr)
    print("bring the missing packages as cp312 manylinux wheels in .whl/ (see this script's header)",
          file=sys.stderr)
    sys.exit(3)
import jax, keras
from jupyter_client.kernelspec import KernelSpecManager
kernel = KernelSpecManager().get_kernel_spec("python3").argv[0]
if kernel in ("python", "python3", f"python3.{sys.version_info[1]}"):
    kernel = sys.executable  # jupyter_client starts such a kernel with this interpreter
print(f"python {sys.version.split()[0]}, keras {keras.__version__} on {keras.backend.backend()}, "
      f"jax {jax.__version__} on {jax.devices()}, notebook kernel {kernel}")
EOF

exec "$PYTHON" -m fxlab.cli run --profile "$PROFILE" --run-id "$RUN_ID" --reports "$REPORTS" \
    "${EXTRA[@]}"
