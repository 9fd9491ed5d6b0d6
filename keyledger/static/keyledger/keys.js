// Key lists: "Select all on this page", "Select all N matching the filter" and the count of
// keys selected. Loaded with each key panel (htmx may swap one in many times): it listens
// on the document once, so it never needs to be set up again.
(() => {
  if (window.keyledgerKeyLists) return;
  window.keyledgerKeyLists = true;

  const rowsOf = (form) => [...form.querySelectorAll("[data-key-select]")];

  function update(form) {
    const rows = rowsOf(form);
    const checked = rows.filter((box) => box.checked).length;
    const page = form.querySelector("[data-select-page]");
    const all = form.querySelector("[data-select-all]");
    if (page) {
      page.checked = rows.length > 0 && checked === rows.length;
      page.indeterminate = checked > 0 && checked < rows.length;
    }
    const count = form.querySelector("[data-selected-count]");
    if (count) {
      if (all && all.checked) count.textContent = `All ${all.dataset.matching} selected, on every page`;
      else count.textContent = checked ? `${checked} selected` : "";
    }
  }

  document.addEventListener("change", (event) => {
    const box = event.target;
    const form = box.closest && box.closest("form.bulk-keys");
    if (!form) return;
    const all = form.querySelector("[data-select-all]");
    if (box.matches("[data-select-page]")) {
      rowsOf(form).forEach((row) => { row.checked = box.checked; });
      if (!box.checked && all) all.checked = false;
    } else if (box.matches("[data-select-all]")) {
      // Every key the filter shows, on every page: the page's own boxes show it too.
      rowsOf(form).forEach((row) => { row.checked = box.checked; });
    } else if (box.matches("[data-key-select]") && !box.checked && all) {
      all.checked = false;
    }
    update(form);
  });
})();
