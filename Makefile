# Closing the Loop -- the README's commands.
#   make lab      set up (once) and open the course in JupyterLab at lesson 00
#   make test     set up (once) and run the whole test suite: unit tests, then every notebook (nbval)
#   make course   execute every lesson headless at SCALE (default workshop) into build/course/SCALE
#   make science  the course's own science check: every lesson at workshop scale; fails if a lesson
#                 errors or a must-hold headline verdict does not hold (CI runs it after make test)
#   make labs     regenerate labs/ from solutions/
#   make wheelhouse  every wheel setup installs, in wheelhouse/, for a room without a network
#   make test-gpu on CUDA: GPU unit tests, lessons 02 and 05 at the full scale, the GPU step benchmark
#                 (bench/gpu_check.sh, which also runs on a bare GPU machine with carried wheels)
# Setup is idempotent: a stamp file records it, so re-running a command installs nothing new
# unless pyproject.toml changed. Setup, lab, unit and nbtest live in utils/looplab/setup.py
# (the same steps without make, e.g. on Windows: python utils/looplab/setup.py lab|test).

PYTHON    ?= python3
VENV      ?= .venv
PY        := $(VENV)/bin/python
STAMP     := $(VENV)/.looplab-installed
SETUP     := utils/looplab/setup.py --venv $(VENV)
# torch is installed first, on its own: a range-satisfying torch that is already there is kept.
# On Linux without nvidia-smi it is the CPU wheel, else PyPI's (the CUDA build on Linux):
#   make TORCH_INDEX=cuda lab     (or cpu) overrides the guess;
#   make TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cu126" lab  replaces it.
TORCH_INDEX ?=
TORCH_SPEC ?=
SCALE     ?= workshop
PORT      ?= 8888
OFFLINE   := HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1

.PHONY: setup lab test unit nbtest test-gpu course science labs clean bench browser-deps pg-deps wheelhouse wheelhouse-test nbgrader-deps

setup: $(STAMP)

# The venv, torch (see above), the course with its extras, the offline weights (--no-deps), the kernel.
# $(PYTHON) builds the venv: it stops at once, saying what to do, on Python < 3.10 or an Intel Mac.
$(STAMP): pyproject.toml
	TORCH_INDEX="$(TORCH_INDEX)" TORCH_SPEC="$(TORCH_SPEC)" $(PYTHON) $(SETUP) setup

# JupyterLab over the whole repository (lessons/, labs/, solutions/) at lesson 00; --allow-root as root.
lab: $(STAMP)
	$(PY) $(SETUP) lab --port=$(PORT) $(LAB_ARGS)

unit: $(STAMP)
	$(PY) $(SETUP) unit

# Every notebook in lessons/ and solutions/ and instructors/class_regrade.ipynb, offline, with canary
# values in the API-key variables (conftest.py fails the run if one shows up in an output or a file),
# LOOPLAB_SIGNOFF=auto: no human clicks here; lesson 03 prints the auto-approve policy and why.
nbtest: $(STAMP)
	$(PY) $(SETUP) nbtest --scale=smoke --cell-timeout=900

# The GPU check, sized for one 8-minute command on a CUDA GPU (issue 29): bench/gpu_check.sh in the course's
# venv (its header says what it runs and where the results go). Without CUDA it stops first.
GPU_SCALE ?= full

test-gpu: $(STAMP)
	PY=$(PY) WHEELS= GPU_SCALE=$(GPU_SCALE) bash bench/gpu_check.sh

# The whole suite runs with no network where this machine allows a network namespace (loopback
# only; setup, which needs the package index, has finished before it starts).
NETLESS := $(shell unshare -rn sh -c 'ip link set lo up' 2>/dev/null && echo yes)

# tests/test_browser.py drives JupyterLab with a real Chromium (Debian's /usr/bin/chromium, via
# the playwright package of the dev extra; playwright's own browser download is never used).
# As root with apt-get, install the Debian packages when missing; otherwise say why not and go
# on: the browser test then skips with that reason. Never fails the build. Runs before the
# network namespace is entered, since apt needs the network.
CHROMIUM  ?= $(or $(LOOPLAB_CHROMIUM),/usr/bin/chromium)

browser-deps:
	@if [ -x "$(CHROMIUM)" ]; then \
	    echo "browser-deps: $(CHROMIUM) present"; \
	elif [ "$$(id -u)" != 0 ]; then \
	    echo "browser-deps: skipped: not root, so Chromium is not installed (tests/test_browser.py will skip; install the chromium package to run it)"; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
	    echo "browser-deps: skipped: no apt-get here (tests/test_browser.py will skip; install Chromium at $(CHROMIUM) to run it)"; \
	else \
	    echo "browser-deps: installing Debian's chromium and chromium-driver (apt-get, a few minutes, once)"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } >/dev/null 2>&1; \
	    if [ -x "$(CHROMIUM)" ]; then echo "browser-deps: installed $(CHROMIUM)"; \
	    else echo "browser-deps: apt-get did not install $(CHROMIUM) (no package index reachable?); tests/test_browser.py will skip"; fi; \
	fi

# tests/test_research_store.py starts a throwaway PostgreSQL cluster (initdb / pg_ctl on a unix
# socket in a temp dir) to test the class store for real. Like browser-deps: as root with apt-get,
# install Debian's postgresql when missing; otherwise say why not (those tests then skip with the
# reason). Never fails the build.
pg-deps:
	@if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	    echo "pg-deps: PostgreSQL present"; \
	elif [ "$$(id -u)" != 0 ]; then \
	    echo "pg-deps: skipped: not root, so PostgreSQL is not installed (the PostgreSQL store tests will skip)"; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
	    echo "pg-deps: skipped: no apt-get here (the PostgreSQL store tests will skip)"; \
	else \
	    echo "pg-deps: installing Debian's postgresql (apt-get, once)"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >/dev/null 2>&1; \
	    if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then echo "pg-deps: installed"; \
	    else echo "pg-deps: apt-get did not install postgresql (no package index reachable?); its tests will skip"; fi; \
	fi

# The PostgreSQL cluster of tests/test_research_store.py is started here, before the netless
# namespace (inside it, root cannot run PostgreSQL as the 'postgres' user), on a unix socket that
# the tests reach from inside; it is stopped afterwards whatever the result. Its folder is this
# make's own (its process id): two `make test` in one working tree must not share a cluster, or
# one run's start (which wipes the folder) replaces the cluster the other's writers just filled.
PGTEST    := $(CURDIR)/build/pg-test.$(shell echo $$PPID)
PGCTL     := $(PY) tests/test_research_store.py

# An offline classroom: every wheel setup installs (torch, the course's requirements, the weights), in
# wheelhouse/ (or WHEELHOUSE=...). Copy the folder next to each clone: setup then installs from it with no
# network. Build it on a machine like the learners' (the same OS and Python version: wheels are per both).
WHEELHOUSE ?= wheelhouse
wheelhouse:
	TORCH_INDEX="$(TORCH_INDEX)" TORCH_SPEC="$(TORCH_SPEC)" $(PYTHON) $(SETUP) wheelhouse --dest $(WHEELHOUSE)

# make test's own wheelhouse, for tests/test_wheelhouse.py, which installs the course from it inside the
# network namespace. Built (network needed) before the namespace, again when pyproject.toml changes;
# like browser-deps, a failed download never fails the build: that test then skips and says why.
WHTEST := build/wheelhouse-test
wheelhouse-test: $(STAMP)
	@if [ -f $(WHTEST)/WHEELHOUSE.txt ] && [ $(WHTEST)/WHEELHOUSE.txt -nt pyproject.toml ]; then \
	    echo "wheelhouse-test: $(WHTEST) is complete"; \
	elif $(PY) $(SETUP) wheelhouse --dest $(WHTEST) >build/wheelhouse-test.log 2>&1; then \
	    echo "wheelhouse-test: built $(WHTEST) (log: build/wheelhouse-test.log)"; \
	else echo "wheelhouse-test: the download failed (build/wheelhouse-test.log); tests/test_wheelhouse.py will skip"; fi

# nbgrader's own virtual environment (build/nbgrader-VERSION/, the course's .venv is left as it is), for
# tests/test_nbgrader_roundtrip.py, which autogrades every lab with it inside the network namespace.
# Made once (network needed) before the namespace; like browser-deps, a failure never fails the build:
# that test then tries again inside, and skips saying why when the package index cannot be reached.
nbgrader-deps: $(STAMP)
	@$(PY) tests/test_nbgrader_roundtrip.py install || echo "nbgrader-deps: not installed (above); tests/test_nbgrader_roundtrip.py will try again or skip"

test: $(STAMP) browser-deps pg-deps wheelhouse-test nbgrader-deps
	@$(PGCTL) stop $(PGTEST); $(PGCTL) start $(PGTEST) || true
ifeq ($(NETLESS),yes)
	@echo "== tests run with no network: a fresh network namespace with loopback only =="
	LOOPLAB_TEST_PG=$(PGTEST) unshare -rn sh -c 'ip link set lo up && exec $(MAKE) --no-print-directory unit nbtest'; \
	    rc=$$?; $(PGCTL) stop $(PGTEST); exit $$rc
else
	@echo "== note: no network namespace available here (unshare -rn); tests run with the network as it is =="
	LOOPLAB_TEST_PG=$(PGTEST) $(MAKE) --no-print-directory unit nbtest; rc=$$?; $(PGCTL) stop $(PGTEST); exit $$rc
endif

course: $(STAMP)
	$(OFFLINE) $(PY) -m looplab.course --scale $(SCALE) --out build/course/$(SCALE)

# The science check: the dry run at workshop scale (build/course/workshop/headlines.md says what
# held). Like make test, it runs with no network where a network namespace is available.
science: $(STAMP)
ifeq ($(NETLESS),yes)
	unshare -rn sh -c 'ip link set lo up && exec $(MAKE) --no-print-directory course SCALE=workshop'
else
	$(MAKE) --no-print-directory course SCALE=workshop
endif

labs: $(STAMP)
	$(PY) -m looplab.course.labs

bench: $(STAMP)
	$(PY) bench/run_all.py

clean:
	rm -rf build .pytest_cache
