"""Text for CI reports: GitHub workflow-command escaping and XML-safe strings. Standard library only.

Every report that prints ``::error``/``::notice`` annotations or writes JUnit XML (nb-smoke, lint, the gate,
``data check``, ``models check``, ``ci``) escapes the same way, so it is written once, at the bottom layer, where
both ``notebooks/`` and ``render/`` can reach it.
"""

from __future__ import annotations

import re

__all__ = ["github_data", "github_property", "xml_safe"]

_XML_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def github_data(text: str) -> str:
    """A workflow command's message: ``%``, CR and LF escaped (GitHub would end the command at a newline)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_property(text: str) -> str:
    """A workflow command's property value (``file=``, ``title=``): also ``:`` and ``,``, which delimit them."""
    return github_data(text).replace(":", "%3A").replace(",", "%2C")


def xml_safe(text: str) -> str:
    """``text`` with the control characters XML 1.0 forbids replaced by ``?`` (tab, CR and LF are kept)."""
    return _XML_FORBIDDEN.sub("?", text)
