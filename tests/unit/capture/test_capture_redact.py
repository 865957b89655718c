"""capture.redact: each detector positively and negatively."""

from __future__ import annotations

import pytest

from jupyter_mlops.capture.redact import (
    MASK,
    find_secrets,
    is_secret_key,
    looks_secret,
    redact_mapping,
    redact_tags,
    redact_text,
    redact_url,
)

# Fake credentials in the real formats (never valid anywhere).
AWS = "AKIAIOSFODNN7EXAMPLE"
AWS_TEMP = "ASIAY34FZKBOKMUTVV7A"
GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
GITHUB_PAT = "github_pat_" + "11ABCDEFG0" + "x" * 50
SLACK = "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7\nabc\n-----END RSA PRIVATE KEY-----"


@pytest.mark.parametrize(
    "name",
    [
        "password", "DB_PASSWORD", "db.passwd", "client-secret", "secretKey", "api_key", "API-KEY", "apiKey",
        "openai.apikey", "aws_access_key_id", "accessKey", "private_key", "ssh.privateKey", "credentials_path",
        "token", "auth_token", "hfToken", "GITHUB_TOKEN", "token_count", "authtoken",
    ],
)  # fmt: skip
def test_secret_names(name: str) -> None:
    assert is_secret_key(name)


@pytest.mark.parametrize(
    "name",
    ["tokenizer", "max_tokens", "num_tokens", "learning_rate", "api_version", "key", "access_level", "keyboard"],
)
def test_ordinary_names(name: str) -> None:
    assert not is_secret_key(name)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("aws_access_key_id", AWS),
        ("aws_access_key_id", AWS_TEMP),
        ("github_token", GITHUB),
        ("github_token", GITHUB_PAT),
        ("slack_token", SLACK),
        ("bearer_token", "Authorization: Bearer abcdefghijklmnop1234567890"),
        ("jwt", JWT),
        ("private_key", PEM),
        ("url_password", "postgresql+psycopg://me:s3cret@db.example/runs"),
    ],
)
def test_value_formats_are_found(kind: str, value: str) -> None:
    hits = find_secrets(f"prefix {value} suffix")
    assert [hit.kind for hit in hits] == [kind]
    assert looks_secret(value)


@pytest.mark.parametrize(
    "value",
    [
        "tokenizer",
        "bert-base-uncased",
        "AKIA-not-a-key",
        "AKIAIOSFODNN7EXAMPL",  # one character short
        "ghp_short",
        "xoxz-123456789012",
        "bearer of bad news",
        "-----BEGIN PUBLIC KEY-----",
        "https://github.com/org/repo.git",
        "eyJhbGciOi.short",
        "0123456789abcdef0123456789abcdef",  # a hex digest is not a credential
    ],
)
def test_ordinary_values_are_not_secrets(value: str) -> None:
    assert find_secrets(value) == []
    assert not looks_secret(value)


def test_redact_mapping_by_name_and_value_recursively() -> None:
    params = {
        "lr": 0.1,
        "tokenizer": "bert-base",
        "token_count": 5,  # the name rule applies whatever the value (documented in docs/decisions.md)
        "db": {"password": "hunter2", "host": "localhost"},
        "keys": ["plain", AWS],
        "note": f"uses {GITHUB}",
    }
    assert redact_mapping(params) == {
        "lr": 0.1,
        "tokenizer": "bert-base",
        "token_count": MASK,
        "db": {"password": MASK, "host": "localhost"},
        "keys": ["plain", MASK],
        "note": MASK,
    }


def test_redact_tags() -> None:
    assert redact_tags(["baseline", "token=abc", "api_key:xyz", AWS, "lr=0.1"]) == [
        "baseline",
        f"token={MASK}",
        f"api_key:{MASK}",
        MASK,
        "lr=0.1",
    ]


def test_redact_text_keeps_context() -> None:
    code = f'x = 1\napi_key = "sk-live-1234567890"\nheaders = {{"Authorization": "Bearer {"z" * 24}"}}\nk = "{AWS}"\n'
    redacted = redact_text(code)
    assert redacted == f'x = 1\napi_key = "{MASK}"\nheaders = {{"Authorization": "Bearer {MASK}"}}\nk = "{MASK}"\n'
    assert redact_text(redacted) == redacted  # idempotent: masks are not secrets


def test_assignments_need_a_secret_name_and_a_literal() -> None:
    assert find_secrets('tokenizer = "bert-base-uncased"\ntoken_count = 5\npassword = os.environ["PW"]\n') == []
    assert [h.kind for h in find_secrets('password: "hunter2hunter2"')] == ["assignment"]  # YAML style


def test_hits_carry_position_but_not_the_secret() -> None:
    hits = find_secrets(f"a\nb = 1\n  key_id = '{AWS}'\n")
    assert [(h.line, h.column) for h in hits] == [(3, 13)]
    assert AWS not in repr(hits)


def test_truncated_pem_block_is_still_redacted() -> None:
    assert redact_text("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg") == MASK


def test_redact_url() -> None:
    assert redact_url("postgresql://me:pw1@host/db") == f"postgresql://me:{MASK}@host/db"
    assert redact_url("sqlite:///tmp/x.db") == "sqlite:///tmp/x.db"


@pytest.mark.timeout(60)  # a hang guard, not a speed assertion: the quadratic pattern took hours on this input
def test_one_long_line_of_name_characters_does_not_hang_the_detector():
    blob = "x" * 1_000_000
    assert find_secrets(blob) == []
    assert [hit.kind for hit in find_secrets(blob + '\napi_key = "sk-abcdef123456"')] == ["assignment"]
