// The recovery-codes page: copy the codes, or print them. Without
// JavaScript the page still offers the download and shows the codes.
"use strict";

document.addEventListener("click", async (event) => {
  const target = event.target instanceof Element ? event.target.closest("[data-copy], [data-print]") : null;
  if (!target) {
    return;
  }
  if (target.hasAttribute("data-print")) {
    window.print();
    return;
  }
  const source = document.getElementById(target.getAttribute("data-copy"));
  const status = document.getElementById("copy-status");
  try {
    await navigator.clipboard.writeText(source.textContent.trim());
    if (status) status.textContent = "Copied.";
  } catch {
    if (status) status.textContent = "Copying did not work here: select the codes and copy them.";
  }
});

document.querySelectorAll("[data-copy], [data-print]").forEach((b) => b.removeAttribute("hidden"));
