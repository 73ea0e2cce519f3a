#!/usr/bin/env bash
# Idempotent set-up of a development machine from a clean clone:
#   .venv with torch (the CPU wheel), nbtrack in editable mode with its test tools,
#   the JS bundle (npm); with --test also what only the tests need: Debian's chromium for the
#   browser tests, Debian's postgresql for the server tests and the Colab-like venv (.venv-colab).
set -euo pipefail
cd "$(dirname "$0")/.."

tests=0
[ "${1:-}" = "--test" ] && tests=1

if [ "$tests" = 1 ]; then
  debs=()
  command -v chromium >/dev/null 2>&1 || debs+=(chromium)
  # The server tests start their own throwaway cluster from these binaries
  # (tests/server/postgres.py); the service the package may start is never used.
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || debs+=(postgresql)
  if [ "${#debs[@]}" -gt 0 ]; then
    echo "setup: installing Debian's ${debs[*]} for the tests"
    sudo_=""
    [ "$(id -u)" = 0 ] || sudo_="sudo"
    $sudo_ apt-get update -qq
    # env, not a plain assignment: sudo would drop DEBIAN_FRONTEND from the environment.
    $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${debs[@]}" >/dev/null
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi

# torch first and pinned, so no resolver ever picks a CUDA build for us.
if ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
  echo "setup: installing torch==2.13.0 (CPU)"
  .venv/bin/pip install -q torch==2.13.0
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build

stamp=.venv/.nbtrack-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing nbtrack (editable) with its test tools"
  # The test tools include Lightning, Transformers and Keras, which depend on torch: the
  # constraint keeps the CPU torch installed above, so no resolver swaps in a CUDA build.
  torch_pin="$(.venv/bin/python -c 'import torch; print(torch.__version__.split("+")[0])')"
  .venv/bin/pip install -q -e ".[test,dev]" -c <(echo "torch==$torch_pin")
  touch "$stamp"
fi

# A second venv with Colab's widget stack, for the Colab-like kernel tests.
if [ "$tests" = 1 ]; then
  bash scripts/colab_env.sh >/dev/null
fi
