"""cffi builder for pyprof._core, the C sampling core (API mode).

setup.py names ``ffibuilder`` in ``cffi_modules``; ``make build`` runs this
file directly to build in place. The binding is exactly the public API in
csrc/pyprof_core.h (the block between the CDEF markers); everything else in
csrc/ stays private to the C side.
"""

import os
import pathlib
import sys

from cffi import FFI

ROOT = pathlib.Path(__file__).resolve().parent.parent
CSRC = ROOT / "csrc"
SOURCES = ["ring.c", "sampler.c", "walk.c", "pyapi.c", "graphagg.c", "memory.c"]


def _cdef_text() -> str:
    header = (CSRC / "pyprof_core.h").read_text()
    start = header.index("/* CDEF-BEGIN */") + len("/* CDEF-BEGIN */")
    end = header.index("/* CDEF-END */")
    return header[start:end]


def make_builder(absolute_paths: bool = False) -> FFI:
    """The FFI builder; setuptools wants source paths relative to where it
    runs, ffi.compile() (the in-place build) needs absolute ones."""

    def path(p: pathlib.Path) -> str:
        return str(p) if absolute_paths else os.path.relpath(p, os.getcwd())

    builder = FFI()
    builder.cdef(_cdef_text())
    builder.set_source(
        "pyprof._core",
        '#include "pyprof_core.h"\n',
        sources=[path(CSRC / name) for name in SOURCES],
        include_dirs=[path(CSRC)],
        extra_compile_args=["-O2", "-Wall", "-Wextra", "-std=gnu11"],
        libraries=["rt", "pthread", "m"],
        depends=[path(CSRC / "pyprof_core.h"), path(CSRC / "core_internal.h")],
        # walk.c reads this very CPython's private frame layout: the module
        # must never be tagged abi3 and loaded by another version.
        py_limited_api=False,
    )
    return builder


ffibuilder = make_builder()

if __name__ == "__main__":
    # In-place build: pyprof/_core*.so next to this file.
    make_builder(absolute_paths=True).compile(
        tmpdir=str(ROOT / "build" / "cffi"), verbose="-v" in sys.argv
    )
    for built in (ROOT / "build" / "cffi" / "pyprof").glob("_core*.so"):
        os.replace(built, ROOT / "pyprof" / built.name)
