"""Certificate rotation without a restart (docs/deploy.md, "Certificate rotation").

The real adapter, against the fake kube-apiserver, reads --tls-cert-file, --tls-private-key-file
and --client-ca-file from directories laid out as the kubelet mounts a Secret: the files are
symlinks through `..data`, and an update swaps `..data` to a new timestamped directory in one
rename. The tests check what a client sees on a NEW TLS connection after a swap: the new serving
certificate (same CA, so curl keeps working), the old one kept when the new key does not match
(with the error counted on /metrics and logged), and a client CA swap that makes a client
certificate of the new CA authenticate and one of the old CA not (a 401, as the generic apiserver
answers a certificate it cannot verify). The expiry gauge follows the served certificate's
notAfter.
"""

import itertools
import pathlib
import socket
import ssl
import subprocess
import unittest

import harness

# The kubelet's names: the files are links through DATA_LINK to a timestamped directory.
DATA_LINK = "..data"
# A change is seen within a second (the poll interval); this bounds the wait on a slow machine.
ROTATION_TIMEOUT_S = 20
METRICS_TOKEN = "cert-rotation-metrics-reader"
RELOADS = "metrics_adapter_certificate_reloads_total"
EXPIRY = "metrics_adapter_serving_certificate_expiry_timestamp_seconds"
SERVING_EXTENSIONS = ("basicConstraints=CA:FALSE\n"
                      "keyUsage=critical,digitalSignature,keyEncipherment\n"
                      "extendedKeyUsage=serverAuth\n"
                      "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
_versions = itertools.count(1)


def _openssl(*args):
    run = subprocess.run(["openssl", *args], capture_output=True, text=True,
                         timeout=harness.CLIENT_TIMEOUT_S, check=False)
    if run.returncode != 0:
        raise harness.HarnessError(f"openssl {' '.join(args)} failed: {run.stderr.strip()}")
    return run.stdout


def issue_serving_certificate(pki, directory, name):
    """A serving certificate for localhost/127.0.0.1 signed by pki's CA: (cert, key) paths."""
    directory.mkdir(parents=True, exist_ok=True)
    key, csr, ext, crt = (directory / f"{name}.{s}" for s in ("key", "csr", "ext", "crt"))
    _openssl("genpkey", "-quiet", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-out", str(key))
    _openssl("req", "-new", "-key", str(key), "-subj", "/CN=localhost", "-out", str(csr))
    ext.write_text(SERVING_EXTENSIONS, encoding="utf-8")
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(pki.ca_crt), "-CAkey",
             str(pki.directory / "ca.key"), "-CAcreateserial", "-days", "2", "-sha256",
             "-extfile", str(ext), "-out", str(crt))
    return crt, key


class SecretVolume:
    """A directory as the kubelet mounts a Secret: NAME -> ..data/NAME -> ..<version>/NAME."""

    def __init__(self, directory, names):
        self.directory = pathlib.Path(directory)
        self.directory.mkdir(parents=True)
        self.names = names

    def path(self, name):
        return self.directory / name

    def publish(self, **contents):
        """Writes a new version directory and swaps ..data to it in one rename."""
        version = self.directory / f"..2026_12_04_00_00_00.{next(_versions)}"
        version.mkdir()
        for name in self.names:
            (version / name).write_bytes(contents[name.replace(".", "_")])
        staging = self.directory / "..data_tmp"
        staging.symlink_to(version.name)
        staging.rename(self.directory / DATA_LINK)
        for name in self.names:
            link = self.directory / name
            if not link.is_symlink():
                link.symlink_to(f"{DATA_LINK}/{name}")


def served_certificate(port, ca_file):
    """The DER of the certificate a new TLS connection to the adapter is served, verified."""
    context = ssl.create_default_context(cafile=str(ca_file))
    with socket.create_connection(("127.0.0.1", port), timeout=harness.CLIENT_TIMEOUT_S) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            return tls.getpeercert(binary_form=True)


def der(crt_path):
    return ssl.PEM_cert_to_DER_cert(pathlib.Path(crt_path).read_text(encoding="ascii"))


def not_after_seconds(crt_path):
    text = _openssl("x509", "-noout", "-enddate", "-in", str(crt_path)).strip()
    return ssl.cert_time_to_seconds(text.partition("=")[2])


class CertRotationTest(harness.ClusterTestCase):
    cluster_options = {"kube": True, "start_adapter": False}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cluster = cls.cluster
        try:
            issued = cluster.tmp / "issued"
            cls.serving = [issue_serving_certificate(cluster.pki, issued, f"serving-{i}")
                           for i in range(3)]
            # A second CA with its own system:masters client certificate.
            cls.new_ca = harness.generate_pki(cluster.tmp / "new-ca", "metrics-adapter-new-ca")
            cls.tls = SecretVolume(cluster.tmp / "tls-secret", ("tls.crt", "tls.key"))
            cls.publish_serving(cls.serving[0][0], cls.serving[0][1])
            cls.client_ca = SecretVolume(cluster.tmp / "client-ca-secret", ("ca.crt",))
            cls.client_ca.publish(ca_crt=cluster.pki.ca_crt.read_bytes())
            cluster.fake.set_token(METRICS_TOKEN, "metrics-reader", groups=["system:masters"])
            # The flags come after the harness' own, so they win.
            cluster.start_adapter(extra_args=[
                f"--tls-cert-file={cls.tls.path('tls.crt')}",
                f"--tls-private-key-file={cls.tls.path('tls.key')}",
                f"--client-ca-file={cls.client_ca.path('ca.crt')}",
            ])
        except BaseException:
            cluster.dump_logs()
            cls.tearDownClass()
            raise

    @classmethod
    def publish_serving(cls, crt, key):
        cls.tls.publish(tls_crt=pathlib.Path(crt).read_bytes(),
                        tls_key=pathlib.Path(key).read_bytes())

    def served(self):
        return served_certificate(self.cluster.adapter_port, self.cluster.pki.ca_crt)

    def wait_served(self, crt, what):
        harness.wait_until(lambda: self.served() == der(crt), ROTATION_TIMEOUT_S, what,
                           check=self.cluster.children["adapter"].check_running)

    def metrics(self):
        r = self.cluster.curl("/metrics", headers=[f"Authorization: Bearer {METRICS_TOKEN}"])
        self.assertEqual(r.status, 200, f"/metrics: {r.body[:300]} {r.stderr}")
        return harness.parse_exposition(r.body)

    def reloads(self, file, outcome):
        value = harness.metric_value(self.metrics(), RELOADS, file=file, outcome=outcome)
        return value or 0

    def test_serving_certificate_rotation_reaches_new_connections(self):
        first, second, third = self.serving
        self.assertEqual(self.served(), der(first[0]))
        self.assertEqual(harness.metric_value(self.metrics(), EXPIRY), not_after_seconds(first[0]))

        # A rotation by the same CA: new connections get the new certificate, curl still trusts it.
        self.publish_serving(*second)
        self.wait_served(second[0], "a new connection to be served the rotated certificate")
        r = self.cluster.curl("/readyz")
        self.assertEqual(r.status, 200, r.stderr)
        samples = self.metrics()
        self.assertEqual(harness.metric_value(samples, EXPIRY), not_after_seconds(second[0]))
        self.assertGreaterEqual(
            harness.metric_value(samples, RELOADS, file="serving", outcome="ok") or 0, 1)

        # A key that does not match: the previous pair stays, the error is counted and logged.
        errors = self.reloads("serving", "error")
        self.publish_serving(third[0], second[1])
        harness.wait_until(lambda: self.reloads("serving", "error") > errors, ROTATION_TIMEOUT_S,
                           f"{RELOADS}{{file=serving,outcome=error}} to go up")
        self.assertEqual(self.served(), der(second[0]))
        self.assertIn("keeping the current serving certificates", self.cluster.adapter_log())
        self.assertIn("does not match", self.cluster.adapter_log())

        # The next good write is taken.
        self.publish_serving(*third)
        self.wait_served(third[0], "a new connection to be served the next good certificate")

    def test_client_ca_rotation_changes_which_client_certificates_authenticate(self):
        old_client = (self.cluster.pki.client_crt, self.cluster.pki.client_key)
        new_client = (self.new_ca.client_crt, self.new_ca.client_key)
        # Both certificates say system:masters, which needs no SubjectAccessReview: 200 means the
        # certificate authenticated. One that no CA verifies is refused: 401, as in Go.
        path = "/apis/external.metrics.k8s.io/v1beta1"
        self.cluster.fake.clear_sar_rules()
        self.assertEqual(self.cluster.curl(path, client_cert=old_client).status, 200)
        self.assertEqual(self.cluster.curl(path, client_cert=new_client).status, 401)

        self.client_ca.publish(ca_crt=self.new_ca.ca_crt.read_bytes())
        harness.wait_until(lambda: self.cluster.curl(path, client_cert=new_client).status == 200,
                           ROTATION_TIMEOUT_S, "a client certificate of the new CA to authenticate")
        self.assertEqual(self.cluster.curl(path, client_cert=old_client).status, 401)
        self.assertGreaterEqual(self.reloads("client-ca", "ok"), 1)

        # A broken bundle keeps the new CA.
        errors = self.reloads("client-ca", "error")
        self.client_ca.publish(ca_crt=b"-----BEGIN CERTIFICATE-----\nnot base64\n")
        harness.wait_until(lambda: self.reloads("client-ca", "error") > errors,
                           ROTATION_TIMEOUT_S,
                           f"{RELOADS}{{file=client-ca,outcome=error}} to go up")
        self.assertEqual(self.cluster.curl(path, client_cert=new_client).status, 200)


if __name__ == "__main__":
    unittest.main()
