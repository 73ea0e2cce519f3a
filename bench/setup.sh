#!/usr/bin/env bash
# Idempotent set-up of bench/.venv: torch==2.13.0 (CPU) first, then nbtrack (editable) and the
# peers of bench/requirements.txt. Each step is skipped when already done.
#   bash bench/setup.sh          # then: bench/.venv/bin/python bench/log_overhead.py
set -euo pipefail
cd "$(dirname "$0")/.."

venv=bench/.venv
py=$venv/bin/python

if [ ! -x "$py" ]; then
  echo "bench/setup: creating $venv"
  python3 -m venv "$venv"
  "$py" -m pip install -q --upgrade pip
fi

# torch first and pinned: wandb, mlflow or tensorboard must find it already satisfied, so no
# resolver ever picks a CUDA build.
if ! "$py" -c "import torch" >/dev/null 2>&1; then
  echo "bench/setup: installing torch==2.13.0 (CPU)"
  "$py" -m pip install -q torch==2.13.0
fi

# The JS bundle is needed by the editable install's build hook; reuse the project's if present.
if [ ! -f nbtrack/static/widget.js ]; then
  if [ ! -d node_modules ]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
  npm run --silent build
fi

stamp=$venv/.bench-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ bench/requirements.txt -nt "$stamp" ]; then
  echo "bench/setup: installing the peers (bench/requirements.txt)"
  # The pin travels with the peers so that no upgrade of a dependency can replace torch.
  "$py" -m pip install -q -r bench/requirements.txt "torch==2.13.0"
  echo "bench/setup: installing nbtrack (editable)"
  site=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  if "$py" -m pip install -q -e . "torch==2.13.0"; then
    rm -f "$site/nbtrack-checkout.pth"  # the fallback of an earlier run, no longer needed
  else
    # An editable build needs the whole checkout (README.md, the JS bundle); while one is
    # missing, point the venv at the checkout and install the runtime dependencies by hand.
    echo "bench/setup: editable install failed; using the checkout through a .pth file" >&2
    deps=$("$py" -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))')
    # shellcheck disable=SC2086  # one requirement a line, none with spaces
    "$py" -m pip install -q $deps "torch==2.13.0"
    pwd > "$site/nbtrack-checkout.pth"
  fi
  touch "$stamp"
fi
"$py" -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
echo "bench/setup: ready ($venv)"
