"""Where the command-line tests find the shared pprof corpus (no pytest magic).

The corpus lives beside the repository, in ../shared/corpus; PYPROF_CORPUS
points elsewhere.
"""

import os
from pathlib import Path

CORPUS = Path(
    os.environ.get(
        "PYPROF_CORPUS",
        Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus",
    )
)
UPSTREAM = CORPUS / "upstream"
SAMPLE = UPSTREAM / "profiles" / "internal" / "report" / "testdata" / "sample.cpu"
EXPECTED = UPSTREAM / "expected" / "sample.cpu"
