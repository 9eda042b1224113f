"""A throwaway certificate authority for loopback HTTPS (the demo province and the tests).

:class:`LoopbackCA` writes its CA certificate to ``ca.pem`` in a directory (trusted by a scan
through ``tls.extra_ca_file``) and issues certificates for loopback IP addresses, valid, expired
or about to expire, or self-signed ones nobody trusts.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificate(subject: x509.Name, key: ec.EllipticCurvePrivateKey, issuer: x509.Name,
                 issuer_key: ec.EllipticCurvePrivateKey, *, not_before: dt.datetime, not_after: dt.datetime,
                 ip: str | None = None, ca: bool = False) -> x509.Certificate:
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ip is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


class LoopbackCA:
    """A CA whose certificate is ``directory / "ca.pem"``; :meth:`issue` writes a host's key pair."""

    def __init__(self, directory: Path, *, now: dt.datetime | None = None) -> None:
        self.directory = directory
        self.now = now or dt.datetime.now(dt.UTC)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = _name("govmon loopback CA")
        self.cert = _certificate(self.name, self.key, self.name, self.key, ca=True,
                                 not_before=self.now - dt.timedelta(days=30),
                                 not_after=self.now + dt.timedelta(days=3650))
        self.file = directory / "ca.pem"
        self.file.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, ip: str, *, days_left: float = 365, days_old: float = 1,
              self_signed: bool = False) -> tuple[Path, Path]:
        """(certificate file, key file) for ``ip``: expires ``days_left`` days from now (negative: expired)."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = _name(ip)
        issuer, issuer_key = (subject, key) if self_signed else (self.name, self.key)
        cert = _certificate(subject, key, issuer, issuer_key, ip=ip,
                            not_before=self.now - dt.timedelta(days=days_old),
                            not_after=self.now + dt.timedelta(days=days_left))
        stem = ip.replace(":", "_")
        cert_file, key_file = self.directory / f"{stem}.crt", self.directory / f"{stem}.key"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        return cert_file, key_file
