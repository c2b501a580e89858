"""JWT issue and verification, and every rejection the issue names."""

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings

from apps.core.errors import AuthenticationFailed
from apps.tenancy import tokens


@pytest.fixture(autouse=True)
def fresh_keys():
    tokens.reset_key_cache()
    yield
    tokens.reset_key_cache()


def _claims(**overrides) -> dict:
    now = int(time.time())
    claims = {"sub": "7", "tenant": "acme", "aud": "catalyst", "iss": "catalyst", "iat": now, "exp": now + 60}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _code(token: str) -> str:
    with pytest.raises(AuthenticationFailed) as refused:
        tokens.decode_token(token)
    assert refused.value.status == 401
    return str(refused.value.code)


def test_an_issued_token_decodes_to_its_claims():
    token = tokens.issue_token(user_id=7, tenant_slug="acme", ttl_seconds=120)

    claims = tokens.decode_token(token)

    assert claims["sub"] == "7"
    assert claims["tenant"] == "acme"
    assert claims["aud"] == "catalyst"
    assert claims["exp"] - claims["iat"] == 120
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_it_rejects_an_expired_token():
    token = jwt.encode(_claims(exp=int(time.time()) - 60), settings.SECRET_KEY, algorithm="HS256")
    assert _code(token) == "expired_token"


def test_it_rejects_a_bad_signature():
    token = jwt.encode(_claims(), "some-other-secret-that-is-long-enough!!", algorithm="HS256")
    assert _code(token) == "invalid_token"


def test_it_rejects_alg_none():
    token = jwt.encode(_claims(), None, algorithm="none")
    assert token.endswith(".")
    assert _code(token) == "invalid_token"


def test_it_rejects_a_token_without_a_tenant():
    token = jwt.encode(_claims(tenant=None), settings.SECRET_KEY, algorithm="HS256")
    assert _code(token) == "invalid_token"


@pytest.mark.parametrize("claim", [{"aud": "someone-else"}, {"iss": "someone-else"}, {"sub": "alice"}, {"tenant": 5}])
def test_it_rejects_wrong_audience_issuer_or_subject(claim):
    token = jwt.encode(_claims(**claim), settings.SECRET_KEY, algorithm="HS256")
    assert _code(token) == "invalid_token"


@pytest.fixture
def rsa_settings(settings):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    settings.JWT_ALGORITHM = "RS256"
    settings.JWT_PRIVATE_KEY = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    settings.JWT_PUBLIC_KEY = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    tokens.reset_key_cache()
    return settings


def test_rs256_tokens_round_trip(rsa_settings):
    token = tokens.issue_token(user_id=3, tenant_slug="globex")

    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert tokens.decode_token(token)["tenant"] == "globex"


def test_under_rs256_an_hs256_token_signed_with_the_public_key_is_refused(rsa_settings):
    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    signing_input = (
        b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + b"." + b64(json.dumps(_claims()).encode())
    )
    signature = hmac.new(rsa_settings.JWT_PUBLIC_KEY.encode(), signing_input, hashlib.sha256).digest()
    forged = (signing_input + b"." + b64(signature)).decode()

    assert _code(forged) == "invalid_token"


def test_rs256_verification_only_instances_cannot_issue(rsa_settings):
    rsa_settings.JWT_PRIVATE_KEY = None
    tokens.reset_key_cache()

    with pytest.raises(Exception, match="JWT_PRIVATE_KEY"):
        tokens.issue_token(user_id=3, tenant_slug="globex")


def test_it_rejects_a_subject_too_large_for_a_user_id():
    """A 40-digit `sub` once reached the database as an integer overflow (500)."""
    token = jwt.encode(_claims(sub="1" * 40), settings.SECRET_KEY, algorithm="HS256")
    assert _code(token) == "invalid_token"


def test_it_rejects_a_token_that_lives_longer_than_the_maximum(settings):
    settings.JWT_MAX_TTL_SECONDS = 3600
    now = int(time.time())
    token = jwt.encode(_claims(iat=now, exp=now + 3601), settings.SECRET_KEY, algorithm="HS256")
    assert _code(token) == "invalid_token"


def test_it_rejects_a_token_without_an_issue_time():
    token = jwt.encode(_claims(iat=None), settings.SECRET_KEY, algorithm="HS256")
    assert _code(token) == "invalid_token"


def test_no_token_is_issued_for_longer_than_the_maximum(settings):
    settings.JWT_MAX_TTL_SECONDS = 3600
    with pytest.raises(tokens.LifetimeTooLong):
        tokens.issue_token(user_id=7, tenant_slug="acme", ttl_seconds=3601)
