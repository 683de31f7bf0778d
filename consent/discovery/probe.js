// The scan's init script: Playwright runs it in every frame of every page (cross-site
// iframes included), after the document is created and before the page's own scripts.
// It reports each cookie a script writes, through document.cookie or cookieStore, to the
// scanner's binding: the name and the scope attributes, never the value. A write is
// reported even when the browser then refuses it (a third-party iframe's cookie): the
// scanner's reading of the browser's jar says what was kept.
(() => {
  "use strict";
  const BINDING = "__consentScanCookie";
  const PROBE = "consent-scan-probe.js";

  function report(cookie) {
    const binding = window[BINDING];
    if (typeof binding !== "function") return;
    try {
      binding({ ...cookie, source: writer() }).catch(() => {});
    } catch (error) {
      // A frame being torn down: nothing left to report to.
    }
  }

  // The script that wrote the cookie: the first script URL on the stack that is not this
  // probe's (an inline script shows its document's URL).
  function writer() {
    const stack = String(new Error().stack || "").split("\n");
    for (const line of stack) {
      const found = /(https?:\/\/[^\s()]+?)(?::\d+){1,2}\)?\s*$/.exec(line);
      if (found && !line.includes(PROBE)) return found[1];
    }
    return null;
  }

  // "name=value; Domain=x; Path=/": the name as browsers read it (no "=" at all is a
  // nameless cookie) and the attributes, which the scanner reads like a Set-Cookie's.
  function split(text) {
    const [pair, ...attributes] = String(text).split(";");
    const equals = pair.indexOf("=");
    const name = equals < 0 ? "" : pair.slice(0, equals).trim();
    return { name, attributes: attributes.join(";").slice(0, 4096) };
  }

  const described = Object.getOwnPropertyDescriptor(Document.prototype, "cookie");
  if (described && described.set) {
    Object.defineProperty(Document.prototype, "cookie", {
      configurable: true,
      enumerable: described.enumerable,
      get() {
        return described.get.call(this);
      },
      set(text) {
        report(split(text));
        described.set.call(this, text);
      },
    });
  }

  // cookieStore exists in secure contexts only (https, localhost).
  if (typeof CookieStore === "function" && CookieStore.prototype.set) {
    const set = CookieStore.prototype.set;
    CookieStore.prototype.set = function (nameOrOptions) {
      const options = typeof nameOrOptions === "object" && nameOrOptions ? nameOrOptions : {};
      const name = typeof nameOrOptions === "string" ? nameOrOptions : options.name;
      // cookieStore's defaults: Secure, SameSite=Strict, Path=/.
      const attributes = ["Secure", `SameSite=${options.sameSite || "strict"}`];
      attributes.push(`Path=${options.path || "/"}`);
      if (options.domain) attributes.push(`Domain=${options.domain}`);
      if (options.expires != null) {
        attributes.push(`Expires=${new Date(options.expires).toUTCString()}`);
      }
      if (options.partitioned) attributes.push("Partitioned");
      report({ name: String(name ?? ""), attributes: attributes.join("; ") });
      return set.apply(this, arguments);
    };
  }
})();
//# sourceURL=consent-scan-probe.js
