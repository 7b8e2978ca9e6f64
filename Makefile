# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Debian packages the tests need: a real IMAP server (Dovecot) and the tools it uses.
TEST_DEBIAN_PACKAGES := dovecot-imapd openssl
# LibreOffice renders the 汇总表/受理回执 (Writer) and the workbooks (Calc) to PDF in tests, with
# Chinese fonts and the metric twin of Times New Roman (Liberation Serif) to render them in.
TEST_DEBIAN_PACKAGES += libreoffice-writer-nogui libreoffice-calc-nogui fonts-noto-cjk fonts-liberation2
# 7z opens .7z (and, where its build has the codec, .rar) attachments, within the same limits as ZIP.
TEST_DEBIAN_PACKAGES += p7zip-full
# The console's browser tests drive Debian's Chromium (Playwright is pointed at /usr/bin/chromium: nothing is
# downloaded at test time); Playwright's own driver, a Node.js build in its wheel, needs libatomic.
TEST_DEBIAN_PACKAGES += chromium libatomic1

# rapidocr-onnxruntime asks for opencv-python, whose cv2 needs libGL (absent on a server): the headless
# build of the same OpenCV takes its place after every install.
HEADLESS_OPENCV = $(BIN)/pip uninstall --quiet --yes opencv-python && \
	$(BIN)/pip install --quiet --force-reinstall --no-deps opencv-python-headless

.PHONY: demo test run clean samples templates pictures system-packages

# The venv is rebuilt when the project's dependencies change.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "intake needs Python 3.11 or newer (found: $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	$(HEADLESS_OPENCV)
	@touch $@

demo: $(STAMP)
	$(BIN)/intake demo

# Lint and types first (the rule set and the checked packages are in pyproject.toml), then two test
# processes: much of the suite waits on servers and subprocesses. Not more: each may run OCR workers of
# up to 1 GB. A module's tests stay in one process (their fixtures are shared).
test: $(STAMP) system-packages
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

system-packages:
	@scripts/system-packages.sh $(TEST_DEBIAN_PACKAGES)

# Regenerate the committed sample submissions (needs LibreOffice, ImageMagick, poppler-utils, img2pdf,
# CJK fonts) and the Word templates; neither `make demo` nor `make test` needs this.
samples: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,samples]'
	$(HEADLESS_OPENCV)
	$(BIN)/python tests/data/make_samples.py

templates: $(STAMP)
	$(BIN)/python scripts/make_templates.py

# The README's pictures of the printouts and the console, from the demo's round (needs LibreOffice, poppler-utils
# and chromium).
pictures: demo
	$(BIN)/intake review >/dev/null
	$(BIN)/python scripts/make_pictures.py
	$(BIN)/python scripts/make_console_pictures.py

clean:
	rm -rf $(VENV) output mail
