// Small behaviours that need no framework. Loaded as a file so the CSP needs no inline script.

// --- Dialogs --------------------------------------------------------------------------------
// A native modal dialog makes the rest of the page inert and closes on Escape. Here: focus
// goes back to the control that opened it, and Tab wraps inside it rather than leaving for the
// browser's own toolbar.
const dialogOpeners = new WeakMap();

document.addEventListener("click", (event) => {
  const opener = event.target.closest("[data-open-dialog]");
  if (opener) {
    const dialog = document.getElementById(opener.dataset.openDialog);
    if (dialog && dialog.showModal) {
      event.preventDefault();
      dialogOpeners.set(dialog, opener);
      dialog.showModal();
    }
  }
  const closer = event.target.closest("[data-close-dialog]");
  if (closer) { closer.closest("dialog")?.close(); }
});

// A link that opens a dialog is a button to its user: Space opens it too.
document.addEventListener("keydown", (event) => {
  if (event.key !== " ") return;
  const opener = event.target.closest?.("a[data-open-dialog]");
  if (opener) { event.preventDefault(); opener.click(); }
});

document.addEventListener("close", (event) => {
  const dialog = event.target;
  if (dialog.tagName !== "DIALOG") return;
  const opener = dialogOpeners.get(dialog);
  dialogOpeners.delete(dialog);
  // The opener may be gone (the page part around it was redrawn): then nothing to return to.
  if (opener && opener.isConnected) opener.focus();
}, true);

const FOCUSABLE = "a[href], button, input, select, textarea, summary, [tabindex]";

function focusables(container) {
  return [...container.querySelectorAll(FOCUSABLE)].filter(
    (el) => !el.disabled && el.tabIndex >= 0 && el.type !== "hidden" && el.getClientRects().length > 0,
  );
}

document.addEventListener("keydown", (event) => {
  if (event.key !== "Tab") return;
  const dialog = document.querySelector("dialog[open]:modal");
  if (!dialog) return;
  const items = focusables(dialog);
  if (!items.length) return;
  const first = items[0];
  const last = items[items.length - 1];
  if (event.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && (document.activeElement === last || !dialog.contains(document.activeElement))) {
    event.preventDefault();
    first.focus();
  }
});

// --- Tabs (WAI-ARIA tabs pattern) -----------------------------------------------------------
// Tab reaches the selected tab of a tablist; the arrow keys, Home and End move to another tab
// and open it. A tab that htmx redraws with its panel gets the focus back once redrawn.
let tabToFocus = null;

function rovingTabIndex(root) {
  root.querySelectorAll("[role=tablist]").forEach((list) => {
    const tabs = [...list.querySelectorAll("[role=tab]")];
    const selected = tabs.find((tab) => tab.getAttribute("aria-selected") === "true") || tabs[0];
    tabs.forEach((tab) => {
      tab.tabIndex = tab === selected ? 0 : -1;
      // Tabs passed over quickly with the arrows: the last one's answer wins, not the slowest.
      if (!tab.hasAttribute("hx-sync")) tab.setAttribute("hx-sync", "closest [role=tablist]:replace");
    });
  });
}

document.addEventListener("keydown", (event) => {
  const tab = event.target.closest?.("[role=tab]");
  const list = tab?.closest("[role=tablist]");
  if (!list) return;
  const tabs = [...list.querySelectorAll("[role=tab]")];
  const index = tabs.indexOf(tab);
  const moves = {
    ArrowRight: (index + 1) % tabs.length,
    ArrowLeft: (index - 1 + tabs.length) % tabs.length,
    Home: 0,
    End: tabs.length - 1,
  };
  if (!(event.key in moves)) return;
  event.preventDefault();
  const next = tabs[moves[event.key]];
  if (next === tab) return;
  next.focus();
  activateTab(next);
});

// htmx readies what it swapped in when it settles: a tab chosen before that waits for it.
let settling = false;
let tabToActivate = null;

function activateTab(tab) {
  if (settling) { tabToActivate = tab.id; return; }
  tabToFocus = tab.id;
  markMessagesSeen(); // the user chose it, with keys: the click below is the script's own
  tab.click();
}

document.addEventListener("htmx:afterSwap", () => { settling = true; });

document.addEventListener("DOMContentLoaded", () => rovingTabIndex(document));

// --- Messages shown once --------------------------------------------------------------------
// A message ("2 keys added.") belongs to the page it came with. The next thing the user does
// that htmx answers (another tab, another key) drops it; a message that answer brings itself
// (swapped into #messages) stays.
function markMessagesSeen() {
  document.querySelectorAll("#messages > *").forEach((message) => { message.dataset.seen = ""; });
}

function dropSeenMessages() {
  document.querySelectorAll("#messages > [data-seen]").forEach((message) => message.remove());
}

document.addEventListener("htmx:beforeRequest", (event) => {
  // Only what the user did: a panel that loads itself or a list that follows a change does not.
  if (event.detail.requestConfig?.triggeringEvent?.isTrusted) markMessagesSeen();
});
document.addEventListener("htmx:afterSwap", dropSeenMessages);
// Going Back to a page must not bring its old message back either.
document.addEventListener("htmx:beforeHistorySave", dropSeenMessages);

document.addEventListener("htmx:afterSettle", () => {
  settling = false;
  rovingTabIndex(document);
  if (tabToFocus) {
    document.getElementById(tabToFocus)?.focus();
    tabToFocus = null;
  }
  const waiting = tabToActivate && document.getElementById(tabToActivate);
  tabToActivate = null;
  if (waiting) { waiting.focus(); activateTab(waiting); }
  // A form redrawn inside an open dialog (its errors, another Product Type) keeps the focus
  // in the dialog: on the first field in error, else the first control.
  const dialog = document.querySelector("dialog[open]:modal");
  if (dialog && !dialog.contains(document.activeElement)) {
    (dialog.querySelector("[aria-invalid=true]") || focusables(dialog)[0])?.focus();
  }
});

// --- Time zone ------------------------------------------------------------------------------
// The browser's own zone: sent with the sign-in form (a user with none chosen gets it), and
// offered on the profile page when it is another one than the chosen.
document.addEventListener("DOMContentLoaded", () => {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  document.querySelectorAll("input[data-browser-time-zone]").forEach((input) => { input.value = zone; });
  document.querySelectorAll("[data-browser-time-zone-offer]").forEach((offer) => {
    const select = offer.closest("form")?.querySelector("select[name=time_zone]");
    const known = select && [...select.options].some((option) => option.value === zone);
    if (!known || select.value === zone) return;
    offer.querySelector("[data-browser-time-zone-name]").textContent = zone;
    offer.hidden = false;
    offer.querySelector("[data-use-browser-time-zone]").addEventListener("click", () => {
      select.value = zone;
      offer.closest("form").requestSubmit();
    });
  });
});

// Disable a form's submit buttons once it is sent: a double click sends it once.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.dataset.allowResubmit !== undefined) return;
  setTimeout(() => form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = true; }), 0);
});

// The Accounts/Sites tree: the + beside an account shows or hides its sites.
document.addEventListener("click", (event) => {
  const toggle = event.target.closest("[data-tree-toggle]");
  if (!toggle) return;
  const sites = document.getElementById(toggle.getAttribute("aria-controls"));
  if (!sites) return;
  const open = toggle.getAttribute("aria-expanded") !== "true";
  toggle.setAttribute("aria-expanded", String(open));
  sites.hidden = !open;
});
