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

// A field whose rule reads another one (hx-include: "Password again" reads
// "Password") is checked again when that one changes, once it has a value
// of its own: its message would otherwise keep saying they match.
document.addEventListener("input", (event) => {
  const source = event.target;
  if (!(source instanceof HTMLInputElement) || !source.id || typeof htmx === "undefined") {
    return;
  }
  for (const field of document.querySelectorAll(`[hx-include="#${CSS.escape(source.id)}"]`)) {
    if (field.value !== "") {
      htmx.trigger(field, "recheck");
    }
  }
});

// "Note saved." beside Save note (components/shelfcontrol.go) is no longer
// true once the note is typed in again: it goes until the next save.
document.addEventListener("input", (event) => {
  const status = event.target.closest(".shelf-note form")?.querySelector(".shelf-note-status");
  if (status) {
    status.hidden = true;
  }
});

// A shelf button or a star swaps the book's whole shelf control in
// (components/shelfcontrol.go), its note form with it: a note typed but not
// yet saved was lost, and its form closed. It carries over to the new
// control, open and still unsaved. Saving the note shows the saved one.
let unsavedNote = null;
document.addEventListener("htmx:beforeSwap", (event) => {
  unsavedNote = null;
  const target = event.detail.target;
  const from = event.detail.requestConfig && event.detail.requestConfig.elt;
  if (!(target instanceof Element) || !target.matches(".shelf[id]") || (from instanceof Element && from.closest(".shelf-note-form"))) {
    return;
  }
  const note = target.querySelector(".shelf-note textarea");
  if (note && note.value !== note.defaultValue) {
    unsavedNote = { id: note.id, value: note.value };
  }
});
document.addEventListener("htmx:afterSwap", () => {
  const kept = unsavedNote;
  unsavedNote = null;
  const note = kept && document.getElementById(kept.id);
  if (!(note instanceof HTMLTextAreaElement)) {
    return;
  }
  note.value = kept.value;
  note.closest("details").open = true;
  const status = note.form.querySelector(".shelf-note-status");
  if (status) {
    status.hidden = true;
  }
});

// afterPress calls fn once a press of the pointer ends: after the click it
// makes, if it makes one (a click follows pointerup at once), or after a
// press that made none (a scroll, a drag, pointercancel). Not once the next
// press has begun: the browser handles a press before a timer, so on a busy
// page the end of one press could otherwise undo what the next one set up
// (the account menu's swallowed click, a pressed form).
let presses = 0;
document.addEventListener("pointerdown", () => { presses++; }, true);
function afterPress(fn) {
  for (const type of ["pointerup", "pointercancel"]) {
    document.addEventListener(type, () => {
      const press = presses;
      setTimeout(() => {
        if (press === presses) {
          fn();
        }
      });
    }, true);
  }
}

// Pressing a form's button takes the focus from the field being typed in,
// and that field's blur sends its in-place validation. An answer swapped in
// while the button is still held can change the message's height and move
// the button from under the pointer, or replace it (a short link's "Free
// instead" choices live in the field's message): the click is lost. The
// submit checks every field anyway, and the other buttons and links that
// act in place check the field themselves, so while one of them is pressed
// its form sends no validation on the blur that press causes (a blur this
// script sends, as "Did you mean" does, is still checked).
let pressedForm = null;
document.addEventListener("pointerdown", (event) => {
  const control = event.target instanceof Element
    ? event.target.closest("button, input[type=submit], a[hx-post], a[hx-get]") : null;
  pressedForm = control ? control.form || control.closest("form") : null;
}, true);
afterPress(() => { pressedForm = null; });
document.addEventListener("htmx:confirm", (event) => {
  const cause = event.detail.triggeringEvent;
  if (pressedForm && cause && cause.isTrusted && cause.type === "blur" && event.detail.elt.form === pressedForm) {
    event.preventDefault();
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

// Search as you type asks for results at every key, so the address bar
// follows the box; but history gets one entry per query, not one per key.
// A search that refines the query of the entry the box is on (one is a
// prefix of the other: more keys, or a typo taken back), typed within
// typingPause of that entry's last update, replaces the entry instead of
// pushing a new one. A pause to read the results, or a new query typed
// over the old, starts a new entry; so does "More results", which is not
// the form's. The same address twice is never two entries, and Enter
// settles the query: the next key starts a new entry.
const typingPause = 1000;
let typedAt = -Infinity;

// The addresses of entries replaced as keys refined them: no entry shows
// them any more, so their snapshots are dropped from htmx's history cache
// (ten pages), where they would push out the pages Back returns to.
const replacedAway = new Set();

function searchQuery(path) {
  return new URL(path, location.href).searchParams.get("q") || "";
}

function historyKey(path) {
  const url = new URL(path, location.href);
  return url.pathname + url.search;
}

document.addEventListener("htmx:historyItemCreated", (event) => {
  const cache = event.detail.cache;
  for (let i = cache.length - 1; i >= 0; i--) {
    if (replacedAway.has(cache[i].url)) {
      cache.splice(i, 1);
    }
  }
});

document.addEventListener("htmx:beforeHistoryUpdate", (event) => {
  const update = event.detail.history;
  const config = event.detail.requestConfig || {};
  const form = config.elt;
  if (update.type !== "push" || !form || form.id !== "search-form") {
    return;
  }
  const next = new URL(update.path, location.href);
  const typing = config.triggeringEvent && config.triggeringEvent.type === "input";
  const now = performance.now();
  if (historyKey(next.href) === historyKey(location.href)) {
    // A key that leaves the query as it was (a space the server trims)
    // does not count as typing on; Enter settles the query.
    update.type = "replace";
    if (!typing) {
      typedAt = -Infinity;
    }
    return;
  }
  const was = searchQuery(location.href);
  const is = next.searchParams.get("q") || "";
  const refines = was.startsWith(is) || is.startsWith(was);
  if (typing && refines && now - typedAt < typingPause && location.pathname === next.pathname) {
    update.type = "replace";
    replacedAway.add(historyKey(location.href));
  }
  replacedAway.delete(historyKey(next.href));
  typedAt = typing ? now : -Infinity;
});

// Back and Forward land on another entry: typing there starts a new one.
window.addEventListener("popstate", () => {
  typedAt = -Infinity;
});

// The header's account menu (components/layout.templ) is a details
// element, which opens and closes without JavaScript; here it also closes
// on a press elsewhere, when the keyboard's focus leaves it, and on Escape,
// as menus do. A press elsewhere only closes it: the link or button under
// the pointer is not followed too, which a tap to dismiss the menu on a
// phone (where it covers the page) would otherwise do.
let dismissing = false; // a press closed the menu: its click is swallowed
document.addEventListener("pointerdown", (event) => {
  const menu = document.getElementById("account-menu");
  dismissing = Boolean(menu && menu.open && !menu.contains(event.target));
  if (dismissing) {
    menu.open = false;
  }
}, true);
document.addEventListener("click", (event) => {
  if (dismissing) {
    dismissing = false;
    event.preventDefault();
    event.stopPropagation();
  }
}, true);
afterPress(() => { dismissing = false; }); // a press with no click (a scroll, a drag) swallows nothing later
document.addEventListener("focusin", (event) => {
  const menu = document.getElementById("account-menu");
  if (menu && menu.open && !menu.contains(event.target)) {
    menu.open = false;
  }
});
document.addEventListener("keydown", (event) => {
  const menu = document.getElementById("account-menu");
  if (event.key === "Escape" && menu && menu.open) {
    menu.open = false;
    menu.querySelector("summary").focus();
  }
});

// "Did you mean …?" (components/addresscheck.templ): the button posts the
// suggestion to sign-up, which shows the form again with it, passwords
// lost. Here it fills the field in place instead and checks it again, as
// leaving the field would.
document.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest("button[data-fill-field]") : null;
  const input = button && document.getElementById(button.dataset.fillField);
  if (!input || typeof htmx === "undefined") {
    return;
  }
  event.preventDefault();
  input.value = button.value;
  input.focus();
  htmx.trigger(input, "blur");
});

// A request htmx sends in place that fails (Shelf cannot save just now, the
// form has expired, the server cannot be reached) is not swapped in (see
// htmxConfig in components/layout.templ), so the page would change nothing
// and say nothing. Its message is shown in #request-error instead: the
// heading and first line of the error page the server answered with, or
// what happened when there was no answer. The next request that succeeds
// clears it.
function showRequestError(text) {
  const box = document.getElementById("request-error");
  if (box) {
    box.textContent = text;
    box.hidden = false;
  }
}

document.addEventListener("htmx:responseError", (event) => {
  const xhr = event.detail.xhr;
  let text = "";
  if ((xhr.getResponseHeader("Content-Type") || "").startsWith("text/html")) {
    const page = new DOMParser().parseFromString(xhr.responseText, "text/html");
    const parts = [page.querySelector("main .empty h1"), page.querySelector("main .empty p")];
    text = parts.filter((e) => e).map((e) => e.textContent.trim()).join(". ").replace(/\.\. /, ". ");
  }
  showRequestError(text || (xhr.status >= 500
    ? "Shelf could not do that just now. Nothing was changed; try again in a moment."
    : "That did not work. Reload the page and try again."));
});

document.addEventListener("htmx:sendError", () => {
  showRequestError("Shelf could not be reached. Check your connection, then try again.");
});

document.addEventListener("htmx:afterRequest", (event) => {
  const box = document.getElementById("request-error");
  if (box && event.detail.successful) {
    box.hidden = true;
  }
});

