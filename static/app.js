// Shelf's only script besides htmx. The Content-Security-Policy forbids
// inline scripts, so everything the page needs from JavaScript lives here.
"use strict";

// Every HTMX request carries the CSRF token from the page's meta tag, read at
// request time so a re-rendered token is always the one sent.
document.addEventListener("htmx:configRequest", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && meta.content) {
    event.detail.headers["X-CSRF-Token"] = meta.content;
  }
});

// In-place validation swaps in only a field's message (see FieldView in
// components/accounts.templ), never the input being typed in. The server's
// verdict is the message: non-empty means invalid, and this mirrors it onto
// the input the message describes, for assistive technology and styling.
document.addEventListener("htmx:load", (event) => {
  const root = event.detail.elt;
  if (!(root instanceof Element)) {
    return;
  }
  const messages = root.matches(".field .error[id]") ? [root] : root.querySelectorAll(".field .error[id]");
  for (const message of messages) {
    const input = document.querySelector(`[aria-describedby~="${CSS.escape(message.id)}"]`);
    if (!input) {
      continue;
    }
    if (message.textContent.trim() !== "") {
      input.setAttribute("aria-invalid", "true");
    } else {
      input.removeAttribute("aria-invalid");
    }
  }
});

// Back and Forward restore a snapshot htmx took of the page when it left
// that entry, by which time the search box already held the next query.
// The entry's address is the truth: refill the box from its ?q=.
document.addEventListener("htmx:historyRestore", () => {
  const q = new URLSearchParams(location.search).get("q") || "";
  document.querySelectorAll('input[type="search"][name="q"]').forEach((input) => {
    input.value = q;
  });
});
