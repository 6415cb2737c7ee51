/* Speculum mirror site: optional enhancements; every page works without them.
   - search filter: an input[data-filter=ID] hides the table rows of #ID that do
     not match (and groups [data-group] left empty); "/" focuses it
   - relative times: time[data-rel] (or any time in a [data-rel] element) reads
     "3 hours ago", the exact time in a tooltip
   - a copy button in the head of each code box */
(function () {
  "use strict";

  function norm(s) { return s.toLowerCase().replace(/\s+/g, " "); }

  function setupFilter(input) {
    var root = document.getElementById(input.dataset.filter);
    if (!root) return;
    var box = input.closest(".filter");
    var count = box.querySelector("[data-count]");
    var empty = document.querySelector('[data-empty="' + input.dataset.filter + '"]');
    var rows = Array.prototype.map.call(root.querySelectorAll("tbody tr"), function (row) {
      return { el: row, text: norm(row.textContent + " " + (row.dataset.extra || "")) };
    });
    var groups = root.querySelectorAll("[data-group]");
    function apply() {
      var words = norm(input.value).trim().split(" ").filter(Boolean);
      var shown = 0;
      rows.forEach(function (r) {
        var ok = words.every(function (w) { return r.text.indexOf(w) >= 0; });
        r.el.hidden = !ok;
        if (ok) shown++;
      });
      Array.prototype.forEach.call(groups, function (g) {
        g.hidden = !g.querySelector("tbody tr:not([hidden])");
      });
      count.textContent = words.length ? shown + " of " + rows.length + " shown" : rows.length + " projects";
      if (empty) empty.hidden = shown > 0;
    }
    input.addEventListener("input", apply);
    var q = new URLSearchParams(location.search).get("q");
    if (q) input.value = q;
    box.hidden = false;
    apply();
  }

  var UNITS = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400],
    ["hour", 3600], ["minute", 60]];

  function relative(seconds, fmt) {
    var abs = Math.abs(seconds);
    if (abs < 60) return seconds <= 0 ? "just now" : "in less than a minute";
    for (var i = 0; i < UNITS.length; i++) {
      if (abs >= UNITS[i][1]) {
        var n = Math.round(seconds / UNITS[i][1]);
        if (fmt) return fmt.format(n, UNITS[i][0]);
        var m = Math.abs(n), word = UNITS[i][0] + (m === 1 ? "" : "s");
        return n < 0 ? m + " " + word + " ago" : "in " + m + " " + word;
      }
    }
  }

  function relativeTimes() {
    var fmt = window.Intl && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat("en", { numeric: "auto" }) : null;
    var now = Date.now();
    document.querySelectorAll("time[data-rel], [data-rel] time").forEach(function (t) {
      var when = Date.parse(t.getAttribute("datetime"));
      if (isNaN(when)) return;
      if (!t.title) t.title = t.textContent;
      // a past event (only next runs are in the future) on a visitor's slow clock
      if (when > now && !t.hasAttribute("data-future")) when = now;
      t.textContent = relative((when - now) / 1000, fmt);
    });
  }

  function copyButtons() {
    if (!navigator.clipboard) return;
    document.querySelectorAll(".codebox").forEach(function (box) {
      var code = box.querySelector("pre code"), head = box.querySelector(".codehead");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "copy";
      button.textContent = "Copy";
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(code.textContent).then(function () {
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = "Copy"; }, 1500);
        });
      });
      head.appendChild(button);
    });
  }

  document.querySelectorAll("input[data-filter]").forEach(setupFilter);
  document.addEventListener("keydown", function (e) {
    var input = document.querySelector("input[data-filter]");
    var tag = document.activeElement && document.activeElement.tagName;
    if (e.key === "/" && input && tag !== "INPUT" && tag !== "TEXTAREA") {
      e.preventDefault();
      input.focus();
    }
  });
  relativeTimes();
  setInterval(relativeTimes, 60000);
  copyButtons();
})();
