/* omscds web page: progressive enhancement only. Every feature works without this file
   (forms post to the server); this adds test rows, the in-place what-if and printing.
   No clinical logic or numbers live here: the server computes and renders everything. */
(function () {
  "use strict";

  function renumber() {
    var rows = document.querySelectorAll("#test-rows .test-row");
    rows.forEach(function (row, i) {
      var n = row.querySelector(".row-number");
      if (n) { n.textContent = String(i + 1); }
      var rm = row.querySelector(".remove-test");
      if (rm) { rm.setAttribute("aria-label", rm.getAttribute("aria-label").replace(/\d+$|__n__/, String(i + 1))); }
    });
  }

  function nextIndex() {
    var max = -1;
    document.querySelectorAll("#test-rows .test-row").forEach(function (row) {
      var i = parseInt(row.getAttribute("data-index"), 10);
      if (!isNaN(i) && i > max) { max = i; }
    });
    return max + 1;
  }

  function addRow() {
    var tpl = document.getElementById("test-row-template");
    var box = document.getElementById("test-rows");
    if (!tpl || !box) { return null; }
    var i = String(nextIndex());
    var html = tpl.innerHTML.split("__i__").join(i).split("__n__").join(i);
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var row = holder.firstElementChild;
    row.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });
    row.removeAttribute("data-blank");
    box.appendChild(row);
    renumber();
    var first = row.querySelector("select, input");
    if (first) { first.focus(); }
    return row;
  }

  function setupForm() {
    document.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });
    // With JavaScript, spare blank rows are replaced by the "Add a test" button.
    document.querySelectorAll('#test-rows .test-row[data-blank="1"]').forEach(function (row) {
      row.parentNode.removeChild(row);
    });
    var add = document.getElementById("add-test");
    if (add) { add.addEventListener("click", function () { addRow(); }); }
    document.addEventListener("click", function (ev) {
      var t = ev.target;
      if (t.closest && t.closest(".remove-test")) {
        var row = t.closest(".test-row");
        if (row) { row.parentNode.removeChild(row); renumber(); if (add) { add.focus(); } }
      }
      if (t.closest && t.closest('[data-action="print"]')) { window.print(); }
    });
    renumber();
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
  }

  var original = null;

  // the session's CSRF token, sent with every state-changing request made from script
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function showBanner(text) {
    var banner = document.getElementById("whatif-banner");
    if (!banner) { return; }
    banner.querySelector(".text").textContent = text;
    banner.hidden = false;
    var reset = banner.querySelector(".whatif-reset");
    if (reset && !reset.dataset.bound) {
      reset.dataset.bound = "1";
      reset.addEventListener("submit", function (ev) {
        if (original === null) { return; }
        ev.preventDefault();
        document.getElementById("assessment-slot").innerHTML = original;
        original = null;
        banner.hidden = true;
      });
    }
  }

  function setupWhatIf() {
    document.addEventListener("submit", function (ev) {
      var form = ev.target;
      if (!form.classList || !form.classList.contains("whatif-form") || !window.fetch) { return; }
      var button = ev.submitter;
      if (!button) { return; }
      ev.preventDefault();
      var body = {
        "case": JSON.parse(form.elements.case_json.value),
        "next_test": form.elements.whatif.value,
        "result": button.value
      };
      fetch("/api/whatif" + window.location.search, {
        method: "POST",
        headers: {"Content-Type": "application/json", "Accept": "application/json",
                  "X-CSRF-Token": csrfToken()},
        credentials: "same-origin",
        body: JSON.stringify(body)
      }).then(function (r) {
        if (!r.ok) { throw new Error("what-if failed: " + r.status); }
        return r.json();
      }).then(function (data) {
        var slot = document.getElementById("assessment-slot");
        if (original === null) { original = slot.innerHTML; }
        slot.innerHTML = data.html;
        showBanner(data.banner);
        var heading = slot.querySelector("#h-tumour");
        if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
      }).catch(function () { form.submit(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupForm();
    setupWhatIf();
  });
})();
