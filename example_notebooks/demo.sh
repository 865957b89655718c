#!/usr/bin/env bash
# `make demo`: execute the example notebooks with papermill under two parameter sets each, tracked into the
# embedded SQLite store (.mlops/mlops.db in the project root), then show the runs and how they differ.
set -euo pipefail
venv="${1:-.venv}"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
out="$root/.mlops/demo"
mkdir -p "$out"
bin="$root/$venv/bin"
[ -x "$bin/papermill" ] || bin="$venv/bin"

run() {  # run NOTEBOOK LABEL [papermill -p args...]
  local nb="$1" label="$2"; shift 2
  echo "==> $nb ($label)"
  "$bin/papermill" --cwd "$here" --log-level WARNING --no-progress-bar \
    "$here/$nb" "$out/${nb%.ipynb}--$label.ipynb" "$@"
}

run 01_classifier.ipynb base
run 01_classifier.ipynb faster -p learning_rate 0.05 -p epochs 12
run 02_data_versioning.ipynb v1 -p data_version 1
run 02_data_versioning.ipynb v2 -p data_version 2
run 03_train_script.ipynb base
run 03_train_script.ipynb slower -p learning_rate 0.01

mlops="$bin/jupyter-mlops"
echo
echo "==> jupyter-mlops runs list"
(cd "$root" && "$mlops" runs list --limit 10)
echo
echo "==> jupyter-mlops runs compare classifier runs (why is the second one different?)"
(cd "$root" && "$mlops" runs compare --last 2 --filter 'name = "classifier"')
echo
echo "==> jupyter-mlops runs compare the data-versioning runs (hash and schema change)"
(cd "$root" && "$mlops" runs compare --last 2 --filter 'name = "churn-data"')
cat <<MSG

Where to look:
  store:            ${JUPYTER_MLOPS_STORE:-$root/.mlops/mlops.db}  (blobs: ${JUPYTER_MLOPS_BLOBS:-$root/.mlops/blobs})
  executed copies:  $out
  CLI:              $venv/bin/jupyter-mlops runs list | show RUN | compare --last 2
  JupyterLab:       $venv/bin/jupyter lab   → the "Experiments" tab in the left sidebar
MSG
