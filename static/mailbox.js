// "Resend the email" on the check-your-mailbox page waits until the server
// will accept it. The form's data-resend-at is that moment, in Unix
// milliseconds by the server's clock, and data-server-now the server's clock
// when it rendered the page: the countdown measures from the server's clock,
// so a reader's clock that is wrong does not matter, and it errs late (by
// the page's travel time), never early. The deadline is read at every tick.
// Without this script the page says how long to wait, and the button stays
// disabled until a reload renders it again.
(function () {
  "use strict";
  var loadedAt = Date.now();

  // words says a wait as the server does (handlers.humanWait), rounding up.
  function words(ms) {
    var s = Math.ceil(ms / 1000);
    if (s <= 1) return "1 second";
    if (s < 60) return s + " seconds";
    if (s <= 60) return "1 minute";
    if (s < 7200) return Math.ceil(s / 60) + " minutes";
    return Math.ceil(s / 3600) + " hours";
  }

  var counting = null; // the form counting down

  // start counts down on the page's form; receivedAt is about when the
  // server rendered it, by this browser's clock.
  function start(receivedAt) {
    var form = document.getElementById("resend-form");
    if (!form || form === counting || !form.hasAttribute("data-resend-at")) return;
    counting = form;
    var button = form.querySelector("button[type=submit]");
    var offset = Number(form.getAttribute("data-server-now")) - receivedAt;
    function tick() {
      if (!document.contains(form)) return; // the page moved on
      var remaining = Number(form.getAttribute("data-resend-at")) - (Date.now() + offset);
      var wait = document.getElementById("resend-wait");
      if (remaining <= 0) {
        button.disabled = false;
        if (wait) {
          wait.setAttribute("aria-live", "polite"); // this change, once, is worth hearing
          wait.textContent = "You can ask again now.";
        }
        return;
      }
      var left = document.getElementById("resend-left");
      if (left) left.textContent = words(remaining);
      setTimeout(tick, remaining % 1000 || 1000);
    }
    tick();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { start(loadedAt); });
  } else {
    start(loadedAt);
  }
  // htmx swaps in the page's refused state, with a form of its own.
  document.addEventListener("htmx:load", function () { start(Date.now()); });
})();
