# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test run clean samples templates

# The venv is rebuilt when the project's dependencies change.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "intake needs Python 3.11 or newer (found: $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

demo: $(STAMP)
	$(BIN)/intake demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Regenerate the committed sample submissions (needs LibreOffice, ImageMagick, poppler-utils, img2pdf,
# CJK fonts) and the Word templates; neither `make demo` nor `make test` needs this.
samples: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,samples]'
	$(BIN)/python tests/data/make_samples.py

templates: $(STAMP)
	$(BIN)/python scripts/make_templates.py

clean:
	rm -rf $(VENV) output mail
