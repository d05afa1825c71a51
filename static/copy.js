// The Copy button beside a read-only field holding an address: a short
// link on My links and on a link's page, a shared shelf's public address on
// My books. Without JavaScript the field is still there to select and copy;
// this shows the button, which copies the field's text and says so in the
// live region its data-copy-status names.
"use strict";

function announce(button, text) {
  const status = document.getElementById(button.getAttribute("data-copy-status"));
  if (!status) {
    return;
  }
  // The same words twice in a row are announced again only as a change.
  status.textContent = "";
  setTimeout(() => {
    status.textContent = text;
  }, 50);
}

document.addEventListener("click", async (event) => {
  const button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
  if (!button) {
    return;
  }
  const field = document.getElementById(button.getAttribute("data-copy"));
  if (!field) {
    return;
  }
  try {
    await navigator.clipboard.writeText(field.value);
    announce(button, "Copied " + field.value);
  } catch {
    field.focus();
    field.select();
    announce(button, "Copying did not work here: the address is selected, press Ctrl+C (⌘C on a Mac) to copy it.");
  }
});

// A click in the field selects the whole address, ready to copy.
document.addEventListener("focusin", (event) => {
  if (event.target instanceof HTMLTextAreaElement && event.target.closest(".copy-field")) {
    event.target.select();
  }
});

// Where CSS cannot make the field as tall as its lines (field-sizing), this
// does, so that a long address shows whole.
if (!CSS.supports("field-sizing", "content")) {
  const fit = () => {
    document.querySelectorAll(".copy-field textarea").forEach((field) => {
      field.style.height = "auto";
      field.style.height = field.scrollHeight + field.offsetHeight - field.clientHeight + "px";
    });
  };
  fit();
  addEventListener("resize", fit);
}

document.querySelectorAll("[data-copy]").forEach((b) => b.removeAttribute("hidden"));
