"""docs/events.md's `verify` is the one the code has (issue 12): same signature, same answers."""
from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

from allot.domain import signature

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def documented_verify() -> Any:
    text = DOC.read_text()
    section = text[text.index("### Verifying a delivery"):]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code, "no python snippet under 'Verifying a delivery'"
    snippet = code.group(1)
    definition = snippet[:snippet.index("# In your handler")]  # the usage line needs a request
    namespace: dict[str, Any] = {}
    exec(compile(definition, str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    assert "verify(secret, request.headers[\"Allot-Signature\"], raw_body, now=int(time.time()))" in snippet
    return namespace["verify"]


def test_the_documented_verify_has_the_codes_signature_and_answers() -> None:
    verify = documented_verify()
    documented, actual = inspect.signature(verify).parameters, inspect.signature(signature.verify).parameters
    assert [(p.name, p.default) for p in documented.values()] == [(p.name, p.default) for p in actual.values()]
    body, secret, at = b'{"id": 1}', "whsec-0123456789abcdef", 1_780_000_000
    header = signature.sign(secret, at, body)
    for now, sent, key in [(at, body, secret), (at + 299, body, secret), (at + 301, body, secret),
                           (at, body + b" ", secret), (at, body, "another-secret-0123"), (at - 400, body, secret)]:
        assert verify(key, header, sent, now) == signature.verify(key, header, sent, now)
    assert verify(secret, header, body, at) is True and verify(secret, "t=x,v1=0", body, at) is False
