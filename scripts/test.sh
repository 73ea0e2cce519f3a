#!/usr/bin/env bash
# The whole test suite: lint and type checks, JS unit tests, then pytest (unit, kernel,
# browser, server). Run through `make test`, which sets the machine up first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

echo "== ruff";   ruff check nbtrack tests bench && ruff format --check nbtrack tests bench
echo "== mypy";   mypy
echo "== tsc";    npm run --silent typecheck
echo "== vitest"; npm run --silent test
# Two workers (pytest-xdist): many tests wait on a kernel, a browser or a server more than
# they compute. The browser tests share one worker (tests/conftest.py).
echo "== pytest"; python -m pytest -n 2 --dist loadgroup "$@"
