"""The local image table (DESIGN §1 Process runtime): a container without `command` runs what
`knd image add` registered for its image; an unknown image makes the Revision Ready=False with
reason ContainerMissing and a message saying how to fix it - and registering it heals the
revision without re-applying anything."""
import os
import subprocess

from conftest import KND_BIN, KND_TESTAPP, condition, ksvc, route_host


def _no_command(name, image, marker):
    svc = ksvc(name, marker=marker, image=image)
    del svc["spec"]["template"]["spec"]["containers"][0]["command"]
    return svc


def test_missing_image_then_image_add_heals(knd):
    image = "registry.example/team/hello:v7"
    knd.apply(_no_command("img", image, knd.marker))

    def failed():
        rev = knd.get("revisions", "img-00001")
        c = condition(rev, "Ready") if rev else None
        return c if c and c["status"] == "False" else None
    c = knd.wait_for(failed, "revision to report ContainerMissing", 10)
    assert c["reason"] == "ContainerMissing"
    assert "knd image add %s" % image in c["message"]
    svc = knd.wait_for(lambda: (lambda s: s if condition(s, "Ready") and
                                condition(s, "Ready")["status"] == "False" else None)(
        knd.get("services", "img")), "service Ready=False", 10)
    # Knative's Service mirrors its Configuration: RevisionFailed, quoting the revision's message.
    assert condition(svc, "Ready")["reason"] == "RevisionFailed"
    assert "knd image add %s" % image in condition(svc, "Ready")["message"]

    # Everything after `--` is the command, so the state dir comes from the environment here.
    p = subprocess.run([KND_BIN, "image", "add", image, "--", KND_TESTAPP, "--startup-delay-ms",
                        "0"], capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, KND_STATE_DIR=knd.state_dir))
    assert p.returncode == 0, p.stderr
    rc, out, err = knd.cli("image", "list")
    assert image in out and KND_TESTAPP in out
    knd.wait_ready("img", timeout=20)
    assert knd.curl(route_host("img")).text == "Hello World!\n"

    rc, out, err = knd.cli("image", "rm", image)
    assert rc == 0, err
    rc, out, err = knd.cli("image", "list")
    assert image not in out
