"""The rule table behind :mod:`jupyter_mlops.capture.redact`: which names and which value formats are secrets.

Value formats come from two maintained sources, read at first use (ADR-019):

* **detect-secrets** (Yelp): the ``denylist`` patterns of every regex-based plugin (AWS, Azure storage, GitHub,
  GitLab, Slack, Stripe, Twilio, SendGrid, npm, OpenAI, PyPI, JWT, private keys, Discord, Telegram, Mailchimp,
  Square, IBM, SoftLayer, Cloudant, Artifactory...), with the plugin's own validity check where it has one
  (JWT). Its scanning entry points are not used: they build settings, filters and a ``PotentialSecret`` per hit,
  ~100x the cost of running the compiled patterns, and they report the secret, not where it is.
* **A supplement** for formats detect-secrets 1.5 has no plugin for, modelled on the gitleaks rule set (Google,
  Anthropic, newer OpenAI and Stripe test keys, Hugging Face, npm, Databricks, Azure Service Bus and SAS
  signatures, Slack app tokens), plus what a tracker must also mask: passwords in URLs (any user, empty too, with
  ``@`` or ``/`` inside), complete PEM blocks, ``Authorization`` values and Bearer tokens, 40-character AWS
  secret access keys (by shape and entropy, so git SHAs, which are lower-case hex, never match).

Left out on purpose: detect-secrets' entropy plugins (every git SHA and content hash is "high entropy"), its
keyword plugin (replaced by the word-based name rule below, which covers all of its keywords), its public-IP
plugin (an address is not a credential) and its basic-auth pattern (the URL rule covers it and more).

Names (:func:`is_secret_name`) are decided by the **last word** of the name, because that is the noun the name
is about: ``db_password`` and ``client_secret`` are secrets, ``password_strength_model``, ``secret_name`` and
``token_count`` are not, and ``secretary`` is not a word ``secret``. See ADR-019 for the vocabulary.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ["Rule", "is_secret_name", "name_words", "value_rules"]

# -- names ----------------------------------------------------------------------------------------------------
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[\W_]+")

#: A last word that *ends with* one of these is a secret (``dbpassword``, ``clientsecret``, ``authtoken``).
_SECRET_ENDINGS = (
    "password", "passwd", "passphrase", "pwd", "secret", "credential", "credentials", "creds", "apikey",
    "accesskey", "secretkey", "privatekey", "token", "auth", "connstr", "connectionstring", "contrasena",
    "contraseña",
)  # fmt: skip
#: A last word equal to one of these is a secret.
_SECRET_WORDS = frozenset(
    {"pass", "authorization", "bearer", "dsn", "sig", "signature", "cookie", "cookies", "otp", "sas", "pat"}
)
#: (word before, last word) pairs that are secrets: ``api_key``, ``conn_str``, ``database_url``...
_KEY_QUALIFIERS = frozenset(
    {
        "api", "access", "secret", "private", "priv", "encryption", "ssh", "account", "storage", "signing",
        "master", "client", "service", "auth", "db", "database", "subscription", "shared", "sas", "hmac",
        "session", "license", "app", "consumer", "webhook", "deploy", "admin", "root", "crypto", "aes", "pgp",
        "gpg", "jwt", "cookie", "decryption", "sendgrid", "stripe", "openai", "anthropic", "aws", "azure", "gcp",
    }
)  # fmt: skip
_SECRET_PAIRS = frozenset(
    {("conn", "str"), ("conn", "string"), ("connection", "str"), ("connection", "string"),
     ("database", "url"), ("db", "url"), ("webhook", "url"), ("hook", "url"), ("account", "json"),
     ("credentials", "json"), ("key", "json"), ("secret", "json"), ("key", "pass"), ("key", "passphrase")}
)  # fmt: skip
#: Words that say how a value is written, not what it is: ``secret_value`` is about ``secret``.
_NEUTRAL_SUFFIXES = frozenset({"value", "val", "raw", "b64", "base64", "hex", "encoded", "plain", "plaintext"})
#: ``pass`` after these is a pass over data (``first_pass``, ``num_pass``), not a password.
_NOT_PASSWORD_PASS = frozenset(
    {"first", "second", "third", "last", "single", "multi", "one", "two", "double", "num", "n", "each", "per",
     "forward", "backward", "fwd", "bwd", "by", "extra", "final"}
)  # fmt: skip
#: ``<x>_token`` for these x is a vocabulary token of a language model (``pad_token``, ``eos_token``).
_VOCABULARY_TOKENS = frozenset(
    {"pad", "eos", "bos", "unk", "cls", "sep", "mask", "start", "end", "special", "eot", "bot", "stop", "image",
     "audio", "video", "decoder", "additional"}
)  # fmt: skip


def name_words(name: str) -> list[str]:
    """A name split into lower-case words: camelCase, ``-``, ``_``, ``.``, spaces and other punctuation separate.

    Example:
        >>> name_words("model.apiKey"), name_words("DB_PASSWORD")
        (['model', 'api', 'key'], ['db', 'password'])
    """
    return [word for word in _SEPARATORS.split(_CAMEL.sub("_", name).lower()) if word]


def is_secret_name(name: str) -> bool:
    """Whether a param/tag/variable name says its value is a secret (decided by its last word; ADR-019).

    Examples:
        >>> [is_secret_name(n) for n in ("DB_PASSWORD", "apiKey", "conn_str", "webhook_url", "secret_value")]
        [True, True, True, True, True]
        >>> [is_secret_name(n) for n in ("secretary", "password_strength_model", "max_tokens", "pad_token")]
        [False, False, False, False]
    """
    words = name_words(str(name))
    while words:
        if _secret_tail(words):
            return True
        if words[-1] not in _NEUTRAL_SUFFIXES:
            return False
        words = words[:-1]
    return False


def _secret_tail(words: list[str]) -> bool:
    last = words[-1]
    before = words[-2] if len(words) > 1 else ""
    if (before, last) in _SECRET_PAIRS:
        return True
    if last in ("key", "keys"):
        return before in _KEY_QUALIFIERS
    if last.endswith(("key", "pass")):  # written as one word: authkey, privkey, dbpass, keypass
        stem = last[:-3] if last.endswith("key") else last[:-4]
        if stem in _KEY_QUALIFIERS or stem == "key":
            return True
    if last == "id":  # aws_access_key_id: half a credential, and always next to the other half
        return words[-3:] == ["access", "key", "id"]
    if last == "pass":
        return before not in _NOT_PASSWORD_PASS
    if last in _SECRET_WORDS:
        return True
    if last.endswith("token"):
        return before not in _VOCABULARY_TOKENS
    return last.endswith(_SECRET_ENDINGS)


# -- values ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    """One value format.

    Attributes:
        kind: short name reported in hits (``aws_access_key``, ``url_password``...).
        pattern: the compiled pattern.
        group: the group holding the secret (0: the whole match; None: the first group of 8 or more characters
            that matched, else the whole match, which is how detect-secrets' patterns mark their secret).
        hints: literals of which every match contains one (lower-case ones are looked for in the lower-cased text
            when the pattern ignores case); a text with none of them skips the pattern. Empty: always run.
        valid: an extra check of the matched secret (detect-secrets' own, where a plugin has one).
        extend: the secret continues over these characters after the match (a longer key than the pattern's
            minimum must not leave its tail in clear).
    """

    kind: str
    pattern: re.Pattern[str]
    group: int | None = 0
    hints: tuple[str, ...] = ()
    valid: Callable[[str], bool] | None = None
    extend: bool = True


#: detect-secrets plugins left out: a public IP is not a credential; the URL rule here covers every URL password
#: the basic-auth pattern finds, and also an empty user (``redis://:pw@host``) and ``@`` or ``/`` in a password.
_EXCLUDED_PLUGINS = frozenset({"IPPublicDetector", "BasicAuthDetector"})
#: Literals that detect-secrets patterns contain, to skip a pattern quickly; a pattern without one always runs.
_DETECT_SECRETS_HINTS = {
    "AWSKeyDetector": ("aws", "A"),
    "CloudantDetector": ("cloudant",),
    "ArtifactoryDetector": ("AKC", "AP"),
    "AzureStorageKeyDetector": ("AccountKey=",),
    "DiscordBotTokenDetector": (".",),
    "GitHubTokenDetector": ("gh",),
    "GitLabTokenDetector": ("gl", "GR1348941"),
    "JwtTokenDetector": ("eyJ",),
    "MailchimpDetector": ("-us",),
    "NpmDetector": ("_authToken",),
    "OpenAIDetector": ("T3BlbkFJ",),
    "PrivateKeyDetector": ("PRIVATE KEY", "PuTTY"),
    "PypiTokenDetector": ("pypi-",),
    "SendGridDetector": ("SG.",),
    "SlackDetector": ("xox", "hooks.slack.com"),
    "SoftlayerDetector": ("softlayer",),
    "SquareOAuthDetector": ("sq0csp-",),
    "StripeDetector": ("k_live_",),
    "TelegramBotTokenDetector": (":",),
    "TwilioKeyDetector": ("AC", "SK"),
}

#: How detect-secrets' ``build_assignment_regex`` patterns (IBM, Cloudant, SoftLayer keyword rules) begin. They
#: cost ~20x a format rule (a lookbehind at every position, case-insensitive) and find ``name = value`` pairs,
#: which the assignment rule in ``redact`` finds by the name rule.
_KEYWORD_PATTERN_START = "(?:(?<=\\W)|(?<=^))"

_TOKEN = r"[A-Za-z0-9_\-]"
#: (kind, pattern, group, hints): formats detect-secrets 1.5 lacks, after gitleaks' rules for the same services.
_SUPPLEMENT: tuple[tuple[str, str, int, tuple[str, ...]], ...] = (
    ("private_key", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*"
     r"PRIVATE KEY(?: BLOCK)?-----|[\s\S]*)", 0, ("PRIVATE KEY",)),
    ("github_token", r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})", 0,
     ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")),
    ("google_api_key", rf"(?<![A-Za-z0-9])AIza{_TOKEN}{{35}}", 0, ("AIza",)),
    ("google_oauth_secret", rf"GOCSPX-{_TOKEN}{{24,}}", 0, ("GOCSPX-",)),
    ("google_oauth_token", rf"(?<![A-Za-z0-9])ya29\.{_TOKEN}{{20,}}", 0, ("ya29.",)),
    ("stripe_key", r"(?<![A-Za-z0-9])(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}", 0, ("k_live_", "k_test_")),
    ("stripe_webhook_secret", r"(?<![A-Za-z0-9])whsec_[0-9A-Za-z]{24,}", 0, ("whsec_",)),
    ("anthropic_key", rf"(?<![A-Za-z0-9])sk-ant-[a-z]+[0-9]*-{_TOKEN}{{32,}}", 0, ("sk-ant-",)),
    ("openai_key", rf"(?<![A-Za-z0-9])sk-(?:proj|svcacct|admin|None)-{_TOKEN}{{20,}}", 0, ("sk-",)),
    ("openai_key", r"(?<![A-Za-z0-9_-])sk-[A-Za-z0-9]{32,}(?![A-Za-z0-9_-])", 0, ("sk-",)),
    ("huggingface_token", r"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{30,}", 0, ("hf_",)),
    ("npm_token", r"(?<![A-Za-z0-9])npm_[A-Za-z0-9]{36}", 0, ("npm_",)),
    ("databricks_token", r"(?<![A-Za-z0-9])dapi[a-f0-9]{32}(?:-\d)?", 0, ("dapi",)),
    ("azure_connection_string", r"(?:AccountKey|SharedAccessKey)=([A-Za-z0-9+/%=]{16,})", 1, ("Key=",)),
    ("signature", r"(?<![A-Za-z0-9_])(?:sig|signature|Signature|X-Amz-Signature|X-Goog-Signature)="
     r"([A-Za-z0-9%+/=_\-]{16,})", 1, ("sig=", "ignature=")),
    ("slack_token", r"(?<![A-Za-z0-9])xox[abeoprs]-[A-Za-z0-9-]{10,}", 0, ("xox",)),
    ("slack_app_token", r"(?<![A-Za-z0-9])xapp-\d+-[A-Za-z0-9-]{10,}", 0, ("xapp-",)),
    ("sendgrid_key", rf"(?<![A-Za-z0-9])SG\.{_TOKEN}{{16,}}\.{_TOKEN}{{16,}}", 0, ("SG.",)),
    ("bearer_token", r"(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{16,}=*)", 1, ("bearer",)),
    ("authorization", r"(?i)\b(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?(?:(?:basic|bearer|token|digest)\s+)?"
     r"([^\s\"',;]{8,})", 1, ("authorization",)),
    ("url_password", r"(?<=[A-Za-z0-9+.\-])://[^\s:/@'\"<>]*:(?!\d+(?:[/\s'\"]|$))([^\s'\"<>]+?)@"
     r"[^\s@/'\"<>?#]+(?=[/\s'\"<>?#]|$)", 1, ("://",)),
    ("jwt", r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", 0, ("eyJ",)),
)  # fmt: skip

#: A 40-character AWS secret access key: base64 alphabet, mixed case and a digit, random-looking.
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
#: Shannon entropy (bits per character) a 40-character string needs to count as random: detect-secrets' default
#: limit for base64 strings. Random keys measure 4.8-5.1; long camelCase words stay under 4.2.
_AWS_SECRET_ENTROPY = 4.5

_lock = threading.Lock()
_rules: list[Rule] | None = None


def value_rules() -> list[Rule]:
    """Every value rule, built once per process (importing detect-secrets costs ~0.1 s, so it is done lazily)."""
    global _rules  # the lazily built table, not configuration
    if _rules is None:
        with _lock:
            if _rules is None:
                _rules = [*_supplement_rules(), *_detect_secrets_rules(), _aws_secret_rule()]
    return _rules


def _supplement_rules() -> list[Rule]:
    return [Rule(kind, re.compile(pattern), group, hints) for kind, pattern, group, hints in _SUPPLEMENT]


def _detect_secrets_rules() -> list[Rule]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.plugins.base import RegexBasedDetector

    rules: list[Rule] = []
    plugins: dict[str, type] = get_mapping_from_secret_type_to_class()
    for secret_type, plugin in sorted(plugins.items()):
        if not issubclass(plugin, RegexBasedDetector) or plugin.__name__ in _EXCLUDED_PLUGINS:
            continue
        kind = re.sub(r"[^a-z0-9]+", "_", secret_type.lower()).strip("_")
        check = getattr(plugin, "is_formally_valid", None)
        # `denylist` is a class attribute (the compiled patterns): no plugin instance, settings or filters needed.
        patterns: Iterable[re.Pattern[str]] = getattr(plugin, "denylist", ())
        for pattern in patterns:
            if pattern.pattern.startswith(_KEYWORD_PATTERN_START):
                continue  # a ``<service>_key = "..."`` rule: the name rule and assignment rule cover it
            hints = _pattern_hints(pattern, _DETECT_SECRETS_HINTS.get(plugin.__name__, ()))
            rules.append(Rule(kind, pattern, None, hints, check if callable(check) else None))
    return rules


def _pattern_hints(pattern: re.Pattern[str], candidates: tuple[str, ...]) -> tuple[str, ...]:
    # The first candidate literal the pattern contains; none (a newer detect-secrets changed the pattern): no hint,
    # and the pattern runs on every text.
    source = pattern.pattern.replace("\\", "")
    ignore_case = bool(pattern.flags & re.IGNORECASE)
    for literal in candidates:
        if (literal.lower() in source.lower()) if ignore_case else (literal in source):
            return (literal.lower() if ignore_case else literal,)
    return ()


def _aws_secret_rule() -> Rule:
    return Rule("aws_secret_access_key", _AWS_SECRET, 0, (), _looks_random_base64, extend=False)


def _looks_random_base64(text: str) -> bool:
    if not (re.search(r"[a-z]", text) and re.search(r"[A-Z]", text) and re.search(r"[0-9]", text)):
        return False
    counts = {char: text.count(char) for char in set(text)}
    entropy = -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())
    return entropy >= _AWS_SECRET_ENTROPY
