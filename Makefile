# The two commands a new machine needs (see README.md):
#   make demo   set up, train the demo CNN, list the run, and write its dashboard to
#               nbtrack-demo.html: one file that opens in any browser, offline, no Jupyter
#   make test   set up everything (Python venv, torch CPU, npm, Debian's chromium) and run all tests
.PHONY: demo test setup lint bench

demo:
	bash scripts/setup.sh
	.venv/bin/nbtrack demo --html nbtrack-demo.html
	.venv/bin/nbtrack runs
	@echo "The demo run's dashboard, in any browser (offline, no Jupyter): file://$(CURDIR)/nbtrack-demo.html"

test:
	bash scripts/setup.sh --test
	bash scripts/test.sh

setup:
	bash scripts/setup.sh --test

lint:
	.venv/bin/ruff check nbtrack tests bench
	.venv/bin/ruff format --check nbtrack tests bench
	.venv/bin/mypy
	npm run typecheck
