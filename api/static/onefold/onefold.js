/*
 * Onefold tracking snippet. No dependencies. Load it with your site's write key:
 *
 *   <script>window.onefold=window.onefold||{q:[]};["identify","track","chat","page","reset"]
 *     .forEach(function(m){onefold[m]=onefold[m]||function(){onefold.q.push([m,arguments])}})</script>
 *   <script src="https://onefold.example.com/onefold.js" data-key="ofk_…" async></script>
 *
 * The first (optional) line lets the page call onefold.identify(…) etc. before the async script
 * has loaded: the calls are queued and sent once it has. Or set window.OnefoldConfig = {key:
 * "ofk_…", host: "https://onefold.example.com", autoPage: true, pageProperties: {…}} before it
 * loads. It keeps a first-party anonymous id (localStorage, with a cookie as fallback), sends a
 * page view with the referrer and UTM tags, and exposes window.onefold.identify(userId, traits,
 * {userHash, emailHash}) (the HMACs your server computes when the site verifies identities),
 * .track(name, properties), .chat(text), .page(properties) and .reset() (call it on logout: the
 * next visitor starts fresh). Every event carries a message_id, and a retry (network error, 409,
 * 429, 5xx) resends the same one, so it is recorded once. Loaded twice, it runs once.
 */
(function (window, document) {
  "use strict";
  var existing = window.onefold;
  if (existing && existing.loaded) return;  // included twice: the first copy does the work
  var queued = existing && Array.isArray(existing.q) ? existing.q : [];
  var config = window.OnefoldConfig || {};
  var script = document.currentScript;
  var key = config.key || (script && script.getAttribute("data-key")) || "";
  var host = config.host || (script && script.src ? new URL(script.src, location.href).origin : "");
  var ANON = "onefold_aid", USER = "onefold_uid", HASH = "onefold_uhash";
  var CAMPAIGN_KEYS = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
    "gclid", "fbclid", "msclkid"];
  var ATTEMPTS = 3, MAX_WAIT_MS = 60000;
  var SECURE = location.protocol === "https:" ? "; Secure" : "";
  var inflight = 0;

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    if (window.crypto && crypto.getRandomValues) {
      var bytes = crypto.getRandomValues(new Uint8Array(16));
      bytes[6] = (bytes[6] & 0x0f) | 0x40;
      bytes[8] = (bytes[8] & 0x3f) | 0x80;
      var hex = Array.prototype.map.call(bytes, function (b) {
        return (b + 0x100).toString(16).slice(1);
      }).join("");
      return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20),
        hex.slice(20)].join("-");
    }
    return "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".replace(/[xy]/g, function (c) {
      var r = (Math.random() * 16) | 0;
      return (c === "x" ? r : (r & 0x3) | 0x8).toString(16);
    });
  }

  function readCookie(name) {
    var match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    if (!match) return null;
    try { return decodeURIComponent(match[1]); } catch (e) { return null; }
  }

  function save(name, value) {
    try {
      if (value === null) localStorage.removeItem(name); else localStorage.setItem(name, value);
    } catch (e) { /* storage disabled: the cookie still works */ }
    document.cookie = name + "=" + (value === null ? "" : encodeURIComponent(value)) +
      "; path=/; SameSite=Lax" + SECURE + "; max-age=" + (value === null ? 0 : 31536000);
  }

  function load(name) {
    var value = null;
    try { value = localStorage.getItem(name); } catch (e) { /* fall back to the cookie */ }
    return value || readCookie(name);
  }

  function anonymousId() {
    var id = load(ANON);
    if (!id || id.length > 255) { id = uuid(); save(ANON, id); }
    return id;
  }

  function who(body) {
    body.anonymous_id = anonymousId();
    var userId = load(USER);
    if (userId) {
      body.user_id = userId;
      var hash = load(HASH);
      if (hash) body.user_hash = hash;
    }
    return body;
  }

  function retryDelay(response, attempt) {
    // Retry-After is seconds or an HTTP date; a cross-origin page can read it only when the API
    // exposes it (Access-Control-Expose-Headers), else it is null and we back off on our own.
    var header = response && response.headers.get("Retry-After");
    var ms = NaN;
    if (header && /^\s*\d+\s*$/.test(header)) ms = Number(header) * 1000;
    else if (header) ms = Date.parse(header) - Date.now();
    if (!(ms >= 0)) ms = 1000 * attempt;
    return Math.min(ms, MAX_WAIT_MS);
  }

  function post(path, body, attempt) {
    // `body` is serialized again on a retry, unchanged: the same message_id is resent.
    inflight += 1;
    return fetch(host + "/api/v1/" + path, {
      method: "POST",
      keepalive: true,
      credentials: "omit",
      headers: {"Content-Type": "application/json", "Authorization": "Bearer " + key},
      body: JSON.stringify(body)
    }).then(function (response) {
      // A proxy's 502/504 page is HTML: read text, so a body that is not JSON is still retried.
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (response.ok) return data || {};
        var problem = (data && data.error) || {};
        var retry = response.status === 429 || response.status >= 500 ||
          (response.status === 409 && !problem.field);  // busy; a field's 409 is the input's
        if (retry && attempt < ATTEMPTS) {
          return delay(retryDelay(response, attempt)).then(function () {
            return post(path, body, attempt + 1);
          });
        }
        var error = new Error(problem.message || response.statusText || "HTTP " + response.status);
        error.status = response.status;
        error.field = problem.field || null;
        throw error;
      });
    }, function (networkError) {
      if (attempt < ATTEMPTS) {
        return delay(500 * attempt).then(function () { return post(path, body, attempt + 1); });
      }
      throw networkError;
    }).finally(function () { inflight -= 1; });
  }

  function delay(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  function send(path, body) { return post(path, body, 1); }

  function merge(target, source) {
    for (var name in source || {}) {
      if (Object.prototype.hasOwnProperty.call(source, name)) target[name] = source[name];
    }
    return target;
  }

  function campaign() {
    var found = {};
    var params = new URLSearchParams(location.search);
    CAMPAIGN_KEYS.forEach(function (name) {
      if (params.get(name)) found[name] = params.get(name);
    });
    return found;
  }

  function quiet(promise) {
    // For calls nobody else awaits (the automatic page view, queued calls): no "Uncaught (in
    // promise)" in the customer's console; whoever does await the promise still sees the error.
    promise.catch(function () {});
    return promise;
  }

  var onefold = {
    loaded: true,
    anonymousId: anonymousId,
    userId: function () { return load(USER); },
    idle: function () { return inflight === 0; },
    page: function (properties) {
      var props = merge({url: location.href, path: location.pathname, title: document.title,
        referrer: document.referrer}, campaign());
      return send("track", who({kind: "page_view", message_id: uuid(),
        properties: merge(props, properties)}));
    },
    track: function (name, properties) {
      return send("track", who({kind: "event", message_id: uuid(),
        properties: merge({name: name}, properties)}));
    },
    identify: function (userId, traits, options) {
      // userId null: an email-only identify (a verifying site needs options.emailHash).
      traits = merge({}, traits);
      options = options || {};
      var hasUser = userId !== null && userId !== undefined && userId !== "";
      var body = {anonymous_id: anonymousId(), traits: traits, message_id: uuid()};
      if (hasUser) body.user_id = String(userId);
      if (traits.email) { body.email = traits.email; delete traits.email; }
      if (options.userHash) body.user_hash = options.userHash;
      if (options.emailHash) body.email_hash = options.emailHash;
      return send("identify", body).then(function (result) {
        if (hasUser) {
          save(USER, String(userId));
          save(HASH, options.userHash || null);
        }
        return result;
      });
    },
    chat: function (text) {
      return send("chat", who({text: String(text), message_id: uuid()}));
    },
    reset: function () {
      save(USER, null);
      save(HASH, null);
      save(ANON, uuid());
    }
  };
  window.onefold = onefold;
  onefold.ready = config.autoPage !== false ? quiet(onefold.page(config.pageProperties))
    : Promise.resolve(null);
  queued.forEach(function (call) {
    var result = onefold[call[0]] && onefold[call[0]].apply(onefold, call[1]);
    if (result && typeof result.catch === "function") quiet(result);
  });
})(window, document);
