"""The wrk script of a row: its visitors' requests in turn, a counter in every one.

wrk calls ``request()`` for every request it sends. Ours takes the next visitor, puts
the counter into its ``Cookie`` header (and, for the never-seen-names row, 200 names
made from the counter), so that no two requests carry the same header.
"""

from __future__ import annotations

from collections.abc import Sequence

from .cookies import BROWSER_HEADERS, FIRST_COUNTER, RequestTemplate

SCRIPT = """\
-- {title}
-- Written by bench/lua.py: one request per call, the visitors in turn.
local visitors = {{
{visitors}
}}
local fresh = {fresh}
local counter = {first}

-- The same names as bench/cookies.py's fresh_names(counter, fresh).
local function fresh_names(n)
  local names = {{}}
  for i = 1, fresh do
    names[i] = "; n" .. n .. "_" .. i .. "=1"
  end
  return table.concat(names)
end

request = function()
  counter = counter + 1
  local visitor = visitors[counter % #visitors + 1]
  local cookie = visitor.head .. counter .. visitor.tail
  if fresh > 0 then
    cookie = cookie .. fresh_names(counter)
  end
  visitor.headers["Cookie"] = cookie
  return wrk.format("GET", "/", visitor.headers)
end
"""


def lua_string(text: str) -> str:
    """A Lua string literal; only printable ASCII is expected in headers."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif " " <= char <= "~":
            out.append(char)
        else:
            raise ValueError(f"not printable ASCII in a header: {char!r} in {text!r}")
    return '"' + "".join(out) + '"'


def _visitor(template: RequestTemplate) -> str:
    headers = ", ".join(
        f"[{lua_string(name)}] = {lua_string(value)}"
        for name, value in (*BROWSER_HEADERS, *template.headers)
    )
    return (
        f"  {{head = {lua_string(template.cookie_head)}, "
        f"tail = {lua_string(template.cookie_tail)}, headers = {{{headers}}}}},"
    )


def script(title: str, templates: Sequence[RequestTemplate]) -> str:
    """The script for one row; every template must ask for the same number of fresh names.

    Visitor ``counter % len(templates)`` makes the request of ``counter``, as
    :func:`template_for` picks it on the Python side.
    """
    fresh = {template.fresh for template in templates}
    if len(fresh) != 1:
        raise ValueError(f"the templates of one row disagree on fresh names: {sorted(fresh)}")
    return SCRIPT.format(
        title=title.replace("\n", " "),
        visitors="\n".join(_visitor(template) for template in templates),
        fresh=fresh.pop(),
        first=FIRST_COUNTER,
    )


def template_for(templates: Sequence[RequestTemplate], counter: int) -> RequestTemplate:
    """The template the script uses for ``counter``."""
    return templates[counter % len(templates)]
