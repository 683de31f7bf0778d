"""Host patterns as the catalogue and the scan match them (consent/policy/hostnames.py)."""

from __future__ import annotations

from consent.policy.hostnames import HostTable


def test_a_host_itself_then_its_nearest_parent_domain() -> None:
    table: HostTable[str] = HostTable()
    table.add("*.example.com", "any sub-domain")
    table.add("*.cdn.example.com", "the cdn")
    table.add("www.example.com", "www")
    assert table.find("WWW.Example.com.") == "www"
    assert table.find("a.cdn.example.com") == "the cdn"
    assert table.find("shop.example.com") == "any sub-domain"
    # "*." never takes the domain itself, nor a name that merely ends the same way.
    assert table.find("example.com") is None
    assert table.find("notexample.com") is None


def test_the_first_value_added_wins() -> None:
    table: HostTable[str] = HostTable()
    table.add("*.Example.com", "first")
    table.add("*.example.com", "second")
    assert table.get("*.example.com") == "first"
    assert table.get("example.com") is None
