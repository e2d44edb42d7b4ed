/* omscds web page: progressive enhancement only. Every feature works without this file
   (forms post to the server); this adds test rows, the in-place what-if, printing, the age
   read out as it is typed, a draft of the form kept in this browser's localStorage, and filling
   the form from a shared #case= link (the fragment never reaches a server).
   No clinical logic or numbers live here: the server computes and renders everything. */
(function () {
  "use strict";

  function renumber() {
    var rows = document.querySelectorAll("#test-rows .test-row");
    rows.forEach(function (row, i) {
      var n = row.querySelector(".row-number");
      if (n) { n.textContent = String(i + 1); }
      var rm = row.querySelector(".remove-test");
      if (rm) { rm.setAttribute("aria-label", rm.getAttribute("aria-label").replace(/\d+(?=\)$)|__n__/, String(i + 1))); }
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

  function addRow(index) {
    var tpl = document.getElementById("test-row-template");
    var box = document.getElementById("test-rows");
    if (!tpl || !box) { return null; }
    var i = String(index === undefined ? nextIndex() : index);
    var html = tpl.innerHTML.split("__i__").join(i).split("__n__").join(i);
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var row = holder.firstElementChild;
    row.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });
    row.removeAttribute("data-blank");
    box.appendChild(row);
    renumber();
    if (index === undefined) {
      var first = row.querySelector("select, input");
      if (first) { first.focus(); }
    }
    return row;
  }

  function setupForm() {
    document.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });
    // With JavaScript, spare blank rows are replaced by the "Add a test" button.
    document.querySelectorAll('#test-rows .test-row[data-blank="1"]').forEach(function (row) {
      row.parentNode.removeChild(row);
    });
    var add = document.getElementById("add-test");
    if (add) { add.addEventListener("click", function () { addRow(); saveDraft(); }); }
    document.addEventListener("click", function (ev) {
      var t = ev.target;
      if (t.closest && t.closest(".remove-test")) {
        var row = t.closest(".test-row");
        if (row) { row.parentNode.removeChild(row); renumber(); saveDraft(); if (add) { add.focus(); } }
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

  // "hypothetical" while a what-if result is shown: the banner stays in view (CSS) and the PDF
  // and Save buttons read "the actual case"
  function setView(view) {
    var box = document.getElementById("result-view");
    if (box) { box.setAttribute("data-view", view); }
  }

  function showBanner(text) {
    var banner = document.getElementById("whatif-banner");
    if (!banner) { return; }
    banner.querySelector(".text").textContent = text;
    banner.hidden = false;
    setView("hypothetical");
    var reset = banner.querySelector(".whatif-reset");
    if (reset && !reset.dataset.bound) {
      reset.dataset.bound = "1";
      reset.addEventListener("submit", function (ev) {
        if (original === null) { return; }
        ev.preventDefault();
        document.getElementById("assessment-slot").innerHTML = original;
        original = null;
        banner.hidden = true;
        setView("actual");
      });
    }
  }

  // focus an element without letting the sticky banner cover it
  function focusBelowBanner(el) {
    el.setAttribute("tabindex", "-1");
    el.focus({preventScroll: true});
    var banner = document.getElementById("whatif-banner");
    var offset = banner && !banner.hidden ? banner.getBoundingClientRect().height + 8 : 8;
    window.scrollBy(0, el.getBoundingClientRect().top - offset);
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
        if (heading) { focusBelowBanner(heading); }
      }).catch(function () { form.submit(); });
    });
  }

  // -- the age in years and months, as typed (the server's strings, from data attributes) --
  function setupAge() {
    var input = document.getElementById("f-age_months");
    var out = document.getElementById("age-readout");
    if (!input || !out) { return; }
    function fill(fmt, y, m, total) {
      return fmt.replace("%(y)s", String(y)).replace("%(m)s", String(m)).replace("%(total)s", String(total));
    }
    input.addEventListener("input", function () {
      var text = input.value.trim();
      var v = Number(text);
      if (text === "" || !isFinite(v) || v < 0 || v >= 2000) { out.textContent = ""; return; }
      var y = Math.floor(v / 12);
      var m = parseFloat((v - 12 * y).toFixed(6));
      var fmt = y && m ? out.dataset.ym : (y ? out.dataset.y : out.dataset.m);
      out.textContent = fill(fmt, y, m, v);
    });
  }

  // -- the draft: the form's fields (as they would be posted) in localStorage, never sent --
  var DRAFT_KEY = "omscds.draft.v1";
  var ROW_FIELD = /^tests\[(\d+)\]\.(\w+)$/;

  function caseForm() { return document.getElementById("case-form"); }

  function storage() {
    try { return window.localStorage; } catch (e) { return null; }
  }

  function entries() {
    var out = [];
    new FormData(caseForm()).forEach(function (value, name) {
      if (name !== "csrf_token" && typeof value === "string") { out.push([name, value]); }
    });
    return out;
  }

  function saveDraft() {
    var form = caseForm(), store = storage();
    if (!form || !store) { return; }
    try { store.setItem(DRAFT_KEY, JSON.stringify({v: 1, fields: entries()})); } catch (e) { /* full or off */ }
  }

  function clearDraft() {
    var store = storage();
    if (store) { store.removeItem(DRAFT_KEY); }
  }

  function status(key) {
    var box = document.getElementById("draft-status");
    if (!box) { return; }
    box.querySelector(".text").textContent = key ? box.dataset[key] : "";
    box.hidden = !key;
  }

  // every field back to its blank value, no test rows, no example
  function blankForm() {
    var form = caseForm();
    document.querySelectorAll("#test-rows .test-row").forEach(function (row) { row.parentNode.removeChild(row); });
    Array.prototype.slice.call(form.elements).forEach(function (el) {
      if (!el.name || el.name === "csrf_token") { return; }
      if (el.type === "radio") { el.checked = el.value === "unknown"; }
      else if (el.type === "checkbox") { el.checked = false; }
      else if (el.tagName === "SELECT") { el.selectedIndex = 0; }
      else if (el.name === "example") { el.parentNode.removeChild(el); }
      else if (el.tagName !== "BUTTON") { el.value = ""; }
    });
    var sex = form.elements.sex;
    if (sex) { sex.value = "unknown"; }
  }

  // fill the form from [name, value] pairs (the draft's, or a shared case's)
  function applyEntries(list) {
    var form = caseForm();
    blankForm();
    var rows = [];
    list.forEach(function (e) {
      var m = ROW_FIELD.exec(e[0]);
      if (m && rows.indexOf(Number(m[1])) < 0) { rows.push(Number(m[1])); }
    });
    rows.sort(function (a, b) { return a - b; }).forEach(function (i) { addRow(i); });
    list.forEach(function (e) {
      var name = e[0], value = e[1];
      var els = form.querySelectorAll('[name="' + name.replace(/"/g, "") + '"]');
      if (!els.length && name === "example") { return; }
      Array.prototype.forEach.call(els, function (el) {
        if (el.type === "radio" || el.type === "checkbox") { if (el.value === value) { el.checked = true; } }
        else { el.value = value; }
      });
    });
    renumber();
    var age = document.getElementById("f-age_months");
    if (age) { age.dispatchEvent(new Event("input")); }
  }

  function has(name) { return !!caseForm().querySelector('[name="' + name + '"]'); }

  // a case document -> the form's fields (what the server's CaseForm.from_case does)
  function caseEntries(c) {
    var out = [], rest = {}, SHOWN = ["case_id", "age_months", "sex", "findings", "history", "tests"];
    Object.keys(c).forEach(function (k) { if (SHOWN.indexOf(k) < 0) { rest[k] = c[k]; } });
    if (c.case_id) { out.push(["case_id", String(c.case_id)]); }
    if (c.age_months !== undefined && c.age_months !== null) { out.push(["age_months", String(c.age_months)]); }
    out.push(["sex", c.sex ? String(c.sex) : "unknown"]);
    var findings = c.findings || {}, otherF = {};
    Object.keys(findings).forEach(function (k) {
      if (has("findings." + k)) { out.push(["findings." + k, String(findings[k])]); } else { otherF[k] = findings[k]; }
    });
    if (Object.keys(otherF).length) { rest.findings = otherF; }
    var history = c.history || {}, otherH = {};
    Object.keys(history).forEach(function (k) {
      var v = history[k];
      if (has("history." + k) && v !== null && typeof v !== "object") {
        out.push(["history." + k, v === true ? "yes" : (v === false ? "no" : String(v))]);
      } else { otherH[k] = v; }
    });
    if (Object.keys(otherH).length) { rest.history = otherH; }
    var ROW = ["modality", "regions", "result", "date", "findings", "location", "histology", "note"];
    (c.tests || []).forEach(function (t, i) {
      var p = "tests[" + i + "].", extra = {};
      Object.keys(t).forEach(function (k) { if (ROW.indexOf(k) < 0) { extra[k] = t[k]; } });
      ["modality", "result", "date", "location", "histology", "note"].forEach(function (k) {
        if (t[k] !== undefined && t[k] !== null) { out.push([p + k, String(t[k])]); }
      });
      (t.regions || []).forEach(function (r) { out.push([p + "regions", String(r)]); });
      if (t.findings && t.findings.length) { out.push([p + "findings", t.findings.join(", ")]); }
      out.push([p + "extra", Object.keys(extra).length ? JSON.stringify(extra) : ""]);
    });
    out.push(["extra", Object.keys(rest).length ? JSON.stringify(rest) : ""]);
    return out;
  }

  function fromBase64url(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }
    return new TextDecoder().decode(bytes);
  }

  // #case=<base64url JSON>: fill the form, then drop the fragment (the case is now the draft)
  function openSharedCase() {
    var m = /^#case=([A-Za-z0-9_-]+)$/.exec(window.location.hash);
    if (!m || !caseForm()) { return false; }
    try {
      var c = JSON.parse(fromBase64url(m[1]));
      if (!c || typeof c !== "object" || Array.isArray(c)) { throw new Error("not a case"); }
      applyEntries(caseEntries(c));
      status("shared");
      saveDraft();
    } catch (e) {
      status("badLink");
    }
    history.replaceState(null, "", window.location.pathname + window.location.search);
    var form = caseForm();
    if (form) { form.scrollIntoView(); }
    return true;
  }

  function setupDraft() {
    var form = caseForm();
    if (!form || !storage()) { return; }
    if (!openSharedCase() && form.getAttribute("data-draft") === "restore") {
      var saved = null;
      try { saved = JSON.parse(storage().getItem(DRAFT_KEY) || "null"); } catch (e) { saved = null; }
      if (saved && saved.v === 1 && Array.isArray(saved.fields)) {
        applyEntries(saved.fields);
        status("restored");
      }
    }
    form.addEventListener("input", saveDraft);
    form.addEventListener("change", saveDraft);
    var clear = document.getElementById("clear-draft");
    if (clear) {
      clear.addEventListener("click", function () {
        clearDraft();
        blankForm();
        status("");
        var age = document.getElementById("f-age_months");
        if (age) { age.dispatchEvent(new Event("input")); age.focus(); }
      });
    }
    // logging out forgets the draft: the next user of this browser does not see it
    document.querySelectorAll("form.logout").forEach(function (f) { f.addEventListener("submit", clearDraft); });
    window.addEventListener("hashchange", openSharedCase);
  }

  function setupShare() {
    var link = document.getElementById("share-link");
    var copy = document.getElementById("copy-share");
    if (!link || !copy) { return; }
    copy.addEventListener("click", function () {
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(link.href).then(function () {
          copy.textContent = copy.getAttribute("data-copied") || copy.textContent;
        }, function () {});
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupForm();
    setupWhatIf();
    setupAge();
    setupDraft();
    setupShare();
  });
})();
