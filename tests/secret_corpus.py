"""A corpus of fake secrets and look-alikes, generated at test time (random characters in each format, never real keys).

``secrets(seed)`` returns one value per format the redactor must mask; ``named_secrets(seed)`` pairs every secret
*name* (the issue's missed names and the classic ones) with a format-less random password, which only the name
can give away; ``look_alikes()`` are values that must survive (git SHAs, UUIDs, content hashes, base64 of small
ints, ordinary words). Used by ``tests/integration/test_redaction_corpus.py`` and ``bench/redact_bench.py``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import string
import uuid

UPPER = string.ascii_uppercase
LOWER = string.ascii_lowercase
DIGITS = string.digits
ALNUM = UPPER + LOWER + DIGITS
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"

#: Names whose values are secrets whatever they look like (the issue's list of missed names, then classics).
SECRET_NAMES = (
    "pwd", "pass", "passphrase", "auth", "authorization", "bearer", "dsn", "database_url", "connection_string",
    "conn_str", "sig", "signature", "encryption_key", "ssh_key", "account_key", "storage_key", "cookie",
    "webhook_url", "otp", "service_account_json", "password", "db_password", "api_key", "client_secret",
    "hf_token", "aws_secret_access_key",
)  # fmt: skip
#: Names that look secret-ish but are ordinary settings.
LOOK_ALIKE_NAMES = ("secretary", "password_strength_model", "tokenizer", "max_tokens", "pad_token", "token_count")


def _pick(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _mixed(rng: random.Random, alphabet: str, n: int) -> str:
    # Random keys of this length virtually always mix cases and digits; force it so a rare draw cannot flake.
    classes = [chars for chars in (UPPER, LOWER, DIGITS) if set(chars) & set(alphabet)]
    while True:
        value = _pick(rng, alphabet, n)
        if all(any(c in chars for c in value) for chars in classes):
            return value


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def secrets(seed: int = 0) -> dict[str, str]:
    """One fake secret per format, keyed by a short description (see :func:`secret_core` for the credential)."""
    rng = random.Random(seed)
    password = _mixed(rng, ALNUM, 14)
    redis_pw, mongo_pw, amqp_pw = _mixed(rng, ALNUM, 16), _mixed(rng, ALNUM, 18), _mixed(rng, ALNUM, 12)
    storage_key, bus_key = _mixed(rng, B64, 86) + "==", _mixed(rng, B64, 43) + "="
    bearer = _mixed(rng, URLSAFE, 40)
    basic = base64.b64encode(f"me:{password}".encode()).decode()
    jwt_head = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    jwt_body = _b64url(json.dumps({"sub": _pick(rng, DIGITS, 10), "name": "fake"}).encode())
    pem_body = "\n".join(_pick(rng, B64, 64) for _ in range(6))
    sas_sig = _mixed(rng, B64, 43).replace("+", "%2B").replace("/", "%2F") + "%3D"
    return {
        "aws access key id": "AKIA" + _pick(rng, UPPER + "234567", 16),
        "aws session key id": "ASIA" + _pick(rng, UPPER + "234567", 16),
        "aws secret access key": _mixed(rng, B64, 40),
        "github classic token": "ghp_" + _mixed(rng, ALNUM, 36),
        "github oauth token": "gho_" + _mixed(rng, ALNUM, 36),
        "github fine-grained token": "github_pat_" + _mixed(rng, ALNUM + "_", 82),
        "gitlab token": "glpat-" + _mixed(rng, URLSAFE, 20),
        "slack bot token": f"xoxb-{_pick(rng, DIGITS, 12)}-{_pick(rng, DIGITS, 13)}-{_mixed(rng, ALNUM, 24)}",
        "slack user token": f"xoxp-{_pick(rng, DIGITS, 12)}-{_pick(rng, DIGITS, 12)}-{_pick(rng, DIGITS, 13)}-"
        + _pick(rng, HEX, 32),
        "slack app token": f"xapp-1-A{_pick(rng, UPPER + DIGITS, 10)}-{_pick(rng, DIGITS, 13)}-{_pick(rng, HEX, 64)}",
        "slack webhook": f"https://hooks.slack.com/services/T{_pick(rng, UPPER + DIGITS, 8)}/"
        f"B{_pick(rng, UPPER + DIGITS, 8)}/{_mixed(rng, ALNUM, 24)}",
        "stripe live secret key": "sk_live_" + _mixed(rng, ALNUM, 99),
        "stripe restricted key": "rk_live_" + _mixed(rng, ALNUM, 24),
        "stripe test key": "sk_test_" + _mixed(rng, ALNUM, 24),
        "stripe webhook secret": "whsec_" + _mixed(rng, ALNUM, 32),
        "openai legacy key": "sk-" + _mixed(rng, ALNUM, 20) + "T3BlbkFJ" + _mixed(rng, ALNUM, 20),
        "openai project key": "sk-proj-" + _mixed(rng, URLSAFE, 74) + "T3BlbkFJ" + _mixed(rng, URLSAFE, 74),
        "openai service account key": "sk-svcacct-" + _mixed(rng, URLSAFE, 64),
        "anthropic key": "sk-ant-api03-" + _mixed(rng, URLSAFE, 93) + "AA",
        "google api key": "AIza" + _mixed(rng, URLSAFE, 35),
        "google oauth client secret": "GOCSPX-" + _mixed(rng, URLSAFE, 28),
        "google oauth access token": "ya29." + _mixed(rng, URLSAFE, 120),
        "hugging face token": "hf_" + _mixed(rng, UPPER + LOWER, 34),
        "npm token": "npm_" + _mixed(rng, ALNUM, 36),
        "pypi token": "pypi-AgEIcHlwaS5vcmc" + _mixed(rng, URLSAFE, 80),
        "sendgrid key": "SG." + _mixed(rng, URLSAFE, 22) + "." + _mixed(rng, URLSAFE, 43),
        "twilio api key": "SK" + _pick(rng, HEX, 32),
        "databricks token": "dapi" + _pick(rng, HEX, 32),
        "mailchimp key": _pick(rng, HEX, 32) + "-us" + str(rng.randint(1, 20)),
        "square oauth secret": "sq0csp-" + _mixed(rng, URLSAFE, 43),
        "telegram bot token": _pick(rng, DIGITS, 10) + ":" + _mixed(rng, URLSAFE, 35),
        "azure storage connection string": "DefaultEndpointsProtocol=https;AccountName=acct"
        f"{_pick(rng, LOWER, 6)};AccountKey={storage_key};EndpointSuffix=core.windows.net",
        "azure service bus connection string": f"Endpoint=sb://ns{_pick(rng, LOWER, 6)}.servicebus.windows.net/;"
        f"SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={bus_key}",
        "azure sas url": f"https://acct.blob.core.windows.net/c/b.csv?sv=2022-11-02&ss=b&srt=o&sp=r"
        f"&se=2030-01-01T00:00:00Z&sig={sas_sig}",
        "postgres url": f"postgresql+psycopg://mlops:{password}@db.internal:5432/runs",
        "postgres url with @ in password": f"postgresql://u:{password[:6]}@{password[6:]}@db.internal/runs",
        "redis url without user": f"redis://:{redis_pw}@cache.internal:6379/0",
        "mongodb url": f"mongodb+srv://app:{mongo_pw}@cluster0.abcde.mongodb.net/db",
        "amqp url": f"amqp://worker:{amqp_pw}@queue.internal/vhost",
        "jwt": f"{jwt_head}.{jwt_body}.{_b64url(rng.randbytes(32))}",
        "rsa private key": f"-----BEGIN RSA PRIVATE KEY-----\n{pem_body}\n-----END RSA PRIVATE KEY-----",
        "openssh private key": f"-----BEGIN OPENSSH PRIVATE KEY-----\n{pem_body}\n-----END OPENSSH PRIVATE KEY-----",
        "bearer header": "Authorization: Bearer " + bearer,
        "basic auth header": "Authorization: Basic " + basic,
    }


#: Where the credential sits inside a secret that carries harmless context (a URL's host, a header's name).
_CORE = {
    "azure storage connection string": r"AccountKey=([^;]+)",
    "azure service bus connection string": r"SharedAccessKey=(.+)$",
    "azure sas url": r"sig=(.+)$",
    "postgres url": r"mlops:(.+)@",
    "postgres url with @ in password": r"u:(.+)@db",
    "redis url without user": r"//:(.+)@",
    "mongodb url": r"app:(.+)@",
    "amqp url": r"worker:(.+)@",
    "bearer header": r"Bearer (.+)$",
    "basic auth header": r"Basic (.+)$",
}


def secret_core(kind: str, text: str) -> str:
    """The credential inside a corpus secret: what must never be stored (the whole text for bare keys)."""
    pattern = _CORE.get(kind)
    if pattern is None:
        return text
    match = re.search(pattern, text)
    assert match is not None, kind
    return match.group(1)


def leaked(core: str, stored: str) -> bool:
    """Whether a credential (or a 16-character piece of a long one) appears in stored text."""
    if core in stored:
        return True
    pieces = [core[i : i + 16] for i in range(0, max(len(core) - 16, 0) + 1, 4)] if len(core) >= 24 else []
    return any(piece in stored for piece in pieces if not piece.isalpha())


def named_secrets(seed: int = 0) -> dict[str, str]:
    """A format-less random password under every secret name (only the name says it is a secret)."""
    rng = random.Random(seed + 1)
    return {name: _mixed(rng, ALNUM, 12) + "-" + _mixed(rng, ALNUM, 6) for name in SECRET_NAMES}


def look_alikes(seed: int = 0) -> dict[str, str]:
    """Values that are not secrets and must be stored as they are."""
    rng = random.Random(seed + 2)
    content = rng.randbytes(64)
    return {
        "git sha": hashlib.sha1(content).hexdigest(),
        "short git sha": hashlib.sha1(content).hexdigest()[:7],
        "uuid": str(uuid.UUID(bytes=rng.randbytes(16), version=4)),
        "uuid hex": uuid.UUID(bytes=rng.randbytes(16), version=4).hex,
        "sha256": hashlib.sha256(content).hexdigest(),
        "xxh3 blob hash": "xxh3_128:" + _pick(rng, HEX, 32),
        "md5": hashlib.md5(content).hexdigest(),
        "docker digest": "sha256:" + hashlib.sha256(content[::-1]).hexdigest(),
        "base64 of a small int": base64.b64encode(b"1234").decode(),
        "base64 of another int": base64.b64encode(b"65536").decode(),
        "model name": "bert-base-uncased",
        "repository url": "https://github.com/org/repo.git",
        "lab url": "http://localhost:8888/lab/tree/train.ipynb",
        "ssh remote": "git@github.com:org/repo.git",
        "timestamp": "2026-12-07T00:19:49Z",
        "path": "data/train-2024.csv",
        "word secretary": "secretary",
        "word password_strength_model": "password_strength_model",
        "word tokenizer": "tokenizer",
        "word max_tokens": "max_tokens",
        "sentence": "the token budget is 4096 and the password policy is strict",
    }
