// The top bar's search box: the / key focuses it, unless the user is typing somewhere;
// Escape in the box leaves it. The form itself needs no script.
document.addEventListener("keydown", (event) => {
  if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
  const target = event.target;
  if (target instanceof Element && target.closest("input, textarea, select, [contenteditable]:not([contenteditable=false])")) return;
  // An open dialog (Add Key(s)) keeps the keyboard.
  if (document.querySelector("dialog[open]")) return;
  const box = document.getElementById("topbar-search");
  if (!box) return;
  event.preventDefault();
  box.focus();
  box.select();
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && event.target instanceof Element && event.target.id === "topbar-search") {
    event.target.blur();
  }
});
