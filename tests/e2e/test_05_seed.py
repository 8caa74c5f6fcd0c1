"""`knd validate` on every manifest of the user's design document (tests/fixtures/seed):
the verdict and the key messages Knative's webhook would give (expected.json, EXPECTED.md)."""
import glob
import json
import os

import pytest

from conftest import FIXTURES, SRC as SRC_ROOT
from test_00_validate import check_expected_errors, cli_offline_in

SEED = os.path.join(FIXTURES, "seed")
EXPECTED = json.load(open(os.path.join(SEED, "expected.json")))["files"]


def test_every_seed_file_has_a_verdict():
    files = {os.path.basename(p) for p in glob.glob(os.path.join(SEED, "*.yaml"))}
    assert len(files) == 31
    assert files == set(EXPECTED)


def test_seed_files_are_the_documents_blocks():
    """The fixtures are the YAML blocks of the design document, verbatim and in order."""
    src = os.path.join(os.path.dirname(SRC_ROOT), "shared", "seed", "knative-deployment-strategy.md")
    if not os.path.exists(src):
        pytest.skip("design document not available at " + src)
    blocks, cur = [], None
    for line in open(src).read().split("\n"):
        if cur is None and line.strip() == "```yaml":
            cur = []
        elif cur is not None and line.strip() == "```":
            blocks.append("\n".join(cur) + "\n")
            cur = None
        elif cur is not None:
            cur.append(line)
    files = sorted(glob.glob(os.path.join(SEED, "*.yaml")))
    assert [open(f).read() for f in files] == blocks


@pytest.mark.parametrize("fname", sorted(EXPECTED))
def test_seed_manifest(fname):
    rc, out, err = cli_offline_in(SEED, "validate", "-f", fname)
    check_expected_errors(fname, rc, out, err, EXPECTED[fname])
