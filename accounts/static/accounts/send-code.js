/* "Send code" buttons (templates/accounts/code_send_button.html): ask the JSON endpoint for a code,
   say what happened, and count down until another code may be asked for. Without this script the
   button still works as a plain form post. */
(function () {
  "use strict";
  if (window.mailsiteSendCode) { return; }
  window.mailsiteSendCode = true;

  function csrfToken(form) {
    var input = form && form.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) { return input.value; }
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function statusFor(button) {
    var anchor = button.closest(".row") || button;
    var status = anchor.nextElementSibling;
    if (!status || !status.hasAttribute("data-send-code-status")) {
      status = document.createElement("p");
      status.setAttribute("data-send-code-status", "");
      status.setAttribute("role", "status");
      status.setAttribute("aria-live", "polite");
      anchor.parentNode.insertBefore(status, anchor.nextSibling);
    }
    return status;
  }

  function show(status, text, isError) {
    status.className = isError ? "errorlist" : "muted";
    status.textContent = text;
  }

  function countdown(button, seconds) {
    var label = button.getAttribute("data-label") || button.textContent;
    var wait = button.getAttribute("data-msg-wait");
    button.setAttribute("data-label", label);
    clearTimeout(button.sendCodeTimer);
    function tick() {
      if (seconds <= 0) {
        button.disabled = false;
        button.textContent = label;
        return;
      }
      button.disabled = true;
      button.textContent = wait.replace("%(seconds)s", String(seconds));
      seconds -= 1;
      button.sendCodeTimer = setTimeout(tick, 1000);
    }
    tick();
  }

  function firstError(data) {
    var errors = (data && data.errors) || {};
    var list = errors.email || errors.purpose || errors.__all__ || [];
    return list.length ? (list[0].message || String(list[0])) : "";
  }

  function send(button) {
    var field = document.getElementById(button.getAttribute("data-email-field"));
    var status = statusFor(button);
    var failed = button.getAttribute("data-msg-failed");
    button.disabled = true;
    fetch(button.getAttribute("data-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "X-CSRFToken": csrfToken(button.form)
      },
      body: JSON.stringify({ email: field ? field.value.trim() : "", purpose: button.getAttribute("data-purpose") })
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.status === 202) {
          show(status, button.getAttribute("data-msg-sent"), false);
          countdown(button, Number(data.retry_after) || 0);
        } else if (response.status === 429) {
          show(status, data.detail || failed, true);
          countdown(button, Number(data.retry_after) || Number(response.headers.get("Retry-After")) || 0);
        } else {
          show(status, firstError(data) || failed, true);
          button.disabled = false;
          if (field && response.status === 400) { field.focus(); }
        }
      });
    }).catch(function () {
      show(status, failed, true);
      button.disabled = false;
    });
  }

  // A code was just sent (the page says how long until the next): count down from there.
  function resume() {
    document.querySelectorAll("[data-send-code][data-retry-after]").forEach(function (button) {
      countdown(button, Number(button.getAttribute("data-retry-after")) || 0);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", resume);
  } else {
    resume();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-send-code]");
    if (!button || !window.fetch) { return; }
    event.preventDefault();
    send(button);
  });
})();
