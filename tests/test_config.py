"""Schema-level checks of the policy file: every refusal names the file, the key and the line."""

from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Annotated, Union, get_args, get_origin

import pytest
from pydantic import BaseModel, ValidationError

from consent import ConfigError, load_policy, policy_from_string
from consent.policy.config import PolicyConfig
from consent.policy.yamlsource import MAX_DEPTH, document_location, parse_yaml

EXAMPLE = Path("examples/consent.yaml")

VALID = """\
categories:
  necessary:
    title: Necessary
    required: true
    cookies:
      - name: sid
"""

# One cookie whose name (line 6), path (line 7) and domain (line 8) are filled in.
COOKIE = """\
categories:
  necessary:
    title: Necessary
    required: true
    cookies:
      - name: {name}
        path: {path}
        domain: {domain}
"""

# The consent cookie's settings: name on line 2, max_age_days on line 3, secure on line 4.
SETTINGS = """\
cookie:
  name: {name}
  max_age_days: {days}
  secure: {secure}
categories:
  necessary:
    title: Necessary
"""


def q(value: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML, escapes included)."""
    return json.dumps(value)


def cookie(name: str = "sid", path: str = "/", domain: str = "null") -> str:
    return COOKIE.format(name=name, path=path, domain=domain)


def settings(name: str = "consent", days: str = "180", secure: str = "auto") -> str:
    return SETTINGS.format(name=name, days=days, secure=secure)


def refused(tmp_path: Path, text: str, *, key: str | None, line: int | None) -> ConfigError:
    """Load ``text`` from a file and return the ConfigError, checking where it points."""
    path = tmp_path / "consent.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_policy(path)
    error = info.value
    assert isinstance(error, ValueError)
    assert (error.file, error.key, error.line) == (str(path), key, line)
    message = str(error)
    assert message.startswith(f"{path}:{line}: " if line is not None else f"{path}: ")
    if key is not None:
        assert f": {key}: " in message
    return error


# -- what must load ---------------------------------------------------------


def test_example_file_loads_with_its_categories_in_order() -> None:
    policy = load_policy(EXAMPLE)
    assert policy.category_names == (
        "necessary",
        "functional",
        "analytics",
        "performance",
        "advertisement",
    )
    assert policy.required == frozenset({"necessary"})


def test_defaults_of_every_optional_key() -> None:
    config = policy_from_string(VALID).config
    assert (config.revision, config.endpoint, config.undeclared, config.gpc) == (
        1,
        "/consent",
        "block",
        True,
    )
    assert config.trusted_origins == ()
    assert (config.cookie.name, config.cookie.max_age_days) == ("consent", 180)
    assert (config.cookie.secure, config.cookie.domain) == ("auto", None)
    declaration = config.categories["necessary"].cookies[0]
    assert (declaration.path, declaration.domain, declaration.partitioned) == ("/", None, False)


def test_values_are_normalised() -> None:
    text = (
        "endpoint: /privacy/consent/\n"
        "trusted_origins: ['HTTPS://Shop.Example:8443/']\n"
        + cookie(name="_ga_*", domain="Example.COM")
    )
    config = policy_from_string(text).config
    assert config.endpoint == "/privacy/consent"
    assert config.trusted_origins == ("https://shop.example:8443",)
    declaration = config.categories["necessary"].cookies[0]
    assert (declaration.domain, declaration.is_glob) == ("example.com", True)


@pytest.mark.parametrize("domain", ["example.com", ".example.com", "localhost", "127.0.0.1"])
def test_valid_domains(domain: str) -> None:
    policy_from_string(cookie(domain=domain))


def test_custom_categories_and_a_host_prefixed_cookie() -> None:
    text = VALID + "      - name: __Host-cart\n  my-stats_2:\n    title: Mine\n"
    policy = policy_from_string(text)
    assert policy.category_names == ("necessary", "my-stats_2")
    assert policy.category_of("__Host-cart") == "necessary"


def test_models_are_frozen() -> None:
    config = policy_from_string(VALID).config
    with pytest.raises(ValidationError):
        config.revision = 2


def test_policy_from_string_names_its_source() -> None:
    with pytest.raises(ConfigError) as info:
        policy_from_string("revision: 1\n", source="inline.yaml")
    assert (info.value.file, info.value.key, info.value.line) == ("inline.yaml", "categories", 1)


# -- unknown, missing and empty keys ----------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        ("revison: 2\n" + VALID, "revison", 1),
        (
            VALID.replace("    required: true\n", "    requird: true\n"),
            "categories.necessary.requird",
            4,
        ),
        (VALID + "        expiry: 1 day\n", "categories.necessary.cookies[0].expiry", 7),
        (settings() + "    colour: red\n", "categories.necessary.colour", 8),
        ("cookie:\n  nmae: c\n" + VALID, "cookie.nmae", 2),
    ],
)
def test_unknown_key_is_named(tmp_path: Path, text: str, key: str, line: int) -> None:
    error = refused(tmp_path, text, key=key, line=line)
    assert "unknown key" in error.message


@pytest.mark.parametrize(
    ("text", "key", "line", "hint"),
    [
        ("revison: 2\n" + VALID, "revison", 1, "did you mean 'revision'? (keys allowed here: "),
        ("cookie:\n  nmae: c\n" + VALID, "cookie.nmae", 2, "did you mean 'name'?"),
        (VALID + "        expiry: 1\n", "categories.necessary.cookies[0].expiry", 7, "(keys "),
    ],
)
def test_unknown_key_suggests_the_known_ones(
    tmp_path: Path, text: str, key: str, line: int, hint: str
) -> None:
    assert hint in refused(tmp_path, text, key=key, line=line).message


@pytest.mark.parametrize(
    ("text", "key", "line", "words"),
    [
        ("revision: 2\n", "categories", 1, "required"),
        ("revision: 2\ncategories: {}\n", "categories", 2, "at least one category"),
        ("revision: 2\ncategories:\n", "categories", 2, "valid dictionary"),
        ("categories:\n  a:\n    description: x\n", "categories.a.title", 2, "required"),
        ("categories:\n  a:\n    title: ''\n", "categories.a.title", 3, "at least 1"),
        ("categories:\n  a:\n", "categories.a", 2, "valid dictionary"),
        (VALID + "      - path: /\n", "categories.necessary.cookies[1].name", 7, "required"),
        ("cookie:\n" + VALID, "cookie", 1, "valid dictionary"),
    ],
)
def test_missing_or_empty(tmp_path: Path, text: str, key: str, line: int, words: str) -> None:
    assert words in refused(tmp_path, text, key=key, line=line).message


def test_long_values_are_shortened_in_the_message(tmp_path: Path) -> None:
    error = refused(
        tmp_path,
        "categories:\n  a:\n    title: " + "x" * 300 + "\n",
        key="categories.a.title",
        line=3,
    )
    assert "at most 200" in error.message
    assert len(error.message) < 150


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        ("- categories\n", None, 1),
        ("just some text\n", None, 1),
        ("", None, 1),
        ("# only a comment\n", None, 1),
    ],
)
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str, key: str | None, line: int) -> None:
    assert "must be a mapping" in refused(tmp_path, text, key=key, line=line).message


# -- cookie declarations ----------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["a b", "a=b", "a;b", "a,b", 'a"b', "sid\n", "sid\r\nX-Evil: 1", "", "s\u00efd", "x" * 257],
)
def test_invalid_cookie_name(tmp_path: Path, name: str) -> None:
    refused(tmp_path, cookie(name=q(name)), key="categories.necessary.cookies[0].name", line=6)


@pytest.mark.parametrize(
    "path", ["account", "/a;b", "/a\r\nSet-Cookie: x=1", "/a\n", "/a b", "/caf\u00e9", "/" * 1025]
)
def test_invalid_cookie_path(tmp_path: Path, path: str) -> None:
    error = refused(
        tmp_path, cookie(path=q(path)), key="categories.necessary.cookies[0].path", line=7
    )
    assert "must start with '/'" in error.message


@pytest.mark.parametrize(
    "domain",
    [
        "https://example.com",
        "example.com:8080",
        "exa mple.com",
        "example.com;x",
        "example.com\n",
        "-example.com",
        "example..com",
        "a" * 64 + ".com",
        "",
    ],
)
def test_invalid_cookie_domain(tmp_path: Path, domain: str) -> None:
    refused(
        tmp_path, cookie(domain=q(domain)), key="categories.necessary.cookies[0].domain", line=8
    )


@pytest.mark.parametrize(
    ("key", "value", "line"), [("path", "/account", 7), ("domain", "example.com", 8)]
)
def test_host_prefixed_cookie_takes_no_domain_and_only_root_path(
    tmp_path: Path, key: str, value: str, line: int
) -> None:
    text = cookie(name="__Host-cart", **{key: value})
    error = refused(tmp_path, text, key=f"categories.necessary.cookies[0].{key}", line=line)
    assert "__Host-" in error.message


def test_same_exact_name_in_two_categories(tmp_path: Path) -> None:
    text = VALID + "  analytics:\n    title: Analytics\n    cookies:\n      - name: sid\n"
    error = refused(tmp_path, text, key="categories.analytics.cookies[0].name", line=10)
    assert "'sid' is declared twice" in error.message
    assert "'necessary'" in error.message


def test_same_name_twice_in_one_category(tmp_path: Path) -> None:
    refused(
        tmp_path, VALID + "      - name: sid\n", key="categories.necessary.cookies[1].name", line=7
    )


def test_same_glob_in_two_categories(tmp_path: Path) -> None:
    text = (
        "categories:\n  analytics:\n    title: A\n    cookies:\n      - name: _ga_*\n"
        "  advertisement:\n    title: B\n    cookies:\n      - name: _ga_*\n"
    )
    error = refused(tmp_path, text, key="categories.advertisement.cookies[0].name", line=9)
    assert "glob '_ga_*' is declared twice" in error.message


def test_globs_differing_only_in_the_middle_are_bounded(tmp_path: Path) -> None:
    # Each is tried on every name with their prefix and suffix: a look-up would grow
    # with the file. 32 are fine, the 33rd is refused where it stands.
    globs = "".join(f"      - name: v_*_{index}_*\n" for index in range(33))
    text = "categories:\n  analytics:\n    title: A\n    cookies:\n" + globs
    error = refused(tmp_path, text, key="categories.analytics.cookies[32].name", line=37)
    assert "number 33 to start with 'v_' and end with ''" in error.message
    assert "at most 32" in error.message
    fine = "".join(text.splitlines(keepends=True)[:-1])
    assert policy_from_string(fine).category_of("v_x_31_y") == "analytics"


def test_an_exact_name_may_also_match_a_glob() -> None:
    text = VALID + "  analytics:\n    title: A\n    cookies:\n      - name: s*\n"
    assert policy_from_string(text).category_of("sid") == "necessary"


@pytest.mark.parametrize("name", ["consent", "__Host-consent", "__Secure-consent"])
def test_cookie_named_like_the_consent_cookie(tmp_path: Path, name: str) -> None:
    error = refused(tmp_path, cookie(name=name), key="categories.necessary.cookies[0].name", line=6)
    assert "consent cookie's own name" in error.message


def test_cookie_named_like_a_renamed_consent_cookie(tmp_path: Path) -> None:
    text = "cookie:\n  name: prefs\n" + VALID + "      - name: prefs\n"
    refused(tmp_path, text, key="categories.necessary.cookies[1].name", line=9)
    # The default name is free once the consent cookie is called something else.
    policy_from_string("cookie:\n  name: prefs\n" + VALID + "      - name: consent\n")


@pytest.mark.parametrize("value", ["'yes'", "1"])
def test_partitioned_is_a_boolean(tmp_path: Path, value: str) -> None:
    text = VALID + f"        partitioned: {value}\n"
    refused(tmp_path, text, key="categories.necessary.cookies[0].partitioned", line=7)


# -- the consent cookie ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("__Host-consent", "prefix"),
        ("__Secure-consent", "prefix"),
        ("consent*", "glob"),
        (q("*"), "glob"),
        (q("my consent"), "cookie name"),
        (q("consent\n"), "cookie name"),
    ],
)
def test_invalid_consent_cookie_name(tmp_path: Path, name: str, words: str) -> None:
    assert words in refused(tmp_path, settings(name=name), key="cookie.name", line=2).message


@pytest.mark.parametrize("days", ["0", "396", "-1", "true", "'30'", "30.5", "1000000"])
def test_max_age_days_out_of_range_or_not_a_number(tmp_path: Path, days: str) -> None:
    refused(tmp_path, settings(days=days), key="cookie.max_age_days", line=3)


@pytest.mark.parametrize("days", [1, 395])
def test_max_age_days_bounds_are_inclusive(days: int) -> None:
    assert policy_from_string(settings(days=str(days))).config.cookie.max_age_days == days


@pytest.mark.parametrize("secure", ["maybe", "1", "'true'", "null"])
def test_secure_is_true_false_or_auto(tmp_path: Path, secure: str) -> None:
    error = refused(tmp_path, settings(secure=secure), key="cookie.secure", line=4)
    assert error.message == "secure must be true, false or auto"


@pytest.mark.parametrize(("secure", "expected"), [("true", True), ("false", False)])
def test_secure_accepts_booleans(secure: str, expected: bool) -> None:
    assert policy_from_string(settings(secure=secure)).config.cookie.secure is expected


def test_invalid_consent_cookie_domain(tmp_path: Path) -> None:
    refused(tmp_path, "cookie:\n  domain: https://x.com\n" + VALID, key="cookie.domain", line=2)


# -- top-level settings ------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint",
    ["/", "consent", "'/a b'", "/..", "/a/./b", "//consent", "https://x.com/consent", "/a;b", "5"],
)
def test_bad_endpoint(tmp_path: Path, endpoint: str) -> None:
    refused(tmp_path, f"endpoint: {endpoint}\n" + VALID, key="endpoint", line=1)


@pytest.mark.parametrize(
    "origin",
    [
        "example.com",
        "https://example.com/path",
        "ftp://example.com",
        "https://example.com\n",
        "https://exa mple.com",
        "https://example.com:123456",
    ],
)
def test_bad_trusted_origin(tmp_path: Path, origin: str) -> None:
    text = "revision: 1\ntrusted_origins:\n  - https://ok.example\n  - " + q(origin) + "\n" + VALID
    assert "origin" in refused(tmp_path, text, key="trusted_origins[1]", line=4).message


def test_trusted_origins_must_be_a_list(tmp_path: Path) -> None:
    refused(tmp_path, "trusted_origins: https://a.example\n" + VALID, key="trusted_origins", line=1)


@pytest.mark.parametrize("value", ["-1", "true", "'2'", "2.0", "1000000001"])
def test_bad_revision(tmp_path: Path, value: str) -> None:
    refused(tmp_path, f"revision: {value}\n" + VALID, key="revision", line=1)


@pytest.mark.parametrize(("key", "value"), [("undeclared", "sometimes"), ("gpc", "'yes'")])
def test_bad_choice(tmp_path: Path, key: str, value: str) -> None:
    refused(tmp_path, f"{key}: {value}\n" + VALID, key=key, line=1)


@pytest.mark.parametrize("value", ["'2024-02-30'", "'2023-02-29'", "'2024-13-01'"])
def test_gpc_last_update_is_a_day_of_the_calendar(tmp_path: Path, value: str) -> None:
    refused(tmp_path, f"gpc_last_update: {value}\n" + VALID, key="gpc_last_update", line=1)


def test_gpc_last_update_on_a_leap_day() -> None:
    text = "gpc_last_update: '2024-02-29'\n" + VALID
    assert policy_from_string(text).config.gpc_last_update == "2024-02-29"


def test_required_is_a_boolean(tmp_path: Path) -> None:
    text = VALID.replace("required: true", "required: 'true'")
    refused(tmp_path, text, key="categories.necessary.required", line=4)


# -- categories --------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["Analytics", "1st", "a.b", "with space", "x" * 33, "_private", "caf\u00e9"]
)
def test_bad_category_name(tmp_path: Path, name: str) -> None:
    text = VALID + f"  {q(name)}:\n    title: T\n"
    error = refused(tmp_path, text, key=f"categories.{name}", line=7)
    assert "category name" in error.message


def test_at_most_32_categories(tmp_path: Path) -> None:
    text = "categories:\n" + "".join(f"  c{i}:\n    title: T\n" for i in range(33))
    assert "at most 32" in refused(tmp_path, text, key="categories", line=1).message
    policy_from_string("categories:\n" + "".join(f"  c{i}:\n    title: T\n" for i in range(32)))


def test_a_category_called_like_a_type_is_reported_at_its_own_key(tmp_path: Path) -> None:
    # pydantic labels union members "bool"/"str"; a category of that name must not confuse us.
    text = "categories:\n  bool:\n    title: 5\n"
    refused(tmp_path, text, key="categories.bool.title", line=3)


@pytest.mark.parametrize(
    ("loc", "missing", "expected"),
    [
        (("cookie", "secure", "bool"), False, ("cookie", "secure")),
        (("cookie", "secure", "literal['auto']"), False, ("cookie", "secure")),
        (("categories", "bool", "title"), False, ("categories", "bool", "title")),
        (
            ("categories", "bool", "cookies", 0, "name"),
            True,
            ("categories", "bool", "cookies", 0, "name"),
        ),
        (("categories", "bool", "cookies", 3, "name"), False, ("categories", "bool", "cookies")),
    ],
)
def test_pydantic_labels_are_not_reported_as_keys(
    loc: tuple[str | int, ...], missing: bool, expected: tuple[str | int, ...]
) -> None:
    # pydantic appends union members and validator names to an error's location; no
    # policy field produces one today, but a future union must not name a key "bool".
    data = {"cookie": {"secure": "maybe"}, "categories": {"bool": {"title": 5, "cookies": [{}]}}}
    assert document_location(loc, data, missing=missing) == expected


# -- what PyYAML cannot read (issue 12): a ConfigError at the line, never a crash ----


def _deep_list(levels: int) -> str:
    """``x`` holding ``levels`` lists, one inside the other, on one line."""
    return "x: " + "[" * levels + "]" * levels + "\n"


def _deep_mapping(levels: int) -> str:
    """``x`` holding ``levels`` indented block mappings, one key a line from line 2."""
    return "x:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, levels + 1))


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        # The document's mapping is level 1 and x's value level 2: the 64th list is level 65.
        (_deep_list(400) + VALID, "x" + "[0]" * (MAX_DEPTH - 1), 1),
        (VALID + _deep_list(400), "x" + "[0]" * (MAX_DEPTH - 1), 7),
        ("x: " + "{a: " * 400 + "1" + "}" * 400 + "\n" + VALID, "x" + ".a" * (MAX_DEPTH - 1), 1),
        (
            _deep_mapping(400) + VALID,
            "x." + ".".join(f"k{i}" for i in range(1, MAX_DEPTH)),
            MAX_DEPTH,
        ),
    ],
)
def test_deep_nesting_is_refused_before_the_stack_runs_out(
    tmp_path: Path, text: str, key: str, line: int
) -> None:
    # 400 levels (a few KB) used to raise RecursionError from PyYAML's composer.
    error = refused(tmp_path, text, key=key, line=line)
    assert f"nested more than {MAX_DEPTH} levels deep" in error.message


def test_nesting_up_to_the_limit_is_read() -> None:
    # The document's mapping and MAX_DEPTH - 1 lists: the limit, with a value inside.
    text = "x: " + "[" * (MAX_DEPTH - 1) + "1" + "]" * (MAX_DEPTH - 1) + "\n"
    data, _ = parse_yaml(text)
    data = data["x"]
    for _ in range(MAX_DEPTH - 2):
        data = data[0]
    assert data == [1]
    with pytest.raises(ConfigError, match=f"nested more than {MAX_DEPTH} levels deep"):
        parse_yaml(text.replace("[", "[[", 1).replace("]", "]]", 1))


@pytest.mark.parametrize(
    ("text", "key", "line", "words"),
    [
        # Unquoted, a date that the calendar lacks raised a bare ValueError.
        ("gpc_last_update: 2024-02-30\n", "gpc_last_update", 1, "'2024-02-30' is not a valid date"),
        ("gpc: !!bool maybe\n", "gpc", 1, "'maybe' is not a boolean"),  # was KeyError
        ("revision: !!int abc\n", "revision", 1, "'abc' is not a whole number"),
        ("cookie:\n  max_age_days: !!float abc\n", "cookie.max_age_days", 2, "not a number"),
        ("gpc_last_update: !!timestamp abc\n", "gpc_last_update", 1, "not a valid date"),
        # Python refuses to read more than 4300 digits; a sexagesimal one takes long to build.
        ("revision: " + "9" * 4301 + "\n", "revision", 1, "more than 64 characters"),
        ("revision: 1" + ":00" * 2000 + "\n", "revision", 1, "more than 64 characters"),
        ("csp:\n  enabled: !!bool ja\n", "csp.enabled", 2, "'ja' is not a boolean"),
    ],
)
def test_values_pyyaml_cannot_read_name_key_and_line(
    tmp_path: Path, text: str, key: str, line: int, words: str
) -> None:
    error = refused(tmp_path, text + VALID, key=key, line=line)
    assert words in error.message
    assert len(error.message) < 150  # the value is shortened, never 4301 digits


# -- every switch and number is strict (issue 12) ----------------------------


def _models(model: type[BaseModel], seen: list[type[BaseModel]]) -> list[type[BaseModel]]:
    """``model`` and every model its fields hold, however deep."""
    if model not in seen:
        seen.append(model)
        for field in model.model_fields.values():
            for shape in _all_types(field.annotation):
                if isinstance(shape, type) and issubclass(shape, BaseModel):
                    _models(shape, seen)
    return seen


def _shapes(annotation: object) -> list[object]:
    """What a field may hold: ``X | None`` is ``[X, None]``, ``Annotated`` metadata dropped."""
    if get_origin(annotation) in (Union, types.UnionType):
        return [shape for arg in get_args(annotation) for shape in _shapes(arg)]
    if get_origin(annotation) is Annotated:
        return _shapes(get_args(annotation)[0])
    return [annotation]


def _all_types(annotation: object) -> list[object]:
    found = []
    for shape in _shapes(annotation):
        found.append(shape)
        for arg in get_args(shape):
            if arg is not Ellipsis:
                found += _all_types(arg)
    return found


# Text, and numbers where a switch belongs, are refused rather than guessed.
_WRONG: dict[type, list[object]] = {
    bool: ["true", "no", "false", "yes", 1, 0],
    int: ["5", "100", True, 5.0],
    float: ["5", "0.5", True],
}
# Every boolean, integer and float field of every model the file can reach.
_SWITCHES_AND_NUMBERS = [
    (model, name, kind)
    for model in _models(PolicyConfig, [])
    for name, field in model.model_fields.items()
    for kind in (bool, int, float)
    if kind in _shapes(field.annotation)
]
_STRICT_CASES = [
    pytest.param(model, name, wrong, id=f"{model.__name__}.{name}={wrong!r}")
    for model, name, kind in _SWITCHES_AND_NUMBERS
    for wrong in _WRONG[kind]
]


def test_the_audit_finds_the_switches_and_numbers() -> None:
    fields = {f"{model.__name__}.{name}" for model, name, _ in _SWITCHES_AND_NUMBERS}
    assert {
        "RecordsSettings.enabled",
        "RecordsSettings.timeout_seconds",
        "BannerSettings.inject",
        "BannerSettings.settings_button",
        "ConsentModeSettings.enabled",
        "ConsentModeSettings.wait_for_update",
        "CspSettings.nonce",
        "PolicyConfig.revision",
        "PolicyConfig.gpc",
    } <= fields


@pytest.mark.parametrize(("model", "name", "wrong"), _STRICT_CASES)
def test_every_switch_and_number_is_strict(
    model: type[BaseModel], name: str, wrong: object
) -> None:
    with pytest.raises(ValidationError) as info:
        model.model_validate({name: wrong})
    assert any(error["loc"][:1] == (name,) for error in info.value.errors())


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        ("gpc: 'no'\n", "gpc", 1),
        ("gpc: 0\n", "gpc", 1),
        ("csp:\n  nonce: 1\n", "csp.nonce", 2),
    ],
)
def test_text_where_a_switch_or_number_belongs(
    tmp_path: Path, text: str, key: str, line: int
) -> None:
    assert "(got " in refused(tmp_path, text + VALID, key=key, line=line).message


# -- an unknown key lists the keys of its own section (issue 12) --------------
# (records: and banner: have their own in test_records_config.py and test_banner_config.py)


@pytest.mark.parametrize(
    ("text", "key", "line", "close", "allowed"),
    [
        (
            "text_fixes:\n  - {old: abcdefgh, new: abcdefgi, nwe: x}\n",
            "text_fixes[0].nwe",
            2,
            "new",
            "old, new",
        ),
        ("opt_out:\n  txt: x\n", "opt_out.txt", 2, "text", "text, categories"),
        (
            "csp:\n  nonse: true\n",
            "csp.nonse",
            2,
            "nonce",
            "enabled, report_only, directives, nonce, unsafe_eval, report_uri",
        ),
    ],
)
def test_unknown_key_lists_its_own_section(
    tmp_path: Path, text: str, key: str, line: int, close: str, allowed: str
) -> None:
    error = refused(tmp_path, text + VALID, key=key, line=line)
    assert error.message == (f"unknown key; did you mean {close!r}? (keys allowed here: {allowed})")
