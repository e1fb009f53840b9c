// The dev mailbox: live list (Server-Sent Events), frames that fit their email, mobile width, copy buttons.
(function () {
  "use strict";

  // The list follows the server's event stream: on each change it fetches its rows again. The
  // server ends a stream after a while and EventSource reconnects; the first event of the new
  // stream carries the state, so a change between two streams is not missed.
  function liveRows() {
    var box = document.getElementById("mailbox-rows");
    if (!box || !window.EventSource) return;
    var known = box.getAttribute("data-state");
    function refresh(state) {
      if (state === known) return;
      known = state;
      fetch(box.getAttribute("data-rows"), { credentials: "same-origin", cache: "no-store" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) { if (html) box.innerHTML = html; })
        .catch(function () {});
    }
    var source = new EventSource(box.getAttribute("data-events"));
    ["state", "mailbox"].forEach(function (name) {
      source.addEventListener(name, function (event) { refresh(JSON.parse(event.data)); });
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  function fit(frame) {
    try {
      var doc = frame.contentDocument;
      if (!doc || !doc.documentElement) return;
      frame.style.height = "0px";
      frame.style.height = Math.max(doc.documentElement.scrollHeight, doc.body ? doc.body.scrollHeight : 0) + 2 + "px";
    } catch (error) { /* another origin: keep the CSS height */ }
  }

  function frames() {
    document.querySelectorAll(".mail-frame iframe.mail").forEach(function (frame) {
      frame.addEventListener("load", function () { fit(frame); });
      if (frame.contentDocument && frame.contentDocument.readyState === "complete") fit(frame);
    });
    // Full, tablet (768 px) or mobile (375 px) width: one button of the group is pressed.
    document.querySelectorAll("button.mail-width").forEach(function (button) {
      button.addEventListener("click", function () {
        var group = button.closest(".mail-widths");
        var box = group.closest(".mail-frame-head").nextElementSibling;
        var width = button.getAttribute("data-width");
        group.querySelectorAll("button.mail-width").forEach(function (other) {
          other.setAttribute("aria-pressed", other === button ? "true" : "false");
        });
        box.querySelectorAll("iframe.mail").forEach(function (frame) {
          frame.style.width = width ? width + "px" : "";
          fit(frame);
        });
      });
    });
    window.addEventListener("resize", function () {
      document.querySelectorAll(".mail-frame iframe.mail").forEach(fit);
    });
  }

  function copyButtons() {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var text = button.getAttribute("data-copy");
        var done = function () { button.textContent = button.getAttribute("data-copied"); };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, function () { fallback(text); done(); });
        } else {
          fallback(text);
          done();
        }
      });
    });
  }

  function fallback(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (error) { /* nothing more to try */ }
    area.remove();
  }

  document.addEventListener("DOMContentLoaded", function () {
    liveRows();
    frames();
    copyButtons();
  });
})();
