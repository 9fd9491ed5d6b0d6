// Small behaviours that need no framework. Loaded as a file so the CSP needs no inline script.
document.addEventListener("click", (event) => {
  const opener = event.target.closest("[data-open-dialog]");
  if (opener) {
    const dialog = document.getElementById(opener.dataset.openDialog);
    if (dialog && dialog.showModal) { event.preventDefault(); dialog.showModal(); }
  }
  const closer = event.target.closest("[data-close-dialog]");
  if (closer) { closer.closest("dialog")?.close(); }
});
// Disable a form's submit buttons once it is sent: a double click sends it once.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.dataset.allowResubmit !== undefined) return;
  setTimeout(() => form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = true; }), 0);
});
