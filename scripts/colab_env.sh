#!/usr/bin/env bash
# Idempotent: a second virtualenv, .venv-colab, that looks like Colab's runtime where it
# matters to nbtrack (the widget stack Colab preinstalls), so a test can run the example
# notebooks in a kernel of that kind. Torch first and pinned, from the same CPU build as .venv.
#   bash scripts/colab_env.sh          # create or update; prints the venv's python
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv-colab
# Colab's versions of the widget stack and of what those pin in turn (ipython 7.34,
# jupyter_client 6.1, the classic notebook 6.5 that widgetsnbextension 3.6 needs).
pins=(
  "anywidget==0.9.21"
  "ipywidgets==7.7.1"
  "ipykernel==6.17.1"
  "ipython==7.34.0"
  "jupyter_client==6.1.12"
  "traitlets==5.7.1"
  "tornado==6.3.3"
  "notebook==6.5.5"
)
stamp="$venv/.nbtrack-colab-env"
want="$(printf '%s\n' "${pins[@]}" torch==2.13.0 | sha1sum | cut -c1-12)"

# The working tree itself, as an editable install is: a .pth naming its folder. No build
# step and no dependency resolution, so nothing can move the pinned versions. Written every time,
# so the venv always imports this checkout's nbtrack.
link_worktree() {
  local site
  site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  echo "$PWD" >"$site/nbtrack_worktree.pth"
}

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ]; then
  link_worktree
  if "$venv/bin/python" -c "import nbtrack, anywidget, torch" >/dev/null 2>&1; then
    echo "$venv/bin/python"
    exit 0
  fi
fi

python=${PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
  echo "colab_env: creating $venv" >&2
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip install -q)
# pip's notes about this machine's extra index folders are noise here.
quiet() { "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }
if ! "$venv/bin/python" -c "import torch" >/dev/null 2>&1; then
  echo "colab_env: installing torch==2.13.0 (CPU)" >&2
  quiet "${pip[@]}" torch==2.13.0
fi
echo "colab_env: installing the Colab widget stack" >&2
quiet "${pip[@]}" "${pins[@]}" numpy "bokeh>=3.1"
link_worktree
"$venv/bin/python" -c "import nbtrack, anywidget, ipywidgets, ipykernel, torch" >&2
echo "$want" >"$stamp"
echo "$venv/bin/python"
