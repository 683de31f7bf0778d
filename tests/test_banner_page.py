"""The preference centre, the no-JavaScript flows and escaping."""

from __future__ import annotations

from .banner_support import centre, client, html_app, policy_with


def test_preferences_page_lists_categories_in_file_order() -> None:
    response = client(html_app()).get("/consent/preferences?next=/shop")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    text = response.text
    order = [text.index(f'id="consent-t-{n}"') for n in ("necessary", "analytics", "advertisement")]
    assert order == sorted(order)
    assert text.count('role="switch"') == 2  # not for the required category
    assert "Always active" in text
    assert "No cookies to display." in text  # advertisement declares none
    for detail in ("<code>_ga</code>", "2 years", "Google", "Distinguishes visitors."):
        assert detail in text
    assert text.count('name="next" value="/shop"') == 2
    assert " checked" not in text  # nothing pre-selected


def test_preferences_page_shows_current_choice_and_refuses_unsafe_next() -> None:
    c = client(html_app())
    c.post("/consent", json={"granted": ["analytics"]})
    text = c.get("/consent/preferences?next=//evil.example").text
    assert (
        'value="analytics" id="consent-c-analytics" aria-describedby="consent-d-analytics" checked'
        in text
    )
    assert 'name="next" value="/"' in text


def test_no_javascript_forms_post_and_redirect_back() -> None:
    c = client(html_app())
    response = c.post(
        "/consent",
        data={"action": "save", "granted": "analytics", "next": "/shop"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/shop"
    assert c.get("/consent").json()["granted"] == ["necessary", "analytics"]
    response = c.post(
        "/consent", data={"action": "reject_all", "next": "/shop"}, follow_redirects=False
    )
    assert response.headers["location"] == "/shop"
    assert c.get("/consent").json()["granted"] == ["necessary"]


def test_withdrawing_in_the_centre_expires_the_cookies() -> None:
    c = client(html_app())
    c.post("/consent", json={"action": "accept_all"})
    c.cookies.set("_ga", "GA1.1")
    response = c.post("/consent", data={"action": "save", "next": "/"}, follow_redirects=False)
    expired = [h for h in response.headers.get_list("set-cookie") if h.startswith("_ga=")]
    assert len(expired) == 1
    assert "Max-Age=0" in expired[0]


def test_config_text_is_escaped_and_never_a_template() -> None:
    policy = policy_with(
        "banner:\n"
        "  privacy_policy_url: /privacy?a=1&b=2\n"
        "  texts:\n"
        "    en:\n"
        "      title: '<script>alert(1)</script> {{ 7 * 7 }}'\n"
        "      categories:\n"
        "        analytics: {title: 'A \"quoted\" & <b>bold</b>'}\n"
    )
    c = client(html_app(), policy)
    text = c.get("/").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{ 7 * 7 }}" in text
    assert "<script>alert(1)" not in text
    assert "49" not in text
    assert 'href="/privacy?a=1&amp;b=2"' in text
    opened = centre(c)
    assert "A &#34;quoted&#34; &amp; &lt;b&gt;bold&lt;/b&gt;" in opened
    assert "<b>" not in opened


def test_csp_nonce_is_carried_to_the_script() -> None:
    csp = "script-src 'self' 'nonce-abc123'; object-src 'none'"
    text = client(html_app(headers={"content-security-policy": csp})).get("/").text
    assert 'defer nonce="abc123"></script>' in text


def test_pages_carry_no_centre_and_do_not_grow_with_the_policy() -> None:
    many = "".join(f"      - name: tracker_{i}\n" for i in range(300))
    small_page = client(html_app()).get("/").text
    large = policy_with(
        "  performance:\n    title: Performance\n    description: Speed.\n    cookies:\n" + many
    )
    large_client = client(html_app(), large)
    large_page = large_client.get("/").text
    for text in (small_page, large_page):
        assert 'id="consent-preferences"' not in text
        assert "Always active" not in text
        assert "<code>" not in text
    assert len(large_page) == len(small_page)
    large_client.post("/consent", json={"action": "reject_all"})
    decided = large_client.get("/").text
    assert "tracker_" not in decided
    assert "tracker_299" in centre(large_client)


def test_centre_fragment_is_the_centre_alone_with_current_choices() -> None:
    c = client(html_app())
    c.post("/consent", json={"granted": ["analytics"]})
    response = c.get(
        "/consent/preferences?fragment=1&next=/shop", headers={"accept-language": "fr"}
    )
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-language"] == "fr"
    assert "Cookie" in response.headers["vary"]
    text = response.text
    assert text.startswith('<div class="cc-centre" role="dialog" aria-modal="true"')
    assert "<html" not in text
    assert "consent-root" not in text  # nothing injected into the endpoint's answer
    assert 'value="analytics" id="consent-c-analytics"' in text
    assert text.count(" checked") == 1
    assert text.count('name="next" value="/shop"') == 2
    assert "Toujours actifs" in text
    unsafe = c.get("/consent/preferences?fragment=1&next=//evil.example").text
    assert 'name="next" value="/"' in unsafe


def test_too_many_query_fields_is_not_an_error() -> None:
    fields = "&".join(f"f{i}=1" for i in range(25))
    response = client(html_app()).get(f"/consent/preferences?fragment=1&next=/shop&{fields}")
    assert response.status_code == 200
    assert 'name="next" value="/"' in response.text  # nothing read from such a query
    assert "<html" in response.text  # not even fragment=1


def test_centre_links_a_decided_visitor_to_their_receipt() -> None:
    c = client(html_app())
    assert "data-consent-receipt" not in centre(c)  # nothing recorded yet
    c.post("/consent", json={"granted": ["analytics"]})
    link = 'href="/consent/receipt" data-consent-receipt>Your consent receipt</a>'
    assert link in centre(c)
    assert link in c.get("/consent/preferences?next=/").text  # the no-JavaScript page
    assert "Votre reçu de consentement" in centre(c, {"accept-language": "fr"})
    receipt = c.get("/consent/receipt").json()
    assert [record["action"] for record in receipt["records"]] == ["grant"]


def test_no_receipt_link_without_records() -> None:
    c = client(html_app(), policy_with("records: false\n"))
    c.post("/consent", json={"action": "accept_all"})
    assert "data-consent-receipt" not in centre(c)
