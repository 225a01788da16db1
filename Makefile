# vrrpd: `make test` takes a fresh Debian machine (as root) from `git clone` to green.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Debian packages the tests and the demo need. Installed only when missing.
APT_PACKAGES := python3-venv iproute2 iputils-ping procps keepalived tshark systemd curl shellcheck nginx-light nftables util-linux \
  binutils lintian debootstrap systemd-container haproxy frr exabgp
STAMP := $(VENV)/.installed

.PHONY: venv deps test lint typecheck unit demo demo-sim bench bench-smoke soak wheel deb clean apt diagram

venv: $(STAMP)

# The venv is rebuilt when the dependency pins change.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e . --group dev
	@touch $@

apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "missing Debian packages: $$missing (run make test as root, or apt-get install them)"; exit 1; fi; \
	  echo "installing Debian packages: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

deps: apt venv

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy --strict vrrpd/core vrrpd/config
	$(BIN)/mypy vrrpd

unit: venv
	$(BIN)/pytest -m "not netns" -q

# Lint, types, the pure tests with branch coverage (the core must stay >= 95 % covered),
# the stateful explorations and a loop-stall measurement without it (coverage made the
# first three times slower and adds nothing: the core is at 99 % without them; under its
# tracer the second measures the tracer), then the lab tests (real agents in namespaces:
# other processes, which coverage does not see). CI's budget is 15 minutes on 2 cores.
UNTRACED := tests/test_sim_stateful.py tests/test_explore_mixed.py tests/test_table.py \
  tests/test_h16r_findings.py::test_checks_due_together_do_not_stall_the_loop
test: deps lint typecheck
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest -q -m "not netns" $(addprefix --deselect ,$(UNTRACED)) --durations=10
	$(BIN)/coverage report --include='vrrpd/core/*' --fail-under=95
	$(BIN)/pytest -q $(UNTRACED) --durations=5
	$(BIN)/pytest -q -m netns --durations=25

# The failover drill on real sockets in a network-namespace lab (needs root).
demo: deps
	$(BIN)/vrrpd lab demo

# The same drill on the simulated LAN: no root, exact protocol time.
demo-sim: venv
	$(BIN)/vrrpd simulate

# Regenerate the state diagram in docs/architecture.md from TRANSITIONS.
diagram: venv
	$(BIN)/python -m vrrpd.docgen

# Every figure beside Keepalived in one run (failover at four intervals, handover, check
# failover, cost at 1/50/200 instances, start-up, the core): bench/results/*.json and the
# generated docs/benchmarks.md with plots (the `bench` extra: matplotlib). Needs root.
bench: deps
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[bench]'
	$(BIN)/python -m vrrpd.lab.bench

# The same harness in a minute or two (one interval, 1 run, 20 instances), into a scratch
# folder; `make test` runs it through tests/lab/test_bench_smoke.py.
bench-smoke: deps
	$(BIN)/python -m vrrpd.lab.bench --smoke --results /tmp/vrrpd-bench-smoke --page /tmp/vrrpd-bench-smoke/benchmarks.md

# The long reliability runs (100,000 hostile frames, 100 kill -9 restarts, 200 instances on
# three nodes for 5 minutes beside Keepalived, SOAK_SECONDS of chaos); writes docs/reliability.md. Needs root. `make test` runs short profiles of each; then EXPLORE_EXAMPLES of the mixed-cluster exploration and SIM_EXAMPLES of the stateful simulation (pure).
SOAK_SECONDS ?= 1800
# issue 16's hostile load (20,000 malformed + 40,000 valid-looking sources, then one sender
# flooding as fast as it can for this long), with the socket filter and without
LOAD_FLOOD_SECONDS ?= 60
EXPLORE_EXAMPLES ?= 5000
SIM_EXAMPLES ?= 1000
soak: deps
	$(BIN)/python -m vrrpd.lab.reliability --seconds $(SOAK_SECONDS) --load-flood-seconds $(LOAD_FLOOD_SECONDS)
	VRRPD_EXPLORE_EXAMPLES=$(EXPLORE_EXAMPLES) $(BIN)/pytest -q -m "not netns" tests/test_explore_mixed.py
	VRRPD_SIM_EXAMPLES=$(SIM_EXAMPLES) $(BIN)/pytest -q -m "not netns" tests/test_sim_stateful.py

# The wheel for pip users (dist/vrrpd-<version>-py3-none-any.whl), scripts under share/vrrpd.
wheel: venv
	$(BIN)/python -m pip wheel --quiet --no-deps --disable-pip-version-check -w dist .

# The Debian 12 package (dist/vrrpd_<version>_<arch>.deb): a private virtualenv under
# /opt/vrrpd on Debian's python3, the unit, /etc/vrrpd/vrrpd.yaml. See packaging/deb/build.
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
deb: apt wheel
	packaging/deb/build dist/vrrpd-$(VERSION)-py3-none-any.whl dist
	lintian --fail-on error,warning dist/vrrpd_$(VERSION)_$$(dpkg --print-architecture).deb

clean:
	rm -rf dist  $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage .hypothesis
