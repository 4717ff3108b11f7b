r"""Write guardrails: what every memory passes through before it is embedded and stored.

Why a pipeline of small steps: stored text outlives the conversation it came from and is
shown to a model again later, so a secret pasted once would be recalled forever and a
prompt injection would be replayed into every future prompt. Each step sees a
:class:`Draft` (the content as it will be stored, plus what was done to it), returns a new
one or raises :class:`~strands_vector_memory.core.GuardrailError` to refuse the write.

The default pipeline, in order:

1. :class:`Redact` replaces API keys, card numbers, e-mail addresses and phone numbers
   with ``[REDACTED:<kind>]``. It runs first so that no later step (nor its error message,
   nor a custom step after it) ever sees a secret.
2. :class:`FlagInstructions` marks text that reads like instructions to a model
   (``"ignore previous instructions"``, ``"<|im_start|>"``, ``"</memories>"``, ...).
   Flagging only by default: people do talk about prompts; ``reject=True`` refuses instead.
3. :class:`MaxSize` runs last so it measures exactly the bytes that will be stored
   (a redaction placeholder may be longer or shorter than what it replaced).

The detectors are tuned for precision: they run on every memory, including ordinary
conversation full of dates, times, prices, years and version numbers, none of which may
be redacted. Card numbers must pass the Luhn check; phone numbers need a phone shape
(a ``+`` country code, a ``(area)`` code, a North American 3-3-4 grouping or a national
trunk ``0``) and 9-15 digits.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Final, Protocol, runtime_checkable

from ..core import GuardrailError, ValidationError

__all__ = ["Draft", "FlagInstructions", "Guardrail", "Guardrails", "MaxSize", "Redact"]

DEFAULT_MAX_BYTES: Final = 16 * 1024
INSTRUCTION_FLAG: Final = "instruction"


@dataclass(frozen=True, slots=True)
class Draft:
    """What a memory will be stored as, as the pipeline passes it along.

    Attributes:
        content: The text to store, after the steps so far.
        redactions: One kind name per redaction, in order (``("email", "email", "phone")``).
        flags: What steps noticed but let through (``("instruction",)``).
    """

    content: str
    redactions: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()


@runtime_checkable
class Guardrail(Protocol):
    """One pipeline step: return a new :class:`Draft`, or raise ``GuardrailError`` to refuse."""

    name: str

    def __call__(self, draft: Draft) -> Draft:
        """Check or rewrite ``draft``."""
        ...


# --- MaxSize ---------------------------------------------------------------------------


class MaxSize:
    """Refuse content over ``max_bytes`` UTF-8 bytes.

    A memory is a fact, not a document: past a few kilobytes recall gets worse (one
    vector for many topics) and the S3 Vectors metadata budget (40 KB) runs out.
    """

    name: str = "max_size"

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
            raise ValidationError(
                f"max_bytes must be a positive integer, got {max_bytes!r}", field="max_bytes", limit=">= 1"
            )
        self.max_bytes = max_bytes

    def __call__(self, draft: Draft) -> Draft:
        """Pass ``draft`` through unchanged if it fits; raise ``GuardrailError`` if not."""
        # surrogatepass: measuring must never fail; the input check reports lone surrogates.
        size = len(draft.content.encode("utf-8", "surrogatepass"))
        if size > self.max_bytes:
            raise GuardrailError(
                f"content is {size} bytes: at most {self.max_bytes}; split it into several memories "
                "or summarise it first",
                guardrail=self.name,
                limit=f"<= {self.max_bytes} bytes",
            )
        return draft

    def __repr__(self) -> str:
        return f"MaxSize(max_bytes={self.max_bytes})"


# --- Redact ----------------------------------------------------------------------------

# A finished redaction. Matches that touch one are ignored, so redacting is idempotent.
_PLACEHOLDER: Final = re.compile(r"\[REDACTED:[A-Za-z][A-Za-z0-9_-]*\]")
_KIND_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")

_Check = Callable[[re.Match[str]], bool]


@dataclass(frozen=True, slots=True)
class _Detector:
    """A pattern and an optional check that each match must pass.

    The group named ``secret``, when the pattern has one and it took part in the match, is
    what gets replaced (``password=<secret>`` keeps its label); otherwise the whole match.
    """

    pattern: re.Pattern[str]
    check: _Check | None = None


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_check(match: re.Match[str]) -> bool:
    text = match.group()
    groups = text.replace("-", " ").split(" ")
    digits = "".join(groups)
    # Issuers' major industry identifiers 2-6 (Mastercard 2-series, Amex/Diners/JCB, Visa,
    # Mastercard, Discover/UnionPay/Maestro): an order number starting 1, 7, 8, 9 or 0 is not a card.
    if not 13 <= len(digits) <= 19 or digits[0] not in "23456" or not _luhn(digits):
        return False
    if len(groups) == 1:
        return True
    # Printed cards group digits 4-4-4-4, 4-6-5, 4-4-4-4-3: one separator kind, groups of 3-6.
    return not ("-" in text and " " in text) and all(3 <= len(g) <= 6 for g in groups)


# Day month year, or year month day, inside something phone-shaped: 07 05 2023 1030 is a date and a time.
_DATE_GROUPS: Final = re.compile(
    r"(?<![0-9])(?:[0-9]{1,2}[ -][0-9]{1,2}[ -](?:19|20)[0-9]{2}"
    r"|(?:19|20)[0-9]{2}[ -][0-9]{1,2}[ -][0-9]{1,2})(?![0-9])"
)


def _phone_check(match: re.Match[str]) -> bool:
    text = match.group()
    digits = sum(ch.isdigit() for ch in text)
    return 9 <= digits <= 15 and not (text[0] != "+" and _DATE_GROUPS.search(text))


# Numbers are bounded by these on either side: not glued to a word, a decimal point, a
# thousands comma, a currency sign or another number.
_NUM_BEFORE: Final = r"(?<![A-Za-z0-9_+.,$€£¥#%/-])"
_NUM_AFTER: Final = r"(?![A-Za-z0-9_]|[.,/:-][0-9])"

_PHONE: Final = re.compile(
    _NUM_BEFORE
    + r"""
    (?:
        # International: +CC then separated groups, or E.164 written solid (+14155550132).
        \+(?:
            [1-9][0-9]{7,14}
          | [1-9][0-9]{0,2}
            (?:[ .-]?\(0\)[ ]?[0-9]{1,5} | [ .-]?\([0-9]{1,5}\) | [ .-][0-9]{1,10})
            (?:[ .-][0-9]{1,10}){0,5}
        )
        # North American 3-3-4 with an optional leading 1: (415) 555-0132, 415.555.0132, 1-800-555-0199.
      | (?:1[ .-]?)?
        (?:\([2-9][0-9]{2}\)[ ]?[2-9][0-9]{2}[ .-] | [2-9][0-9]{2}(?P<nanp>[ .-])[2-9][0-9]{2}(?P=nanp))
        [0-9]{4}
        # National with a trunk 0 and one kind of separator: 020 7946 0958, (020) 7946 0958, 07700 900123.
        # Never 00 (an international prefix) and never right after a number: 1 050 000 000 is a count.
      | (?<![0-9][ .-])
        (?:\(0[1-9][0-9]{0,3}\)[ ]?[0-9]{2,8}(?:[ -][0-9]{2,8}){0,3}
         | 0[1-9][0-9]{0,3}(?P<trunk>[ -])[0-9]{2,8}(?:(?P=trunk)[0-9]{2,8}){0,3})
    )
    """
    + _NUM_AFTER,
    re.VERBOSE,
)

_CARD: Final = re.compile(
    r"(?<![A-Za-z0-9_+.,$€£¥#%/])(?<![0-9][ -])[0-9](?:[ -]?[0-9]){12,18}(?![0-9A-Za-z_]|[ .,/:-][0-9])"
)

_EMAIL: Final = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?![A-Za-z0-9_-])"
)

_TOKEN_START: Final = r"(?<![A-Za-z0-9_-])"
_TOKEN_END: Final = r"(?![A-Za-z0-9_-])"
# Names like OPENAI_API_KEY, db-password, client_secret, GITHUB_TOKEN, secret_access_key.
_SECRET_LABEL: Final = (
    r"(?<![A-Za-z0-9_-])(?:[A-Za-z0-9]+[_-])*"
    r"(?:api[_-]?key|apikey|secret|token|password|passwd|pwd|passphrase)"
    r"(?:[_-](?:access[_-])?key)?"
)
_INERT_VALUES: Final = frozenset({"true", "false", "null", "none", "nil", "undefined", "empty", "required", "optional"})


def _assignment_check(match: re.Match[str]) -> bool:
    """``password=...`` is a secret; ``My secret: patience`` is not.

    An ``=`` (config, env files, code) or a quoted value is an assignment; after a bare ``:``
    (which prose uses too) the value must also hold a digit or a symbol, as passwords and
    tokens do and words do not.
    """
    value = match.group("secret")
    if value.lower() in _INERT_VALUES:
        return False
    if "=" in match.group("sep") or match.group("quote"):
        return len(value) >= 4
    return len(value) >= 6 and not value.isalpha()


_API_KEYS: Final = (
    # AWS access key ids.
    _Detector(re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])")),
    # AWS secret access keys: 40 base64 characters, recognisable only by their label.
    _Detector(
        re.compile(
            r"(?i:aws[_-]?secret[_-]?(?:access[_-]?)?key|secret[_-]?access[_-]?key)[\"']?\s*[:=]\s*[\"']?"
            r"(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
        )
    ),
    # OpenAI and Anthropic (sk-, sk-proj-, sk-ant-api03-...): real keys always hold a digit.
    _Detector(re.compile(_TOKEN_START + r"sk-(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{20,}" + _TOKEN_END)),
    # GitHub tokens.
    _Detector(re.compile(_TOKEN_START + r"(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})" + _TOKEN_END)),
    # Slack.
    _Detector(re.compile(_TOKEN_START + r"xox[baprs]-[A-Za-z0-9-]{10,}" + _TOKEN_END)),
    # Google API keys.
    _Detector(re.compile(_TOKEN_START + r"AIza[0-9A-Za-z_-]{35}" + _TOKEN_END)),
    # Stripe secret, restricted and publishable keys.
    _Detector(re.compile(_TOKEN_START + r"(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{16,}" + _TOKEN_END)),
    # JSON Web Tokens: a JSON header and a JSON claims set, base64url, then the signature.
    _Detector(re.compile(_TOKEN_START + r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*" + _TOKEN_END)),
    # PEM private keys; a block cut off before its END line is redacted to the end of the text.
    _Detector(
        re.compile(
            r"-----BEGIN[A-Z0-9 ]{0,40} PRIVATE KEY(?: BLOCK)?-----.*?"
            r"(?:-----END[A-Z0-9 ]{0,40} PRIVATE KEY(?: BLOCK)?-----|\Z)",
            re.DOTALL,
        )
    ),
    # HTTP bearer tokens.
    _Detector(
        re.compile(r"(?i:\bbearer)\s+(?P<secret>(?=[A-Za-z0-9._~+/-]*[0-9])[A-Za-z0-9._~+/-]{20,}=*)" + _TOKEN_END)
    ),
    # Generic assignments: api_key=..., "password": "...", token: ... (the value only).
    _Detector(
        re.compile(
            r"(?i:" + _SECRET_LABEL + r")[\"']?[ \t]*(?P<sep>:=|=>|[:=])[ \t]*(?P<quote>[\"'`])?"
            # Quoted: up to the closing quote (or the line's end). Bare: one word, no trailing punctuation.
            r"(?P<secret>(?(quote)(?!\[REDACTED:)[^\n]+?(?=(?P=quote)|\n|\Z)"
            r"|[^\s\"'`,;<>()\[\]{}]*[^\s\"'`,;<>()\[\]{}.!?:]))"
        ),
        _assignment_check,
    ),
)

_BUILTIN: Final[Mapping[str, tuple[_Detector, ...]]] = {
    # The order is the priority when two kinds claim overlapping text.
    "api_key": _API_KEYS,
    "credit_card": (_Detector(_CARD, _card_check),),
    "email": (_Detector(_EMAIL),),
    "phone": (_Detector(_PHONE, _phone_check),),
}


class Redact:
    r"""Replace secrets and personal data with ``[REDACTED:<kind>]``, recording each kind.

    Built-in kinds: ``api_key`` (well-known key formats, PEM private keys, JWTs and
    ``password=...``-style assignments), ``credit_card`` (Luhn-valid card numbers),
    ``email`` and ``phone``. Text outside a match is kept exactly.

    Args:
        kinds: The built-in kinds to look for, in priority order (when two claim the same
            text the earlier wins). Defaults to all of them.
        extra_patterns: Your own kinds, ``{"employee_id": r"\bEMP-\d{6}\b"}``; they rank
            after the built-in ones. A group named ``secret`` limits the redaction to that group.

    Raises:
        ValidationError: An unknown kind, a kind named twice or badly, or an invalid pattern.
    """

    name: str = "redact"
    DEFAULT_KINDS: ClassVar[tuple[str, ...]] = tuple(_BUILTIN)

    def __init__(
        self,
        kinds: Iterable[str] = DEFAULT_KINDS,
        extra_patterns: Mapping[str, str | re.Pattern[str]] | None = None,
    ) -> None:
        if isinstance(kinds, str):
            raise TypeError(f"kinds must be a sequence of kind names, e.g. ({kinds!r},), not a string")
        chosen: dict[str, tuple[_Detector, ...]] = {}
        for kind in kinds:
            if kind not in _BUILTIN:
                raise ValidationError(
                    f"unknown redaction kind {kind!r}; choose from {', '.join(_BUILTIN)} "
                    "or add your own with extra_patterns",
                    field="kinds",
                    limit=", ".join(_BUILTIN),
                )
            chosen[kind] = _BUILTIN[kind]
        for kind, pattern in (extra_patterns or {}).items():
            chosen[_check_kind_name(kind, chosen)] = (_Detector(_compile(kind, pattern)),)
        self._detectors = chosen

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds this step redacts, in priority order."""
        return tuple(self._detectors)

    def __call__(self, draft: Draft) -> Draft:
        """Return ``draft`` with every match replaced and one entry per match in ``redactions``."""
        content, found = draft.content, list[str]()
        while True:
            # A replacement can change what its neighbours look like, so scan again until
            # nothing new turns up; this is what makes redacting twice a no-op.
            spans = self._spans(content)
            if not spans:
                break
            parts, last = [], 0
            for start, end, kind in spans:
                parts += [content[last:start], f"[REDACTED:{kind}]"]
                found.append(kind)
                last = end
            content = "".join([*parts, content[last:]])
        if not found:
            return draft
        return dataclasses.replace(draft, content=content, redactions=draft.redactions + tuple(found))

    def _spans(self, text: str) -> list[tuple[int, int, str]]:
        """Non-overlapping ``(start, end, kind)`` to replace, in text order."""
        # What is already claimed, as sorted non-overlapping (starts, ends): placeholders first.
        starts: list[int] = []
        ends: list[int] = []
        for placeholder in _PLACEHOLDER.finditer(text):
            starts.append(placeholder.start())
            ends.append(placeholder.end())
        spans: list[tuple[int, int, str]] = []
        for kind, detectors in self._detectors.items():
            candidates = []
            for detector in detectors:
                for match in detector.pattern.finditer(text):
                    if detector.check is not None and not detector.check(match):
                        continue
                    group = "secret" if "secret" in match.re.groupindex and match.group("secret") is not None else 0
                    start, end = match.span(group)
                    if end > start:
                        candidates.append((start, end))
            # Earliest first, longest first among equals: one key found by two patterns counts once.
            for start, end in sorted(candidates, key=lambda span: (span[0], -span[1])):
                i = bisect.bisect_right(starts, start)
                if (i == 0 or ends[i - 1] <= start) and (i == len(starts) or starts[i] >= end):
                    starts.insert(i, start)
                    ends.insert(i, end)
                    spans.append((start, end, kind))
        return sorted(spans)

    def __repr__(self) -> str:
        return f"Redact(kinds={self.kinds!r})"


def _check_kind_name(kind: object, chosen: Mapping[str, object]) -> str:
    if not isinstance(kind, str) or not _KIND_NAME.fullmatch(kind):
        raise ValidationError(
            f"redaction kind {kind!r} must be a name: a letter, then letters, digits, '_' or '-'",
            field="extra_patterns",
            limit="1-64 characters of A-Z, a-z, 0-9, '_', '-', starting with a letter",
        )
    if kind in chosen:
        raise ValidationError(f"redaction kind {kind!r} is named twice", field="extra_patterns")
    return kind


def _compile(kind: str, pattern: object) -> re.Pattern[str]:
    if isinstance(pattern, re.Pattern):
        if not isinstance(pattern.pattern, str):
            raise ValidationError(f"pattern for {kind!r} must match text, not bytes", field=f"extra_patterns.{kind}")
        return pattern
    if not isinstance(pattern, str) or not pattern:
        raise ValidationError(
            f"pattern for {kind!r} must be a non-empty regular expression, got {pattern!r}",
            field=f"extra_patterns.{kind}",
        )
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValidationError(
            f"pattern for {kind!r} is not a valid regular expression: {exc}", field=f"extra_patterns.{kind}"
        ) from exc


# --- FlagInstructions ------------------------------------------------------------------

_INSTRUCTIONS: Final = re.compile(
    r"""
    # "Ignore all previous instructions", "disregard the above rules", "forget your prior prompts".
    \b(?:ignore|disregard|forget|override|bypass)\s+(?:(?:all|any|the|of|everything|these|those|your|my)\s+){0,3}
      (?:previous|prior|above|preceding|earlier|foregoing|original|initial|system|developer)\s+
      (?:instructions?|prompts?|rules|guidelines|directives|directions|messages|context|commands|programming)\b
    # "Ignore your instructions", "disregard all your guidelines".
  | \b(?:ignore|disregard|forget|override|bypass)\s+(?:(?:all|any|of)\s+){0,2}your\s+
      (?:instructions|programming|guidelines|rules|directives|training|system\s+prompt)\b
    # "Disregard the above", "ignore all of the above".
  | \b(?:ignore|disregard)\s+(?:(?:all|everything)\s+)?(?:(?:of\s+)?the\s+)?(?:above|foregoing)\b
    # Role play that replaces the assistant: "you are now DAN", "you are now in developer mode".
  | \byou\s+are\s+now\s+(?:
        (?:an?\s+)?(?:DAN|jailbroken|unrestricted|unfiltered|uncensored|no\s+longer\s+bound)\b
      | in\s+(?:developer|god|admin|debug|jailbreak|unrestricted|DAN)\s+mode\b
      | (?:an?\s+)?(?:different|new|evil|rogue)\s+(?:AI|assistant|chatbot|persona)\b)
  | \bfrom\s+now\s+on,?\s+you\s+(?:will|must|shall|should|are\s+to)\s+
      (?:act|respond|answer|reply|pretend|behave|ignore|disregard|obey)\b
    # "New instructions:", "Updated system instructions:".
  | \b(?:new|updated|revised|real|actual|additional|secret)\s+(?:system\s+)?instructions?\s*:
  | \b(?:system|developer)\s+prompt\b
    # Role markers at the start of a line, as chat transcripts and templates write them.
  | (?:^|\n)[ \t>*#_-]*(?:system|assistant|developer)[*_]*[ \t]*:
  | (?:^|\n)[ \t]*\#{2,}[ \t]*(?:instruction|system|response)[ \t]*(?::|$|\n)
    # Chat-template special tokens: <|im_start|>, <|eot_id|>, [INST], <<SYS>> (full-width bars folded by NFKC).
  | <\|[^<>\n]{1,40}\|>
  | \[/?INST\]
  | <</?SYS>>
    # Tags that fence a prompt: our own <memories> block, <system>, <instructions>.
  | <\s*/?\s*(?:memories|system|system_prompt|instructions?)\b[^<>\n]*>
    """,
    re.IGNORECASE | re.VERBOSE,
)
# Characters that render as nothing (soft hyphen, zero-width spaces and joiners, bidi
# controls, the BOM) are dropped before matching, so "ig\u200bnore previous instructions"
# is still seen; Unicode tag characters (U+E0020-E007E), which some models read as the
# ASCII they shadow, are read as that ASCII. NFKC then folds full-width look-alikes.
_UNSEEN: Final[dict[int, int | None]] = {
    **dict.fromkeys([0xAD, 0x180E, *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2070), 0xFEFF]),
    **{0xE0000 + c: c for c in range(0x20, 0x7F)},
    **dict.fromkeys([0xE0001, 0xE007F]),
}


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text.translate(_UNSEEN))


class FlagInstructions:
    """Notice text that reads like instructions to a model (a prompt injection).

    A memory is shown to a model again in later conversations, so text such as
    ``"ignore previous instructions"`` or a forged ``</memories>`` tag is a way to reach
    into prompts that are not yours. The recall block already fences memories and tells
    the model they are data; this step records the suspicion on the memory itself
    (``flags=("instruction",)``), or refuses to store it.

    Args:
        reject: Raise ``GuardrailError`` instead of flagging. Off by default because people
            legitimately talk about prompts, and a flag loses nothing.
    """

    name: str = "instructions"

    def __init__(self, *, reject: bool = False) -> None:
        self.reject = reject

    def __call__(self, draft: Draft) -> Draft:
        """Return ``draft`` flagged ``"instruction"`` if it reads like one (or raise, if rejecting)."""
        match = _INSTRUCTIONS.search(_normalise(draft.content))
        if match is None:
            return draft
        if self.reject:
            excerpt = " ".join(match.group().split())
            raise GuardrailError(
                f"content reads like instructions to a model ({excerpt[:60]!r}); memories are data that later "
                "prompts will see, so state what happened instead of what to do (or flag it rather than "
                "reject it with FlagInstructions(reject=False))",
                guardrail=self.name,
                limit="no instruction-like text",
            )
        if INSTRUCTION_FLAG in draft.flags:
            return draft
        return dataclasses.replace(draft, flags=(*draft.flags, INSTRUCTION_FLAG))

    def __repr__(self) -> str:
        return f"FlagInstructions(reject={self.reject})"


# --- the pipeline ----------------------------------------------------------------------


class Guardrails:
    """An ordered pipeline of :class:`Guardrail` steps, run on every memory before it is stored.

    Args:
        steps: The steps, run in this order; each sees the previous one's draft.

    Raises:
        TypeError: A step is not a ``Guardrail`` (a callable with a ``name``).
    """

    def __init__(self, steps: Sequence[Guardrail]) -> None:
        steps = tuple(steps)
        for step in steps:
            if not isinstance(step, Guardrail) or not isinstance(step.name, str) or not callable(step):
                raise TypeError(
                    f"{step!r} is not a Guardrail: a step needs a 'name' string and takes a Draft to a Draft"
                )
        self._steps = steps

    @classmethod
    def default(
        cls,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        redact: Sequence[str] | None = None,
        reject_instructions: bool = False,
    ) -> Guardrails:
        """Redact, then flag instructions, then check the size (see the module docstring for why).

        Args:
            max_bytes: The largest content, in UTF-8 bytes, after redaction.
            redact: The kinds to redact; ``None`` for all built-in kinds, ``()`` for none
                (the step is then left out).
            reject_instructions: Refuse instruction-like text instead of flagging it.
        """
        redaction = Redact() if redact is None else Redact(redact)
        steps: list[Guardrail] = [redaction] if redaction.kinds else []
        return cls([*steps, FlagInstructions(reject=reject_instructions), MaxSize(max_bytes)])

    @classmethod
    def none(cls) -> Guardrails:
        """An empty pipeline: content is stored exactly as given."""
        return cls(())

    @property
    def steps(self) -> tuple[Guardrail, ...]:
        """The steps, in the order they run."""
        return self._steps

    def apply(self, content: str) -> Draft:
        """Run every step on ``content``.

        Raises:
            GuardrailError: A step refused the content; ``.guardrail`` names it.
            TypeError: ``content`` is not text, or a step returned something other than a Draft.
        """
        if not isinstance(content, str):
            raise TypeError(f"content must be text, got {type(content).__name__}")
        draft = Draft(content)
        for step in self._steps:
            try:
                draft = step(draft)
            except GuardrailError as error:
                error.guardrail = error.guardrail or step.name  # so a custom step need not name itself
                raise
            if not isinstance(draft, Draft):
                raise TypeError(f"guardrail {step.name!r} returned {type(draft).__name__}, not a Draft")
        return draft

    def __repr__(self) -> str:
        return f"Guardrails([{', '.join(map(repr, self._steps))}])"
