"""A PEP 517 build backend for the labbook package using the standard library alone, so that
`pip install ./python` works on a machine without network access to a package index (a TPU VM behind a
firewall, an air-gapped cluster), where setuptools' backend would first need `wheel` downloaded.

The wheel is a zip of the package's .py files with the .dist-info files PEP 427 asks for."""
import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAME = "labbook"
with open(os.path.join(ROOT, NAME, "__init__.py"), encoding="utf-8") as _init:
    VERSION = re.search(r'^__version__ = "([^"]+)"', _init.read(), re.M).group(1)
SUMMARY = "Record training scripts (Hugging Face Trainer, Lightning, PyTorch/XLA loops) as Labbook runs"
DIST_INFO = f"{NAME}-{VERSION}.dist-info"


def _sources():
    for folder, _, files in sorted(os.walk(os.path.join(ROOT, NAME))):
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                yield path, os.path.relpath(path, ROOT).replace(os.sep, "/")


def _metadata():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    return (f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\nSummary: {SUMMARY}\n"
            "Requires-Python: >=3.8\nDescription-Content-Type: text/markdown\n\n" + readme)


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}\n"


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def _write_wheel(wheel_directory, files):
    """A wheel of these (archive name, bytes) files and the .dist-info PEP 427 asks for; returns its file name."""
    filename = f"{NAME}-{VERSION}-py3-none-any.whl"
    files = files + [(f"{DIST_INFO}/METADATA", _metadata().encode()),
                     (f"{DIST_INFO}/WHEEL", b"Wheel-Version: 1.0\nGenerator: labbook_build\nRoot-Is-Purelib: true\n"
                                            b"Tag: py3-none-any\n")]
    record = "".join(_record_line(arc, data) for arc, data in files) + f"{DIST_INFO}/RECORD,,\n"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w", zipfile.ZIP_DEFLATED) as whl:
        for arc, data in files:
            whl.writestr(arc, data)
        whl.writestr(f"{DIST_INFO}/RECORD", record)
    return filename


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _write_wheel(wheel_directory, [(arc, open(path, "rb").read()) for path, arc in _sources()])


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """PEP 660 (`pip install -e python/`): a .pth file that puts this folder on the path, so edits take effect."""
    return _write_wheel(wheel_directory, [(f"__editable__.{NAME}.pth", (ROOT + "\n").encode())])


def build_sdist(sdist_directory, config_settings=None):
    base = f"{NAME}-{VERSION}"
    filename = f"{base}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz") as tar:
        for extra in ("pyproject.toml", "README.md", "_build/labbook_build.py"):
            tar.add(os.path.join(ROOT, extra), f"{base}/{extra}")
        for path, arc in _sources():
            tar.add(path, f"{base}/{arc}")
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        data = _metadata().encode()
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return filename
