"""Offline `knd validate` (no daemon): the webhook's verdicts and messages, with FILE:LINE:COL."""
import glob
import json
import os
import re

import pytest

from conftest import FIXTURES, cli_offline

VALID = sorted(glob.glob(os.path.join(FIXTURES, "valid", "*.*")))
INVALID = sorted(glob.glob(os.path.join(FIXTURES, "invalid", "*.yaml")))


def error_lines(text, fname):
    return [l for l in text.splitlines() if re.match(re.escape(fname) + r":\d+:\d+: ", l)]


def check_expected_errors(fname, rc, out, err, spec):
    """spec: one entry of an expected.json (see tests/fixtures/seed/expected.json)."""
    text = out + err
    if spec["knd_valid"]:
        assert rc == 0, "%s should be valid, got rc %d:\n%s" % (fname, rc, text)
        assert error_lines(text, fname) == [], text
        return
    assert rc == 2, "%s should be invalid (exit 2), got rc %d:\n%s" % (fname, rc, text)
    lines = error_lines(text, fname)
    assert lines, "no FILE:LINE:COL error lines for %s:\n%s" % (fname, text)
    for e in spec["errors"]:
        if e["path"] is None:
            hit = [l for l in lines if e["message"] in l]
        else:
            hit = [l for l in lines if (": %s: " % e["path"]) in l and e["message"] in l]
        assert hit, "%s: no error line with path %r and message %r in:\n%s" % (
            fname, e["path"], e["message"], "\n".join(lines))


@pytest.mark.parametrize("path", VALID, ids=os.path.basename)
def test_valid_fixture(path):
    rc, out, err = cli_offline("validate", "-f", path)
    assert rc == 0, "rc %d\nstdout: %s\nstderr: %s" % (rc, out, err)
    assert err.strip() == ""


@pytest.mark.parametrize("path", INVALID, ids=os.path.basename)
def test_invalid_fixture(path):
    """Each line of NAME.err appears (as a whole line, or the start of one: Knative's details may
    follow), and nothing else is reported."""
    d, fname = os.path.split(path)
    with open(path[:-len(".yaml")] + ".err") as f:
        want = [l for l in f.read().splitlines() if l.strip()]
    p = cli_offline_in(d, "validate", "-f", fname)
    rc, out, err = p
    assert rc == 2, "rc %d, want 2\nstdout: %s\nstderr: %s" % (rc, out, err)
    got = error_lines(out + err, fname)
    for w in want:
        assert any(g == w or g.startswith(w) for g in got), \
            "missing error line:\n  %s\ngot:\n  %s" % (w, "\n  ".join(got))
    assert len(got) == len(want), "want exactly %d error line(s), got:\n  %s" % (
        len(want), "\n  ".join(got))


def cli_offline_in(cwd, *args):
    import subprocess
    from conftest import KND_BIN
    p = subprocess.run([KND_BIN] + list(args), capture_output=True, text=True, cwd=cwd, timeout=30)
    return p.returncode, p.stdout, p.stderr


def test_validate_directory_and_stdin():
    """-f DIR takes every manifest in it; -f - reads stdin."""
    rc, out, err = cli_offline("validate", "-f", os.path.join(FIXTURES, "valid"))
    assert rc == 0, out + err
    rc, out, err = cli_offline("validate", "-f", os.path.join(FIXTURES, "invalid"))
    assert rc == 2, out + err
    import subprocess
    from conftest import KND_BIN
    with open(os.path.join(FIXTURES, "invalid", "cc-too-high.yaml")) as f:
        p = subprocess.run([KND_BIN, "validate", "-f", "-"], stdin=f, capture_output=True,
                           text=True, timeout=30)
    assert p.returncode == 2
    assert ":8:7: spec.template.spec.containerConcurrency: expected 0 <= 2000 <= 1000" in p.stderr + p.stdout


def test_validate_missing_file():
    rc, out, err = cli_offline("validate", "-f", "/nonexistent/knd-e2e.yaml")
    assert rc in (1, 2) and rc != 0
    assert "/nonexistent/knd-e2e.yaml" in err


KDOCS = json.load(open(os.path.join(FIXTURES, "knative-docs", "expected.json")))["files"]


@pytest.mark.parametrize("fname", sorted(KDOCS))
def test_knative_docs_example(fname):
    d = os.path.join(FIXTURES, "knative-docs")
    rc, out, err = cli_offline_in(d, "validate", "-f", fname)
    check_expected_errors(fname, rc, out, err, KDOCS[fname])


def test_knative_docs_all_listed():
    files = {os.path.basename(p) for p in glob.glob(os.path.join(FIXTURES, "knative-docs", "*.yaml"))}
    assert files == set(KDOCS)
