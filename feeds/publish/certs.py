"""A private CA and the broker's server certificate, for screens to check they talk to their hub.

The CA lives beside the broker's config; its key never leaves the hub machine. The server
certificate names every host and address screens use to reach the broker (subjectAltName), and is
made again when that list changes or it is within a month of expiring; the CA is kept, so screens
that trust it keep working.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
SERVER_DAYS = 825  # the longest validity clients accept for a server certificate
RENEW_BEFORE = dt.timedelta(days=30)


def _key_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _alt_names(hosts: list[str]) -> list[x509.GeneralName]:
    out: list[x509.GeneralName] = []
    for host in hosts:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            out.append(x509.DNSName(host))
    return out


def make_ca(now: dt.datetime) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) of a new CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("chalkwall hub CA")
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM), _key_bytes(key)


def make_server(ca_cert_pem: bytes, ca_key_pem: bytes, hosts: list[str], now: dt.datetime) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) for the broker, signed by the CA, naming ``hosts``."""
    ca_cert = x509.load_pem_x509_certificate(ca_cert_pem)
    ca_key = serialization.load_pem_private_key(ca_key_pem, password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name(hosts[0])).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=SERVER_DAYS))
            .add_extension(x509.SubjectAlternativeName(_alt_names(hosts)), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM), _key_bytes(key)


def server_needs_renewal(cert_path: Path, ca_cert_pem: bytes, hosts: list[str], now: dt.datetime) -> str | None:
    """Why the server certificate at ``cert_path`` must be made again, or None when it is fine."""
    if not cert_path.is_file():
        return "missing"
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return "unreadable"
    if cert.issuer != x509.load_pem_x509_certificate(ca_cert_pem).subject:
        return "signed by another CA"
    if set(names) != set(_alt_names(hosts)):
        return "the host names changed"
    if cert.not_valid_after_utc - now < RENEW_BEFORE:
        return "expiring"
    return None
