# make install: .venv with the project, its dev tools and Ray (torch: the CPU build, see constraints/)
# make run:     open the app on the bundled sample photo, its mask loaded (Ctrl+Enter decomposes)
# make test:    ruff, the import contract, pytest headless
# make soak:    the app's long soak (memory and threads over 200 decompositions)
# make bundle:  the desktop bundle dist/layerlift/ (classical engine; make bundle-full: + flux)
# make bundle-test: start that bundle offscreen, --version, a decompose of the sample photo
# make mutate:  mutation testing (mutmut) of the modules in pyproject.toml [tool.mutmut]; slow,
#               not part of make test or CI. MUTANTS='layerlift.inference.layers*' runs a part.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYINSTALLER := pyinstaller==6.22.3
# Debian packages Qt needs even offscreen, plus what a real window under Xvfb needs, plus the
# DejaVu fonts the synthetic-data generator draws its logos with.
QT_DEBS := libgl1 libegl1 libglib2.0-0 libfontconfig1 libxkbcommon0 libdbus-1-3 libx11-6 \
	libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 \
	libxcb-randr0 libxcb-render-util0 libxcb-image0 libxcb-xinerama0 libxcb-xkb1 \
	xvfb xauth fonts-dejavu-core fonts-dejavu-extra

.PHONY: install run test lint bench soak screenshots clean system-deps bundle bundle-full \
	bundle-test pyinstaller mutate

install: $(STAMP)

$(STAMP): pyproject.toml constraints/dev.txt
	@$(MAKE) --no-print-directory system-deps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints/dev.txt -e '.[dev,ray]'
	touch $(STAMP)

# Installs the Debian packages Qt needs when some are missing and apt-get is here.
system-deps:
	@missing=$$(for p in $(QT_DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null; then \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    echo "installing Debian packages:" $$missing; \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	  else echo "warning: missing system packages (no apt-get here):" $$missing; fi; \
	fi

run: install
	$(BIN)/layerlift gui layerlift/resources/sample/photo.jpg --mask layerlift/resources/sample/mask.png

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test: lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

mutate: install
	QT_QPA_PLATFORM=offscreen $(BIN)/mutmut run --max-children 2 $(MUTANTS)
	$(BIN)/python -m tests.benchmarks.mutation_table

bench: install
	$(BIN)/python -m tests.benchmarks.decomposition

# The app's soak (issue 12): 5,000 brush moves, 200 decompose/recompose/undo cycles; fails
# when RSS grows more than 5 % or threads pile up. Minutes, so not part of make test.
soak: install
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m tests.benchmarks.soak

screenshots: install
	$(BIN)/python packaging/screenshots.py

pyinstaller: install
	$(BIN)/python -m pip install --quiet $(PYINSTALLER)

bundle: pyinstaller
	nice -n 10 packaging/build.sh

bundle-full: pyinstaller
	LAYERLIFT_BUNDLE_FLUX=1 nice -n 10 packaging/build.sh

bundle-test:
	test -x dist/layerlift/layerlift || $(MAKE) --no-print-directory bundle
	packaging/test_bundle.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist *.egg-info
