// "My links" and a link's page: the Copy button next to each short URL.
// Without JavaScript the URL is a read-only field to select and copy.
"use strict";

function announce(text) {
  const status = document.getElementById("link-status");
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
    announce("Copied " + field.value);
  } catch {
    field.focus();
    field.select();
    announce("Copying did not work here: the link is selected, press Ctrl+C (⌘C on a Mac) to copy it.");
  }
});

// A click in the field selects the whole link, ready to copy.
document.addEventListener("focusin", (event) => {
  if (event.target instanceof HTMLTextAreaElement && event.target.classList.contains("short-url")) {
    event.target.select();
  }
});

// Where CSS cannot make the field as tall as its lines (field-sizing), this
// does, so that a long address shows whole.
if (!CSS.supports("field-sizing", "content")) {
  const fit = () => {
    document.querySelectorAll("textarea.short-url").forEach((field) => {
      field.style.height = "auto";
      field.style.height = field.scrollHeight + field.offsetHeight - field.clientHeight + "px";
    });
  };
  fit();
  addEventListener("resize", fit);
}

document.querySelectorAll("[data-copy]").forEach((b) => b.removeAttribute("hidden"));
