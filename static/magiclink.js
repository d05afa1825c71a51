// The "send" button of sign-in by email waits as long as the server said
// (data-countdown, the Retry-After of a refused request, or the rest of the
// minute since the last email): it is disabled and counts down, then works
// again. Without this script the page says how long to wait instead.
(function () {
  "use strict";
  function start() {
    var button = document.getElementById("magic-send");
    if (!button) return;
    var left = parseInt(button.getAttribute("data-countdown"), 10) || 0;
    var label = button.getAttribute("data-label");
    var text = document.querySelector("[data-countdown-text]");
    if (left <= 0) return;
    button.disabled = true;
    function tick() {
      if (left <= 0) {
        button.disabled = false;
        button.textContent = label;
        var wait = document.getElementById("magic-wait");
        if (wait) wait.textContent = "You can ask again now.";
        return;
      }
      button.textContent = label + " (" + left + " s)";
      if (text) text.textContent = String(left);
      left--;
      setTimeout(tick, 1000);
    }
    tick();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
