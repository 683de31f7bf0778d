"""``policy-patch.yaml``: the declarations a policy lacks, as YAML to merge into it.

The patch is a ``categories:`` mapping holding only the categories that get new cookies,
each with a ``cookies:`` list in the policy file's own shape (docs/configuration.md). A
category the policy does not have yet comes with a ``title`` (and ``required: true`` for
``necessary``), so the patch can be merged by appending each list to the category of the
same name, or by adding the category whole.

Each declaration is preceded by a comment with its evidence (phases, pages, how it was
set, what matched it) and ``# REVIEW`` when a person must decide:

- nothing matched it: it is proposed as ``functional``, an optional category, so that the
  middleware holds it back until consent; move it where it belongs;
- the match is unsure (``review``, or a ``heuristic`` one);
- a third-party cookie matched as necessary: never proposed as required (the middleware
  cannot remove it, and only its provider knows whether it is strictly necessary);
- a family collapsed to a glob, a cookie set under several domains or paths, a name the
  policy file cannot hold (commented out).

Values are written by ``yaml.safe_dump``, comments are one line of printable text: a
cookie name or page address cannot break out of its place in the file.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import ValidationError

from ..policy.config import CookieDeclaration
from ..policy.policy import Policy
from ..policy.registry import Glob
from .findings import consent_cookie_names, is_required, phase_words, printable, service_words
from .model import PHASES, CookieEntry, MatchSource, ScanResult

STANDARD_CATEGORIES = ("necessary", "functional", "analytics", "performance", "advertisement")
_CATEGORY_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
# Sources that name a family by its prefix (_ga_ for _ga_XXXXXXXX): their unsure matches
# are the prefix matches, and the family is declared as one glob.
_FAMILY_SOURCES: frozenset[MatchSource] = frozenset({"catalogue", "open-cookie-database"})
# Segments between separators; the first that looks like an id ends a family's stem.
_SEGMENT = re.compile(r"[^_.\-]+")
_COOKIE_PREFIXES = ("__Secure-", "__Host-")
_PAGES_QUOTED = 3
_NAMES_QUOTED = 4
_ITEM_INDENT = " " * 6


@dataclass(slots=True)
class _Proposal:
    """One undeclared cookie entry and the category proposed for it."""

    entry: CookieEntry
    category: str
    reviews: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Declaration:
    """One item of the patch: a name or glob and the entries it covers."""

    name: str
    category: str
    proposals: list[_Proposal]
    reviews: list[str] = field(default_factory=list)


def policy_patch(result: ScanResult, policy: Policy | None) -> str:
    """The YAML text of ``policy-patch.yaml`` for the undeclared cookies of ``result``."""
    own = consent_cookie_names(policy)
    undeclared = [
        entry
        for entry in result.cookies
        if entry.declared is None and not (entry.party == "first" and entry.name in own)
    ]
    proposals = [_propose(entry, policy) for entry in undeclared]
    declared_names = {entry.name for entry in result.cookies if entry.declared is not None}
    declarations = _declarations(proposals, declared_names | own, policy)
    by_category: dict[str, list[list[str]]] = {}
    refused: list[list[str]] = []
    for declaration in sorted(declarations, key=lambda d: d.name):
        lines, valid = _declaration_lines(declaration)
        if valid:
            by_category.setdefault(declaration.category, []).append(lines)
        else:
            refused.append(lines)

    out = _header(result, policy)
    if by_category:
        out.append("categories:")
        for category in _category_order(by_category, policy):
            out += _category_lines(category, policy)
            out += [line for lines in by_category[category] for line in lines]
    else:
        out += [
            "# Nothing to add: the policy declares every cookie the scan saw.",
            "categories: {}",
        ]
    if refused:
        # After the mapping, as comments: a category left with no item would read as
        # "cookies: null", which no merge or policy accepts.
        out.append(_comment("Seen, but the policy file cannot hold these names as they are:"))
        out += [line for lines in refused for line in lines]
    return "\n".join(out) + "\n"


# -- proposing a category ---------------------------------------------------------------------


def _fallback_category(policy: Policy | None) -> str:
    """Where an unknown cookie goes: an optional category, so it waits for consent."""
    if policy is None or "functional" not in policy.required:
        return "functional"
    return policy.optional[0] if policy.optional else "optional"


def _propose(entry: CookieEntry, policy: Policy | None) -> _Proposal:
    match = entry.match
    fallback = _fallback_category(policy)
    if match is None:
        return _Proposal(
            entry,
            fallback,
            [f"unknown: nothing matched it, proposed as {fallback} so that it waits for consent"],
        )
    proposal = _Proposal(entry, match.category)
    if match.review:
        proposal.reviews.append(f"an unsure match ({match.source})")
    if not _CATEGORY_NAME.fullmatch(match.category):
        proposal.category = fallback
        proposal.reviews.append(f"matched as {match.category!r}, not a category name")
    elif entry.party == "third" and is_required(None, match, policy):
        proposal.category = fallback
        proposal.reviews.append(
            f"matched as {match.category}, but a third-party cookie is never proposed as "
            "required: the middleware cannot remove it"
        )
    return proposal


# -- names and families -------------------------------------------------------------------------


def family_stem(name: str) -> str | None:
    """The fixed part of a name that ends in an id (``_ga_ABC123`` → ``_ga_``), or None.

    The stem ends before the first segment (between ``_``, ``.`` and ``-``) that holds a
    digit or is six or more capitals: ``_pk_id.1.1fff`` → ``_pk_id.``, ``wp-settings-1`` →
    ``wp-settings-``. A ``__Secure-`` or ``__Host-`` prefix alone is no stem.
    """
    for segment in _SEGMENT.finditer(name):
        text = segment.group()
        if not (any(char.isdigit() for char in text) or (len(text) >= 6 and text.isupper())):
            continue
        stem = name[: segment.start()]
        bare = stem
        for prefix in _COOKIE_PREFIXES:
            bare = bare.removeprefix(prefix)
        if sum(char.isalpha() for char in bare) >= 2:
            return stem
        return None
    return None


def _declarations(
    proposals: list[_Proposal], taken: set[str] | frozenset[str], policy: Policy | None
) -> list[_Declaration]:
    """Group proposals into declarations: families into a glob, the rest by exact name."""
    stems: dict[str, list[_Proposal]] = {}
    for proposal in proposals:
        stem = family_stem(proposal.entry.name)
        if stem is not None:
            stems.setdefault(stem, []).append(proposal)
    candidates = []
    for stem, members in stems.items():
        names = {member.entry.name for member in members}
        by_prefix = any(
            member.entry.match is not None
            and member.entry.match.source in _FAMILY_SOURCES
            and member.entry.match.review
            for member in members
        )
        if len(names) >= 2 or by_prefix:
            candidates.append(stem + "*")

    assigned: dict[int, str] = {}  # id(proposal) → glob
    for pattern in sorted(candidates, key=lambda text: (len(text), text)):
        glob = Glob.compile(pattern)
        covered = [p for p in proposals if glob.matches(p.entry.name)]
        # A glob must not pull in a declared name, the consent cookie, or an undeclared
        # name proposed for another category (the longest prefix would win it).
        if any(glob.matches(name) for name in taken):
            continue
        if len({p.category for p in covered}) != 1:
            continue
        for proposal in covered:
            assigned.setdefault(id(proposal), pattern)

    groups: dict[str, list[_Proposal]] = {}
    for proposal in proposals:
        groups.setdefault(assigned.get(id(proposal), proposal.entry.name), []).append(proposal)
    return [_declaration(name, members, policy) for name, members in groups.items()]


def _declaration(name: str, members: list[_Proposal], policy: Policy | None) -> _Declaration:
    categories = sorted({member.category for member in members})
    reviews = [review for member in members for review in member.reviews]
    if len(categories) == 1:
        category = categories[0]
    else:
        # The same name under several domains, classified differently: the optional
        # category is the one that cannot let a cookie through without consent.
        optional = [c for c in categories if not _is_required_category(c, policy)]
        category = (optional or categories)[0]
        reviews.append(f"seen as {' and '.join(categories)}; proposed as {category}")
    names = sorted({member.entry.name for member in members})
    if "*" in name and names != [name]:
        quoted = ", ".join(names[:_NAMES_QUOTED])
        more = len(names) - _NAMES_QUOTED
        reviews.append(
            f"a family, declared by its prefix: {quoted}"
            + (f" and {more} more" if more > 0 else "")
        )
    return _Declaration(name, category, members, list(dict.fromkeys(reviews)))


def _is_required_category(category: str, policy: Policy | None) -> bool:
    if policy is not None and category in policy.categories:
        return category in policy.required
    return category == "necessary"


# -- writing ------------------------------------------------------------------------------------


def _comment(text: str) -> str:
    """One line of comment: whitespace collapsed, what YAML cannot hold replaced."""
    return "# " + printable(" ".join(text.split()))


def _scalar(text: str) -> str:
    """``text`` as one YAML scalar, quoted if it needs to be."""
    return yaml.safe_dump(text, allow_unicode=True, width=4096).split("\n", 1)[0]


def _header(result: ScanResult, policy: Policy | None) -> list[str]:
    if policy is None:
        target = (
            "No policy file was given: this holds every cookie the scan saw, a start for "
            "consent.yaml."
        )
    else:
        target = f"The cookies the scan saw that {policy.source} does not declare."
    texts = [
        f"policy-patch.yaml: written by consent scan of {result.site} at {result.scanned_at}.",
        target,
        "Only the categories with new cookies are here: append each category's cookies to",
        "the same category of your file; a category marked new goes in whole (give it a",
        "description). Check every REVIEW before you deploy: declaring a cookie in a",
        "required category lets it through before any choice.",
    ]
    return [_comment(text) for text in texts]


def _category_order(by_category: Collection[str], policy: Policy | None) -> list[str]:
    existing = [name for name in (policy.category_names if policy else ()) if name in by_category]
    standard = [
        name for name in STANDARD_CATEGORIES if name in by_category and name not in existing
    ]
    others = sorted(set(by_category) - set(existing) - set(standard))
    return existing + standard + others


def _category_lines(category: str, policy: Policy | None) -> list[str]:
    key = _scalar(category)
    if policy is not None and category in policy.categories:
        return [f"  {key}:", "    cookies:"]
    lines = [f"  {key}:  # new", f"    title: {_scalar(_title(category))}"]
    if category == "necessary":
        lines.append("    required: true")
    return [*lines, "    cookies:"]


def _title(category: str) -> str:
    return category.replace("_", " ").replace("-", " ").capitalize()


def _declaration_lines(declaration: _Declaration) -> tuple[list[str], bool]:
    """The item's lines under its category, comments first; False when the policy file
    cannot hold it (then every line is a comment, with the reason)."""
    item, reviews = _item(declaration)
    comments = []
    if reviews:
        comments.append(_comment("REVIEW: " + "; ".join(reviews)))
    comments += [_comment(text) for text in _evidence(declaration)]
    body = yaml.safe_dump([item], sort_keys=False, allow_unicode=True, width=4096).splitlines()
    try:
        CookieDeclaration.model_validate(item)
    except ValidationError as error:
        comments.append(_comment(f"cannot be declared: {error.errors()[0]['msg']}"))
        return comments + ["# " + printable(line) for line in body], False
    return [_ITEM_INDENT + line for line in comments + body], True


def _item(declaration: _Declaration) -> tuple[dict[str, Any], list[str]]:
    """The declaration as the policy file holds it, and what else a person must check."""
    reviews = list(declaration.reviews)
    entries = [proposal.entry for proposal in declaration.proposals]
    first = min(entries, key=lambda entry: (not entry.phases, entry.name, entry.domain))
    item: dict[str, Any] = {"name": declaration.name}
    match = first.match
    if match is not None and match.description:
        item["description"] = " ".join(match.description.split())
    if first.phases:
        item["duration"] = duration_words(first.lifetime_s)
    if match is not None and match.provider:
        item["provider"] = match.provider

    first_party = [entry for entry in entries if entry.party == "first"]
    if first_party and len(first_party) == len(entries):
        domains = {entry.domain for entry in first_party if entry.phases}
        if len(domains) > 1:
            reviews.append(f"set for several domains ({', '.join(sorted(domains))})")
        elif domains and (domain := domains.pop()).startswith("."):
            item["domain"] = domain.removeprefix(".")
    paths = {entry.path for entry in entries}
    if len(paths) > 1:
        reviews.append(f"set under several paths ({', '.join(sorted(paths))})")
    elif (path := paths.pop()) != "/":
        item["path"] = path
    if any(entry.partitioned for entry in entries):
        item["partitioned"] = True  # else a withdrawal could not delete it
    return item, reviews


def _evidence(declaration: _Declaration) -> list[str]:
    entries = [proposal.entry for proposal in declaration.proposals]
    phases = {phase for entry in entries for phase in entry.phases}
    pages = sorted({page for entry in entries for page in entry.pages})
    lines = []
    if phases:
        seen = phase_words(phase for phase in PHASES if phase in phases)
        shown = ", ".join(pages[:_PAGES_QUOTED])
        more = len(pages) - _PAGES_QUOTED
        lines.append(f"seen {seen} on {shown}" + (f" and {more} more" if more > 0 else ""))
    else:
        lines.append(f"noted by the middleware on {', '.join(pages[:_PAGES_QUOTED])}")
    set_by = {kind for entry in entries for kind in entry.set_by}
    how = " and ".join(
        word for kind, word in (("http", "Set-Cookie"), ("js", "a script")) if kind in set_by
    )
    domains = ", ".join(sorted({entry.domain for entry in entries}))
    parties = " and ".join(sorted({entry.party for entry in entries}))
    lines.append(f"{'set by ' + how + '; ' if how else ''}domain {domains} ({parties} party)")
    if any(entry.party == "third" for entry in entries):
        lines.append(
            "a third-party cookie: the middleware cannot delete it, the banner can list it; "
            "hold back the script or frame that sets it until consent"
        )
    matches = {_match_text(entry) for entry in entries}
    lines.append("; ".join(sorted(matches)))
    return lines


def _match_text(entry: CookieEntry) -> str:
    match = entry.match
    if match is None:
        return "matched by nothing"
    who = service_words(match)
    return f"{who + ': ' if who else ''}{match.category} per the {match.source}"


def duration_words(seconds: int | None) -> str:
    """A lifetime the way the policy file's ``duration`` says it (``session``, ``400 days``).

    The jar gives what is left of a lifetime when it is read, a little under what was set
    (3599 seconds of an hour): a count within 2% of a whole number of a unit is that.
    """
    if seconds is None:
        return "session"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        count = seconds / size
        if count >= 1.98 or (count >= 0.98 and abs(count - round(count)) <= 0.02 * count):
            whole = round(count)
            return f"{whole} {unit}{'' if whole == 1 else 's'}"
    return f"{seconds} second{'' if seconds == 1 else 's'}"
