/* Passkeys (accounts/views/passkeys.py): each ceremony asks the server for its options, hands them
   to navigator.credentials.create() or .get(), and posts the answer back. WebAuthn carries bytes
   (ArrayBuffer) where JSON carries base64url text; the two helpers below convert between them.

   - [data-passkey-login]: a "Log in with a passkey" button (or "Use a passkey" on the
     second-factor and re-authentication pages, with their own URLs); its data-begin-url
     and data-finish-url are used by autofill too: when the page has an input with
     autocomplete="username webauthn", the browser offers this site's passkeys in its suggestions
     (mediation "conditional").
   - [data-passkey-register]: a form that adds a passkey to the account (its "name" field names it).
   - [data-passkey-signup]: the sign-up form with a passkey instead of a password.
   No inline script: this file is loaded with <script src>, so a Content-Security-Policy of
   script-src 'self' allows it. */
(function () {
  "use strict";
  if (window.mailsitePasskeys) { return; }
  window.mailsitePasskeys = true;

  function toBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      return Object.assign({}, item, { id: toBytes(item.id) });
    });
  }

  function creationOptions(options) {
    return Object.assign({}, options, {
      challenge: toBytes(options.challenge),
      user: Object.assign({}, options.user, { id: toBytes(options.user.id) }),
      excludeCredentials: descriptors(options.excludeCredentials)
    });
  }

  function requestOptions(options) {
    return Object.assign({}, options, {
      challenge: toBytes(options.challenge),
      allowCredentials: descriptors(options.allowCredentials)
    });
  }

  function credentialJSON(credential) {
    var response = credential.response;
    var out = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      response: { clientDataJSON: toText(response.clientDataJSON) }
    };
    if (response.attestationObject) {
      out.response.attestationObject = toText(response.attestationObject);
      out.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      out.response.authenticatorData = toText(response.authenticatorData);
      out.response.signature = toText(response.signature);
      if (response.userHandle) { out.response.userHandle = toText(response.userHandle); }
    }
    return out;
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) { return input.value; }
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error(firstError(data) || data.detail || "");
          error.data = data;
          throw error;
        }
        return data;
      });
    });
  }

  function firstError(data) {
    var errors = (data && data.errors) || {};
    for (var field in errors) {
      if (errors[field] && errors[field].length) { return errors[field][0].message || String(errors[field][0]); }
    }
    return "";
  }

  function statusOf(element) {
    var status = document.querySelector("[data-passkey-status]");
    if (!status) {
      status = document.createElement("p");
      status.setAttribute("data-passkey-status", "");
      status.setAttribute("role", "status");
      status.setAttribute("aria-live", "polite");
      element.parentNode.insertBefore(status, element.nextSibling);
    }
    return status;
  }

  function show(element, text) {
    var status = statusOf(element);
    status.className = "errorlist";
    status.textContent = text;
  }

  function failed(element, error) {
    // The person closed the browser's dialog, or a newer request replaced this one: say nothing.
    if (error && (error.name === "AbortError" || error.name === "NotAllowedError")) {
      if (error.name === "NotAllowedError") { show(element, element.getAttribute("data-msg-cancelled") || ""); }
      return;
    }
    show(element, (error && error.message) || element.getAttribute("data-msg-failed") || "");
  }

  function supported() {
    return !!(window.PublicKeyCredential && navigator.credentials && window.fetch);
  }

  // ----------------------------------------------------------------------------------------------
  // Log-in: a button, and autofill
  // ----------------------------------------------------------------------------------------------
  var pending = null;  // the AbortController of the autofill request waiting in the background

  function logIn(element, mediation) {
    var controller = new AbortController();
    if (pending) { pending.abort(); }
    pending = mediation === "conditional" ? controller : null;
    var next = element.getAttribute("data-next") || "";
    return post(element.getAttribute("data-begin-url")).then(function (data) {
      var options = { publicKey: requestOptions(data.options), signal: controller.signal };
      if (mediation) { options.mediation = mediation; }
      return navigator.credentials.get(options);
    }).then(function (credential) {
      var body = { credential: credentialJSON(credential), next: next };
      var trust = element.getAttribute("data-trust-field");
      if (trust && document.getElementById(trust)) { body.trust = document.getElementById(trust).checked; }
      return post(element.getAttribute("data-finish-url"), body);
    }).then(function (data) {
      window.location.assign(data.redirect);
    });
  }

  function autofill() {
    var button = document.querySelector("[data-passkey-login]");
    var field = document.querySelector("input[autocomplete~=webauthn]");
    if (!button || !field || !supported() || !PublicKeyCredential.isConditionalMediationAvailable) { return; }
    PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
      if (!available) { return; }
      logIn(button, "conditional").catch(function (error) {
        if (error && error.name !== "AbortError") { failed(button, error); }
      });
    });
  }

  // ----------------------------------------------------------------------------------------------
  // Adding a passkey, and signing up with one
  // ----------------------------------------------------------------------------------------------
  function register(form) {
    var name = form.querySelector("[name=name]");
    return post(form.getAttribute("data-begin-url")).then(function (data) {
      return navigator.credentials.create({ publicKey: creationOptions(data.options) });
    }).then(function (credential) {
      return post(form.getAttribute("data-finish-url"), {
        credential: credentialJSON(credential), name: name ? name.value : ""
      });
    }).then(function (data) {
      window.location.assign(data.redirect);
    });
  }

  function signUp(form) {
    form.querySelectorAll("[data-field-error]").forEach(function (node) { node.remove(); });
    var body = {
      email: form.querySelector("[name=email]").value.trim(),
      username: form.querySelector("[name=username]").value.trim()
    };
    return post(form.getAttribute("data-begin-url"), body).then(function (data) {
      return navigator.credentials.create({ publicKey: creationOptions(data.options) });
    }).then(function (credential) {
      return post(form.getAttribute("data-finish-url"), { credential: credentialJSON(credential) });
    }).then(function (data) {
      window.location.assign(data.redirect);
    }).catch(function (error) {
      var errors = (error && error.data && error.data.errors) || {};
      var shown = false;
      ["email", "username"].forEach(function (field) {
        var input = form.querySelector("[name=" + field + "]");
        if (input && errors[field] && errors[field].length) {
          var note = document.createElement("ul");
          note.className = "errorlist";
          note.setAttribute("data-field-error", "");
          note.textContent = errors[field][0].message;
          input.insertAdjacentElement("afterend", note);
          shown = true;
        }
      });
      if (!shown) { throw error; }
    });
  }

  function start() {
    if (!supported()) {
      document.querySelectorAll("[data-passkey-unsupported]").forEach(function (node) { node.hidden = false; });
      document.querySelectorAll("[data-passkey-login], [data-passkey-register] button, [data-passkey-signup] button")
        .forEach(function (node) { node.disabled = true; });
      return;
    }
    autofill();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-passkey-login]");
    if (!button || !supported()) { return; }
    event.preventDefault();
    logIn(button, "").catch(function (error) { failed(button, error); });
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var run = form.hasAttribute("data-passkey-register") ? register : form.hasAttribute("data-passkey-signup") ? signUp : null;
    if (!run || !supported()) { return; }
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; }
    run(form).catch(function (error) {
      failed(form, error);
    }).then(function () {
      if (button) { button.disabled = false; }
    });
  });
})();
