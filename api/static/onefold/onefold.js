/*
 * Onefold tracking snippet. No dependencies. Load it with your site's write key:
 *
 *   <script src="https://onefold.example.com/onefold.js" data-key="ofk_…" async></script>
 *
 * or set window.OnefoldConfig = {key: "ofk_…", host: "https://onefold.example.com",
 * autoPage: true, pageProperties: {…}} before it loads. It keeps a first-party anonymous id
 * (localStorage, with a cookie as fallback), sends a page view with the referrer and UTM tags,
 * and exposes window.onefold.identify(userId, traits), .track(name, properties), .chat(text),
 * .page(properties) and .reset() (call it on logout: the next visitor starts fresh).
 * Every event carries a message_id, so a retry after a network error is recorded once.
 */
(function (window, document) {
  "use strict";
  var config = window.OnefoldConfig || {};
  var script = document.currentScript;
  var key = config.key || (script && script.getAttribute("data-key")) || "";
  var host = config.host || (script && script.src ? new URL(script.src, location.href).origin : "");
  var ANON = "onefold_aid", USER = "onefold_uid", HASH = "onefold_uhash";
  var CAMPAIGN_KEYS = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
    "gclid", "fbclid", "msclkid"];
  var inflight = 0;

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".replace(/[xy]/g, function (c) {
      var r = (Math.random() * 16) | 0;
      return (c === "x" ? r : (r & 0x3) | 0x8).toString(16);
    });
  }

  function readCookie(name) {
    var match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : null;
  }

  function save(name, value) {
    try {
      if (value === null) localStorage.removeItem(name); else localStorage.setItem(name, value);
    } catch (e) { /* storage disabled: the cookie still works */ }
    document.cookie = name + "=" + (value === null ? "" : encodeURIComponent(value)) +
      "; path=/; SameSite=Lax; max-age=" + (value === null ? 0 : 31536000);
  }

  function load(name) {
    var value = null;
    try { value = localStorage.getItem(name); } catch (e) { /* fall back to the cookie */ }
    return value || readCookie(name);
  }

  function anonymousId() {
    var id = load(ANON);
    if (!id) { id = uuid(); save(ANON, id); }
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

  function post(path, body, attempt) {
    inflight += 1;
    return fetch(host + "/api/v1/" + path, {
      method: "POST",
      keepalive: true,
      headers: {"Content-Type": "application/json", "Authorization": "Bearer " + key},
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (data) {
        if (response.ok) return data;
        var retry = response.status === 429 || response.status >= 500 || response.status === 409;
        if (retry && attempt < 3) {
          var wait = Number(response.headers.get("Retry-After") || 1) * 1000;
          return delay(wait).then(function () { return post(path, body, attempt + 1); });
        }
        var error = new Error((data.error && data.error.message) || response.statusText);
        error.field = data.error && data.error.field;
        throw error;
      });
    }, function (networkError) {
      if (attempt < 3) {
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

  var onefold = {
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
      traits = merge({}, traits);
      var body = {anonymous_id: anonymousId(), user_id: String(userId), traits: traits,
                  message_id: uuid()};
      if (traits.email) { body.email = traits.email; delete traits.email; }
      if (options && options.userHash) body.user_hash = options.userHash;
      return send("identify", body).then(function (result) {
        save(USER, String(userId));
        save(HASH, (options && options.userHash) || null);
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
  if (config.autoPage !== false) {
    onefold.ready = onefold.page(config.pageProperties);
  }
})(window, document);
