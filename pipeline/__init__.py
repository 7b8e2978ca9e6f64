"""intake: mail intake and document generation for the continuing-education base call."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("intake")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
