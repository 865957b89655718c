"""capture.redact: each detector positively and negatively (the full corpus is in test_redaction_corpus.py)."""

from __future__ import annotations

import pytest

from jupyter_mlops.capture.redact import (
    MASK,
    find_secrets,
    is_secret_key,
    looks_secret,
    redact_code_snapshot,
    redact_mapping,
    redact_notebook,
    redact_tags,
    redact_text,
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
        "openai.apikey", "aws_access_key_id", "accessKey", "private_key", "ssh.privateKey", "credentials",
        "token", "auth_token", "hfToken", "GITHUB_TOKEN", "authtoken", "secret_value", "DB_PASS", "pass",
    ],
)  # fmt: skip
def test_secret_names(name: str) -> None:
    assert is_secret_key(name)


@pytest.mark.parametrize(
    "name",
    [
        "tokenizer", "max_tokens", "num_tokens", "learning_rate", "api_version", "key", "access_level", "keyboard",
        "token_count", "credentials_path", "secret_name", "password_file", "pad_token", "eos_token_id",
        "first_pass", "primary_key", "sort_key",
    ],
)  # fmt: skip
def test_ordinary_names(name: str) -> None:
    # The last word decides (ADR-019): a count, a path or the name of a secret is not the secret.
    assert not is_secret_key(name)


def test_every_detect_secrets_keyword_is_a_secret_name() -> None:
    # The name rule replaces detect-secrets' keyword plugin, so it must cover every keyword that plugin knows.
    from detect_secrets.plugins.keyword import DENYLIST

    names = [entry.replace("_?", sep) for entry in DENYLIST for sep in ("_", "")]
    assert [name for name in names if not is_secret_key(name)] == []


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("aws_access_key", AWS),
        ("aws_access_key", AWS_TEMP),
        ("github_token", GITHUB),
        ("github_token", GITHUB_PAT),
        ("slack_token", SLACK),
        ("bearer_token", "Bearer abcdefghijklmnop1234567890"),
        ("json_web_token", JWT),
        ("private_key", PEM),
        ("url_password", "postgresql+psycopg://me:s3cret@db.example/runs"),
    ],
)
def test_value_formats_are_found(kind: str, value: str) -> None:
    hits = find_secrets(f"prefix {value} suffix")
    assert len(hits) == 1 and hits[0].kind in (kind, *_SUPPLEMENT_KINDS)
    assert looks_secret(value)
    assert redact_text(f"prefix {value} suffix").startswith("prefix ")


# Kinds from the supplement table that overlap detect-secrets' (either may report a hit first).
_SUPPLEMENT_KINDS = ("private_key", "github_token", "slack_token", "jwt")


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
        "http://localhost:8080/users/@me",  # a port, not a password
        "git@github.com:org/repo.git",
        "eyJhbGciOi.short",
        "ThisIsAVeryLongCamelCaseIdentifierName12",  # 40 characters, but not random like an AWS secret key
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
        "pin_password": 1234,  # the name rule applies whatever the value (ADR-019)...
        "use_auth": True,  # ...except booleans, which cannot hold a secret
        "db": {"password": "hunter2", "host": "localhost"},
        "keys": ["plain", AWS],
        "note": f"uses {GITHUB}",
        f"key {AWS}": 1,  # a secret in a name
    }
    assert redact_mapping(params) == {
        "lr": 0.1,
        "tokenizer": "bert-base",
        "pin_password": MASK,
        "use_auth": True,
        "db": {"password": MASK, "host": "localhost"},
        "keys": ["plain", MASK],
        "note": f"uses {MASK}",
        f"key {MASK}": 1,
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
    assert redacted == f'x = 1\napi_key = "{MASK}"\nheaders = {{"Authorization": "{MASK}"}}\nk = "{MASK}"\n'
    assert redact_text(redacted) == redacted  # idempotent: masks are not secrets


def test_assignments_need_a_secret_name_and_a_literal() -> None:
    code = 'tokenizer = "bert-base-uncased"\ntoken_count = 5\npassword = os.environ["PW"]\npassword = other_name\n'
    annotations = "token: bool\nauth_token: TokenType\napi_key: np.ndarray\npw: ${PW}\n"
    assert find_secrets(code + annotations) == []
    assert [h.kind for h in find_secrets('password: "hunter2hunter2"')] == ["assignment"]  # YAML style


def test_unquoted_config_and_env_assignments() -> None:
    text = "db:\n  password: hunter2-x\nDB_PASSWORD=hunter2-y\n+api_key: abcd1234  # from the vault\n"
    assert redact_text(text) == f"db:\n  password: {MASK}\nDB_PASSWORD={MASK}\n+api_key: {MASK}  # from the vault\n"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@ss@h/db", f"postgresql://u:{MASK}@h/db"),  # '@' inside the password
        ("postgresql://u:a/b@h/db", f"postgresql://u:{MASK}@h/db"),  # '/' inside the password
        ("redis://:pw123@cache:6379/0", f"redis://:{MASK}@cache:6379/0"),  # no user
    ],
)
def test_url_passwords_in_every_shape(url: str, expected: str) -> None:
    assert redact_text(url) == expected


def test_a_long_key_is_masked_to_its_end() -> None:
    # The pattern wants 24 characters; a longer key must not keep its tail in clear.
    key = "sk_live_" + "a1B2" * 20
    assert redact_text(f"key={key};") == f"key={MASK};"


def test_hits_carry_position_but_not_the_secret() -> None:
    hits = find_secrets(f"a\nb = 1\n  key_id = '{AWS}'\n")
    assert [(h.line, h.column) for h in hits] == [(3, 13)]
    assert AWS not in repr(hits)


def test_truncated_pem_block_is_still_redacted() -> None:
    assert redact_text("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg") == MASK


def test_url_passwords_are_masked_and_urls_without_one_kept() -> None:
    assert redact_text("postgresql://me:pw1@host/db") == f"postgresql://me:{MASK}@host/db"
    assert redact_text("sqlite:///tmp/x.db") == "sqlite:///tmp/x.db"


@pytest.mark.timeout(60)  # a hang guard, not a speed assertion: the quadratic pattern took hours on this input
def test_one_long_line_of_name_characters_does_not_hang_the_detector():
    blob = "x" * 1_000_000
    assert find_secrets(blob) == []
    assert [hit.kind for hit in find_secrets(blob + '\napi_key = "sk-abcdef123456"')] == ["assignment"]


def _notebook(source: str, text: str, image: str, parameters: dict | None = None) -> bytes:
    import json

    output = {"output_type": "display_data", "metadata": {}, "data": {"text/plain": text, "image/png": image}}
    cell = {"cell_type": "code", "id": "a", "metadata": {}, "execution_count": 1, "source": source,
            "outputs": [output, {"output_type": "stream", "name": "stdout", "text": [text + "\n", "done\n"]}]}
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"papermill": {"parameters": parameters or {}}},
          "cells": [cell]}
    return json.dumps(nb, indent=1).encode()


def test_notebook_snapshot_loses_secrets_in_sources_outputs_and_metadata_but_keeps_images() -> None:
    import json

    image = "iVBORw0KGgo" + AWS  # a binary payload is never rewritten, whatever its bytes look like
    data = _notebook(f'key = "{AWS}"', f"token is {GITHUB}", image, {"db_password": "hunter2"})
    redacted = redact_notebook(data)
    text = redacted.decode()
    assert AWS not in text.replace(image, "") and GITHUB not in text and "hunter2" not in text
    nb = json.loads(redacted)
    assert nb["cells"][0]["outputs"][0]["data"]["image/png"] == image
    assert nb["cells"][0]["source"] == f'key = "{MASK}"'


def test_notebook_without_secrets_is_stored_byte_for_byte() -> None:
    data = _notebook("x = 1", "3f786850e387550fdab836ed7e6dc881de23001b", "iVBORw0KGgo")
    assert redact_notebook(data) is data


def test_code_snapshot_cells_are_redacted() -> None:
    snapshot = {"version": 1, "cells": [{"index": 0, "source": f"k = '{AWS}'", "execution_count": 1}]}
    assert redact_code_snapshot(snapshot)["cells"][0]["source"] == f"k = '{MASK}'"


def test_code_snapshot_errors_are_redacted_too():
    from jupyter_mlops.capture.redact import redact_code_snapshot

    url = "postgresql://admin:" + "Zq8" * 5 + "@db.internal/prod"
    error = {"ename": "OperationalError", "evalue": f"could not connect to {url}"}
    snapshot = {"cells": [{"source": "connect()", "error": dict(error)}], "error": dict(error)}
    cleaned = redact_code_snapshot(snapshot)
    assert "Zq8Zq8" not in str(cleaned)
    assert cleaned["error"]["ename"] == "OperationalError" and "db.internal/prod" in cleaned["error"]["evalue"]
    assert snapshot["error"]["evalue"].endswith(url)  # the input is not changed in place


@pytest.mark.parametrize(("argv", "masked", "indices"), [
    (["t.py", "--password", "hunter2", "--lr", "0.1"], ["t.py", "--password", "***", "--lr", "0.1"], [2]),
    (["t.py", "--api-key=abc123", "--db-password", "x1"], ["t.py", "--api-key=***", "--db-password", "***"], [1, 3]),
    (["t.py", "--token"], ["t.py", "--token"], []),  # a bare flag: nothing to mask
    (["t.py", "--password", "--lr", "1"], ["t.py", "--password", "--lr", "1"], []),
    (["t.py", "--db", "postgresql://me:pw12345@h/x"], ["t.py", "--db", "postgresql://me:***@h/x"], [2]),
    (["t.py", "--tokenizer", "bert", "--max-tokens", "12"], ["t.py", "--tokenizer", "bert", "--max-tokens", "12"], []),
])
def test_redact_argv_masks_secret_options_and_says_where(argv: list[str], masked: list[str],
                                                         indices: list[int]) -> None:
    from jupyter_mlops.capture.redact import redact_argv

    assert redact_argv(argv) == (masked, indices)
