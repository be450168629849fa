/* Community Trigger published figures: include once where the table should appear.
 *
 *   <script src="https://<api>/stats/widget.js" data-area="hart" defer></script>
 *
 * It draws an accessible table (caption, column and row headers) right after the script tag,
 * inside a shadow root so the council page's styles and ours never affect each other. All text
 * is set with textContent: nothing from the network is parsed as HTML. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) { return; }
  var area = script.getAttribute("data-area") || "";
  var body = script.getAttribute("data-appeals-body") || "";
  var base = script.src.replace(/\/stats\/widget\.js(\?.*)?$/, "");
  var host = document.createElement("div");
  host.className = "community-trigger-stats";
  script.parentNode.insertBefore(host, script.nextSibling);
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;

  var style = document.createElement("style");
  style.textContent =
    ":host{display:block;font:inherit;color:inherit}" +
    "table{border-collapse:collapse;width:100%;margin:0 0 1em}" +
    "caption{text-align:left;font-weight:bold;padding:0 0 .5em}" +
    "th,td{border-bottom:1px solid #b1b4b6;padding:.4em .8em .4em 0;text-align:left;vertical-align:top}" +
    "td{text-align:right;font-variant-numeric:tabular-nums}" +
    "th[scope=row]{white-space:nowrap}";
  root.appendChild(style);

  function el(tag, text, attrs) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }

  function render(data) {
    var table = el("table");
    table.appendChild(el("caption", "Community Trigger (ASB case review) figures: " + data.name +
      (data.reporting_year.basis === "financial" ? ", by financial year (1 April to 31 March)" : "")));
    var head = el("thead");
    var row = el("tr");
    row.appendChild(el("th", "Year", { scope: "col" }));
    var names = Object.keys(data.labels);
    names.forEach(function (name) { row.appendChild(el("th", data.labels[name], { scope: "col" })); });
    head.appendChild(row);
    table.appendChild(head);
    var tbody = el("tbody");
    data.years.forEach(function (year) {
      var tr = el("tr");
      tr.appendChild(el("th", year.label, { scope: "row" }));
      names.forEach(function (name) { tr.appendChild(el("td", year.counts[name])); });
      tbody.appendChild(tr);
    });
    table.appendChild(tbody);
    root.appendChild(table);
  }

  var query = area ? "area=" + encodeURIComponent(area) : "appeals_body=" + encodeURIComponent(body);
  fetch(base + "/stats?" + query, { headers: { Accept: "application/json" } })
    .then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    })
    .then(render)
    .catch(function () {
      root.appendChild(el("p", "The Community Trigger figures could not be loaded. Please try again later."));
    });
}());
