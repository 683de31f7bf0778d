/* consent banner: enhances the server-rendered forms so a choice applies without a reload. */
(function () {
  "use strict";
  var d = document, root = d.getElementById("consent-root");
  if (!root || root.getAttribute("data-ready")) return;
  root.setAttribute("data-ready", "1");
  var endpoint = root.getAttribute("data-endpoint");
  var mode = root.getAttribute("data-consent-mode");
  var mapping = mode ? JSON.parse(mode) : null;
  var banner = d.getElementById("consent-banner");
  var overlay = d.getElementById("consent-overlay");
  var centre = null, loading = null; // fetched when first opened: pages stay light
  var settings = d.getElementById("consent-settings");
  var granted = words(root.getAttribute("data-granted"));
  var back = null;

  function words(s) { return (s || "").split(/\s+/).filter(Boolean); }
  function $$(sel, el) { return [].slice.call((el || d).querySelectorAll(sel)); }
  function allowed(el) {
    var need = words(el.getAttribute("data-category"));
    return need.length > 0 && need.every(function (c) { return granted.indexOf(c) >= 0; });
  }

  // Gated scripts become live copies (the text/plain original is gone, so never twice).
  function gate() {
    $$('script[type="text/plain"][data-category]').forEach(function (old) {
      if (!allowed(old)) return;
      var s = d.createElement("script");
      [].forEach.call(old.attributes, function (a) {
        if (!/^(type|nonce|data-src|data-category|data-type)$/.test(a.name)) s.setAttribute(a.name, a.value);
      });
      if (old.getAttribute("data-type")) s.type = old.getAttribute("data-type");
      if (old.nonce) s.nonce = old.nonce;
      var src = old.getAttribute("data-src");
      if (src) { s.src = src; s.async = false; } else s.text = old.text;
      old.parentNode.replaceChild(s, old);
    });
    $$("iframe[data-src][data-category]").forEach(function (f) {
      if (!allowed(f)) return;
      f.src = f.getAttribute("data-src");
      f.removeAttribute("data-src");
    });
  }

  function consentMode() {
    if (!mapping) return;
    var v = {};
    Object.keys(mapping).forEach(function (c) {
      mapping[c].forEach(function (t) {
        v[t] = v[t] === "granted" || granted.indexOf(c) >= 0 ? "granted" : "denied";
      });
    });
    window.dataLayer = window.dataLayer || [];
    (window.gtag || function () { window.dataLayer.push(arguments); })("consent", "update", v);
  }

  function focusables() {
    return $$("a[href],button,input:not([type=hidden]),summary", centre).filter(function (el) {
      return el.getClientRects().length > 0;
    });
  }
  function onKey(e) {
    if (e.key === "Escape") { e.preventDefault(); close(); return; }
    if (e.key !== "Tab") return;
    var all = focusables(), first = all[0], last = all[all.length - 1], now = d.activeElement;
    if (e.shiftKey && (now === first || now === centre)) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && now === last) { e.preventDefault(); first.focus(); }
  }
  // The centre as its own page: where the links lead without JavaScript or when offline.
  function prefsUrl() {
    return endpoint + "/preferences?next=" + encodeURIComponent(location.pathname + location.search);
  }
  function load() {
    return fetch(prefsUrl() + "&fragment=1", { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.text();
    }).then(function (html) {
      // Parsed inertly (scripts in it never run), then moved into the page.
      centre = new DOMParser().parseFromString(html, "text/html").getElementById("consent-preferences");
      if (!centre) throw new Error("no centre");
      overlay.appendChild(centre);
    });
  }
  function open(e) {
    e.preventDefault();
    back = d.activeElement;
    loading = loading || load();
    loading.then(function () {
      $$("input[name=granted]", centre).forEach(function (i) { i.checked = granted.indexOf(i.value) >= 0; });
      overlay.hidden = false;
      centre.focus();
      d.addEventListener("keydown", onKey);
    }, function () {
      loading = null;
      location.href = prefsUrl();
    });
  }
  function restore(el) {
    var target = el && el !== d.body && el.getClientRects().length ? el
      : banner && !banner.hidden ? banner : settings;
    if (target) target.focus();
  }
  function close() {
    overlay.hidden = true;
    d.removeEventListener("keydown", onKey);
    restore(back);
  }

  function apply(state) {
    granted = state.granted;
    root.setAttribute("data-granted", granted.join(" "));
    if (banner) banner.hidden = true;
    if (settings) settings.hidden = false;
    var wasOpen = !overlay.hidden;
    overlay.hidden = true;
    d.removeEventListener("keydown", onKey);
    gate();
    consentMode();
    restore(wasOpen ? back : null);
  }

  var pressed = null; // the submit button, where SubmitEvent.submitter is missing
  root.addEventListener("submit", function (e) {
    var form = e.target, button = e.submitter || pressed;
    e.preventDefault();
    var action = (button && button.value) || "save";
    var body = action === "save"
      ? { granted: $$("input[name=granted]:checked", form).map(function (i) { return i.value; }) }
      : { action: action };
    fetch(endpoint, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.json();
    }).then(apply, function () {
      // The no-JavaScript path still works: post the form itself (submit() fires no event).
      var input = d.createElement("input");
      input.type = "hidden";
      input.name = "action";
      input.value = action;
      form.appendChild(input);
      form.submit();
    });
  });

  // Links without JavaScript (to the centre's page), buttons with it: they open a dialog.
  var OPENERS = "[data-consent-open],[data-consent-settings]", spaced = null;
  $$(OPENERS).forEach(function (a) {
    a.setAttribute("role", "button");
    a.setAttribute("aria-haspopup", "dialog");
  });
  d.addEventListener("click", function (e) {
    pressed = e.target.closest && e.target.closest("button[name=action]");
    var el = e.target.closest && e.target.closest(OPENERS + ",[data-consent-close]");
    if (el && el.hasAttribute("data-consent-close")) { e.preventDefault(); close(); }
    else if (el && !(e.ctrlKey || e.metaKey || e.shiftKey)) open(e); // not: to a new tab
    else if (e.target === overlay) close();
  });
  // Space presses a button when released; pressed, it would scroll the page.
  function space(e) { return e.key === " " && e.target.closest && e.target.closest(OPENERS); }
  d.addEventListener("keydown", function (e) { if ((spaced = space(e))) e.preventDefault(); });
  d.addEventListener("keyup", function (e) { if (spaced && spaced === space(e)) spaced.click(); });

  gate();
  if (banner) banner.focus({ preventScroll: true });
})();
