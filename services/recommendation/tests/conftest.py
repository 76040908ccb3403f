"""Fixtures: a real redis-server, dev certs made with openssl, and a small catalog v2 server."""

from __future__ import annotations

import base64
import http.server
import json
import socket
import subprocess
import threading
import time
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import grpc
import pytest

import recommendation  # noqa: F401 - puts gen/python on sys.path
from shop.catalog.v2 import catalog_pb2, catalog_pb2_grpc
from shop.common.v1 import money_pb2

REDIS_SERVER = "/usr/bin/redis-server"
TRUST = "spiffe://shop.local/ns/shop/sa/"


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(*args: str, cwd: Path) -> None:
    subprocess.run(args, cwd=cwd, check=True, capture_output=True, timeout=30)


def make_certs(d: Path, names: list[str], ca_name: str = "ca") -> None:
    """A P-256 CA (ca.pem) and one leaf per name with SAN URI spiffe://.../sa/<name>."""
    d.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    _run("openssl", "req", "-x509", *ec, "-keyout", f"{ca_name}-key.pem", "-out", f"{ca_name}.pem",
         "-days", "2", "-subj", f"/CN=test {ca_name}",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    for n in names:
        (d / f"{n}.ext").write_text(
            f"subjectAltName=URI:{TRUST}{n},DNS:{n},DNS:localhost,IP:127.0.0.1\n"
            "extendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n"
        )
        _run("openssl", "req", *ec, "-keyout", f"{n}-key.pem", "-out", f"{n}.csr", "-subj", f"/CN={n}", cwd=d)
        _run("openssl", "x509", "-req", "-in", f"{n}.csr", "-CA", f"{ca_name}.pem", "-CAkey", f"{ca_name}-key.pem",
             "-CAcreateserial", "-days", "2", "-out", f"{n}.pem", "-extfile", f"{n}.ext", cwd=d)


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Dev certs for the mesh names the tests use, plus 'rogue' from a different CA."""
    d = tmp_path_factory.mktemp("certs")
    make_certs(d, ["recommendation", "catalog", "edge", "order"])
    make_certs(d / "other", ["order"], ca_name="ca")
    return d


def channel_creds(certs: Path, name: str) -> grpc.ChannelCredentials:
    """mTLS client credentials of one mesh identity."""
    return grpc.ssl_channel_credentials(
        (certs / "ca.pem").read_bytes(),
        (certs / f"{name}-key.pem").read_bytes(),
        (certs / f"{name}.pem").read_bytes(),
    )


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway redis-server on a free port, no persistence."""
    port = free_port()
    d = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(d)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        end = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if time.monotonic() > end or proc.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@dataclass
class FakeCatalog:
    """catalog v2's read methods over an in-memory product table, served with mTLS."""

    products: dict[str, catalog_pb2.Product] = field(default_factory=dict)
    delay_s: float = 0.0
    fail: grpc.StatusCode | None = None  # every call answers this code
    fail_message: str = ""  # ...with this message and trailer (default "injected <CODE>")
    callers: list[str] = field(default_factory=list)
    calls: int = 0
    canary: list[str] = field(default_factory=list)  # the x-shop-canary header of each call that had one
    traceparents: list[str] = field(default_factory=list)  # the traceparent header of each call that had one

    def add(self, pid: str, name: str, amount: int) -> None:
        self.products[pid] = catalog_pb2.Product(
            id=pid, name=name, price=money_pb2.Money(currency_code="USD", amount_minor=amount)
        )

    def _seen(self, ctx: grpc.ServicerContext) -> None:
        uris = [v.decode() for v in ctx.auth_context().get("peer_uri", ()) if v.startswith(b"spiffe://")]
        self.callers.extend(uris)
        self.canary.extend(v for k, v in ctx.invocation_metadata() or () if k == "x-shop-canary")
        self.traceparents.extend(v for k, v in ctx.invocation_metadata() or () if k == "traceparent")
        self.calls += 1
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.fail is not None:
            if self.fail_message:
                ctx.set_trailing_metadata((("x-upstream-debug", self.fail_message),))
            ctx.abort(self.fail, self.fail_message or f"injected {self.fail.name}")


class _CatalogServicer(catalog_pb2_grpc.CatalogServiceServicer):
    def __init__(self, fake: FakeCatalog) -> None:
        self.f = fake

    def GetProduct(self, req, ctx):  # noqa: N802
        self.f._seen(ctx)
        if req.id not in self.f.products:
            ctx.abort(grpc.StatusCode.NOT_FOUND, f"no product {req.id}")
        return catalog_pb2.GetProductResponse(product=self.f.products[req.id])

    def BatchGetProducts(self, req, ctx):  # noqa: N802
        self.f._seen(ctx)
        for pid in req.ids:
            if pid not in self.f.products:
                ctx.abort(grpc.StatusCode.NOT_FOUND, f"no product {pid}")
        return catalog_pb2.BatchGetProductsResponse(products=[self.f.products[i] for i in req.ids])

    def ListProducts(self, req, ctx):  # noqa: N802
        self.f._seen(ctx)
        ids = sorted(self.f.products)[: req.page_size or 20]
        return catalog_pb2.ListProductsResponse(products=[self.f.products[i] for i in ids])


@dataclass
class CatalogServer:
    """A running fake catalog: its address and data."""

    addr: str
    fake: FakeCatalog
    server: grpc.Server


@pytest.fixture
def catalog(certs: Path) -> Iterator[CatalogServer]:
    """A fake catalog on a free port that requires mesh client certs, like the real one."""
    fake = FakeCatalog()
    for i, (name, amount) in enumerate([("Mug", 1200), ("Lamp", 4599), ("Sock", 350), ("Kite", 2000)]):
        fake.add(f"p{i + 1}", name, amount)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    catalog_pb2_grpc.add_CatalogServiceServicer_to_server(_CatalogServicer(fake), server)
    creds = grpc.ssl_server_credentials(
        [((certs / "catalog-key.pem").read_bytes(), (certs / "catalog.pem").read_bytes())],
        root_certificates=(certs / "ca.pem").read_bytes(),
        require_client_auth=True,
    )
    port = server.add_secure_port("127.0.0.1:0", creds)
    server.start()
    yield CatalogServer(f"127.0.0.1:{port}", fake, server)
    server.stop(0).wait()


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


@dataclass
class JwtSigner:
    """Signs ES256 JWTs with openssl (an implementation independent of the one under test)."""

    dir: Path
    kid: str = "test-key"

    def jwks(self) -> dict:  # type: ignore[type-arg]
        der = subprocess.run(
            ["openssl", "ec", "-in", "jwt-key.pem", "-pubout", "-outform", "DER"],
            cwd=self.dir, check=True, capture_output=True, timeout=10,
        ).stdout
        point = der[-64:]  # uncompressed point 04||x||y ends the SubjectPublicKeyInfo
        return {"keys": [{"kty": "EC", "crv": "P-256", "alg": "ES256", "kid": self.kid,
                          "x": _b64(point[:32]), "y": _b64(point[32:])}]}

    def public_pem(self) -> bytes:
        """The public key as PEM: what an attacker would try as an HS256 secret."""
        return subprocess.run(
            ["openssl", "ec", "-in", "jwt-key.pem", "-pubout"],
            cwd=self.dir, check=True, capture_output=True, timeout=10,
        ).stdout

    def sign(self, claims: dict, kid: str | None = None) -> str:  # type: ignore[type-arg]
        header = {"alg": "ES256", "typ": "JWT", "kid": kid or self.kid}
        signing_input = unsigned(header, claims)
        der = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", "jwt-key.pem"],
            cwd=self.dir, input=signing_input.encode(), check=True, capture_output=True, timeout=10,
        ).stdout
        return f"{signing_input}.{_b64(_der_to_raw(der))}"


def unsigned(header: dict, claims: dict) -> str:  # type: ignore[type-arg]
    """The JWS signing input: base64url(header).base64url(claims)."""
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"


def b64(b: bytes) -> str:
    """Unpadded base64url."""
    return _b64(b)


def _der_to_raw(der: bytes) -> bytes:
    # ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }; JWS wants r||s, 32 bytes each.
    assert der[0] == 0x30
    i = 2
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]
        out += int.from_bytes(der[i + 2 : i + 2 + n], "big").to_bytes(32, "big")
        i += 2 + n
    return out


def new_signer(d: Path, kid: str) -> JwtSigner:
    """A fresh P-256 key in d."""
    _run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "jwt-key.pem", cwd=d)
    return JwtSigner(d, kid)


@pytest.fixture(scope="session")
def signer(tmp_path_factory: pytest.TempPathFactory) -> JwtSigner:
    """A P-256 signing key for test access tokens."""
    return new_signer(tmp_path_factory.mktemp("jwt"), "test-key")


@pytest.fixture(scope="session")
def other_signer(tmp_path_factory: pytest.TempPathFactory) -> JwtSigner:
    """Another P-256 key, never in the JWKS the tests serve unless a test puts it there."""
    return new_signer(tmp_path_factory.mktemp("jwt-other"), "other-key")


class JwksHttp:
    """A real HTTP server on a free port that serves a JWKS, answers 500, or hangs; counts requests."""

    def __init__(self, doc: dict) -> None:  # type: ignore[type-arg]
        self.doc = doc
        self.mode = "ok"  # ok | error | hang
        self.requests = 0
        self.released = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                outer.requests += 1
                if outer.mode == "hang":
                    outer.released.wait(30)
                    return
                if outer.mode == "error":
                    self.send_error(500)
                    return
                body = json.dumps(outer.doc).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def jwks_http(signer: JwtSigner) -> Iterator[JwksHttp]:
    """signer's JWKS over real HTTP, as auth serves it on its admin port."""
    srv = JwksHttp(signer.jwks())
    yield srv
    srv.close()


