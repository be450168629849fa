/* The applicant's form, enhanced. The form works without this script (it posts to the API, which
   answers with the next page); with it:
   (a) a section that depends on a radio (the applicant's details, "other" home type) is shown
       only when that radio is chosen;
   (b) "Add another incident" adds an incident in the page, without a round trip;
   (c) "Continue" shows the answers to check in the page, and "Send application" sends them to the
       API as JSON; the API's errors are shown at the top and next to each field, and its receipt
       as a confirmation.
   No dependencies, no inline handlers; text is only ever set with textContent, never as HTML.
   Element ids follow the server's rule (chalicelib/form.py element_id): an API path with "[" as
   "-", "]" dropped and "." as "-"; a date's first box is "<id>-day". */
(function () {
  "use strict";

  var doc = document;
  doc.documentElement.classList.add("js-enabled");

  var MAX_INCIDENTS = 50;
  var DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
  var MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December"];
  var PART = /^([a-z_][a-z0-9_]*)(?:\[(\d+)\])?$/;
  var SAFE_ID = /^[A-Za-z0-9_-]+$/;

  // ------------------------------------------------------------ small helpers

  function toArray(list) {
    return Array.prototype.slice.call(list);
  }

  function elementId(path) {
    return path.replace(/\[/g, "-").replace(/\]/g, "").replace(/\./g, "-");
  }

  function byName(root, name) {
    return toArray(root.querySelectorAll("input, select, textarea")).filter(function (el) {
      return el.name === name;
    });
  }

  function make(tag, className, text) {
    var el = doc.createElement(tag);
    if (className) {
      el.className = className;
    }
    if (text !== undefined && text !== null) {
      el.textContent = text;
    }
    return el;
  }

  function pad(digits, width) {
    var text = String(parseInt(digits, 10));
    while (text.length < width) {
      text = "0" + text;
    }
    return text;
  }

  /* "2026-11-27" -> "Friday 27 November 2026"; anything else is returned as it is. */
  function longDate(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(iso || ""));
    if (!m) {
      return iso ? String(iso) : "";
    }
    var d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
    if (d.getUTCFullYear() !== +m[1] || d.getUTCMonth() !== +m[2] - 1 || d.getUTCDate() !== +m[3]) {
      return String(iso);
    }
    return DAYS[d.getUTCDay()] + " " + d.getUTCDate() + " " + MONTHS[d.getUTCMonth()] + " " + d.getUTCFullYear();
  }

  function describedBy(el, add, remove) {
    var ids = (el.getAttribute("aria-describedby") || "").split(/\s+/).filter(function (id) {
      return id && id !== add && !(remove && remove(id));
    });
    if (add) {
      ids.push(add);
    }
    if (ids.length) {
      el.setAttribute("aria-describedby", ids.join(" "));
    } else {
      el.removeAttribute("aria-describedby");
    }
  }

  // ------------------------------------------------------------ (a) conditional sections

  function setupConditionals(form) {
    toArray(form.querySelectorAll("[data-conditional-on]")).forEach(function (block) {
      var wanted = block.getAttribute("data-conditional-value");
      var radios = byName(form, block.getAttribute("data-conditional-on")).filter(function (el) {
        return el.type === "radio";
      });
      if (!radios.length) {
        return;
      }
      // A section the server showed with an error in it stays open until a radio is changed.
      var hasError = Boolean(block.querySelector(".error-message"));

      function update(first) {
        var show = radios.some(function (r) {
          return r.checked && r.value === wanted;
        });
        block.hidden = !(show || (first === true && hasError));
      }

      radios.forEach(function (r) {
        if (r.value === wanted && block.id) {
          r.setAttribute("aria-controls", block.id);
        }
        r.addEventListener("change", update);
      });
      update(true);
    });
  }

  /* The victim's fields autofill the user's own details when the user is the victim; not when
     they apply for someone else. */
  function setupAutocomplete(form) {
    var radios = byName(form, "basis");
    var fields = toArray(form.querySelectorAll("[autocomplete^='section-victim']"));
    fields.forEach(function (el) {
      el.setAttribute("data-autocomplete", el.getAttribute("autocomplete"));
    });

    function update() {
      var onBehalf = radios.some(function (r) {
        return r.checked && r.value === "on_behalf";
      });
      fields.forEach(function (el) {
        el.setAttribute("autocomplete", onBehalf ? "off" : el.getAttribute("data-autocomplete"));
      });
    }

    radios.forEach(function (r) {
      r.addEventListener("change", update);
    });
    update();
  }

  // ------------------------------------------------------------ errors in the page

  function clearErrors(root) {
    var nodes = [root].concat(toArray(root.querySelectorAll("*")));
    toArray(root.querySelectorAll(".error-message")).forEach(function (el) {
      el.parentNode.removeChild(el);
    });
    nodes.forEach(function (el) {
      if (!el.classList) {
        return;
      }
      el.classList.remove("form-group--error", "input--error", "textarea--error", "select--error");
      if (el.hasAttribute("aria-invalid")) {
        el.removeAttribute("aria-invalid");
      }
      if (el.hasAttribute("aria-describedby")) {
        describedBy(el, null, function (id) {
          return /-error$/.test(id);
        });
      }
    });
  }

  /* Where a field's inline error goes: after its legend, label and hint, before its control. */
  function slotFor(group) {
    var container = group;
    if (group.tagName !== "FIELDSET" && group.firstElementChild && group.firstElementChild.tagName === "FIELDSET") {
      container = group.firstElementChild;
    }
    var child = container.firstElementChild;
    while (child && (/^(LEGEND|LABEL|H2|H3)$/.test(child.tagName) || child.classList.contains("hint") ||
                     child.classList.contains("content") || child.classList.contains("error-message"))) {
      child = child.nextElementSibling;
    }
    return { container: container, before: child };
  }

  function controlsOf(group, fieldId) {
    var date = group.querySelector(".date-input");
    if (date) {
      return toArray(date.querySelectorAll("input"));
    }
    var el = doc.getElementById(fieldId);
    if (el && /^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName) && el.type !== "radio") {
      return [el];
    }
    return [];
  }

  function showInlineError(form, fieldId, message) {
    var group = form.querySelector("[data-field='" + fieldId + "']");
    if (!group || doc.getElementById(fieldId + "-error")) {
      return;
    }
    var slot = slotFor(group);
    var p = make("p", "error-message");
    p.id = fieldId + "-error";
    p.appendChild(make("span", "visually-hidden", "Error:"));
    p.appendChild(doc.createTextNode(" " + message));
    slot.container.insertBefore(p, slot.before);
    group.classList.add("form-group--error");
    var described = slot.container.tagName === "FIELDSET" ? slot.container : doc.getElementById(fieldId);
    if (described && /^(INPUT|SELECT|TEXTAREA|FIELDSET)$/.test(described.tagName)) {
      describedBy(described, p.id);
    }
    controlsOf(group, fieldId).forEach(function (el) {
      el.setAttribute("aria-invalid", "true");
      if (el.tagName === "TEXTAREA") {
        el.classList.add("textarea--error");
      } else if (el.tagName === "SELECT") {
        el.classList.add("select--error");
      } else if (el.type !== "checkbox") {
        el.classList.add("input--error");
      }
    });
  }

  /* The id the error summary links to: a date's day box, or the field (or its group) itself. */
  function anchorFor(fieldId) {
    if (doc.getElementById(fieldId + "-day")) {
      return fieldId + "-day";
    }
    return doc.getElementById(fieldId) ? fieldId : null;
  }

  /* An API error path -> the page's element id. Blank incidents are not sent, so the API's
     incidents[k] is the k-th incident sent: positions[k] is its place on the page. */
  function pathToId(path, positions) {
    var m = /^incidents\[(\d+)\](.*)$/.exec(path);
    if (m && positions && +m[1] < positions.length) {
      path = "incidents[" + positions[+m[1]] + "]" + m[2];
    }
    return elementId(path);
  }

  function showErrors(app, form, errors, positions) {
    var old = app.querySelector(".error-summary");
    if (old) {
      old.parentNode.removeChild(old);
    }
    clearErrors(form);
    var box = make("div", "error-summary");
    box.setAttribute("role", "alert");
    box.setAttribute("tabindex", "-1");
    box.setAttribute("aria-labelledby", "error-summary-title");
    var title = make("h2", "error-summary__title", "There is a problem");
    title.id = "error-summary-title";
    box.appendChild(title);
    var list = make("ul", "error-summary__list");
    errors.forEach(function (error) {
      var field = String(error.field || "");
      var message = String(error.message || "There is a problem with this answer");
      if (field === "Idempotency-Key") {
        message = "We may already have received this application. Check for our confirmation before sending it again.";
      }
      var id = pathToId(field, positions);
      var anchor = null;
      if (SAFE_ID.test(id)) {
        showInlineError(form, id, message);
        anchor = anchorFor(id);
      }
      var item = make("li");
      if (anchor) {
        var link = make("a", null, message);
        link.href = "#" + anchor;
        item.appendChild(link);
      } else {
        item.textContent = message;
      }
      list.appendChild(item);
    });
    box.appendChild(list);
    app.insertBefore(box, app.firstChild);
    doc.title = "Error: " + doc.title.replace(/^Error: /, "");
    box.focus();
  }

  /* Following a link in the error summary moves focus to the field itself (the first box of a
     date or an address), with its question in view. */
  function setupSummaryLinks() {
    doc.addEventListener("click", function (event) {
      var link = event.target.closest ? event.target.closest(".error-summary a") : null;
      if (!link) {
        return;
      }
      var target = doc.getElementById((link.getAttribute("href") || "").slice(1));
      if (!target) {
        return;
      }
      var control = /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName) ? target :
        target.querySelector("input:not([type='hidden']), select, textarea");
      if (!control) {
        return;
      }
      event.preventDefault();
      var fieldset = control.closest("fieldset");
      var question = (control.type === "radio" || control.closest(".date-input")) && fieldset ?
        fieldset.querySelector("legend") : doc.querySelector("label[for='" + control.id + "']");
      (question || control).scrollIntoView();
      control.focus({ preventScroll: true });
    });
  }

  // ------------------------------------------------------------ (b) add another incident

  function renumber(root, from, to) {
    var attributes = ["name", "id", "for", "aria-describedby", "aria-controls", "data-field"];
    [root].concat(toArray(root.querySelectorAll("*"))).forEach(function (el) {
      attributes.forEach(function (attribute) {
        var value = el.getAttribute(attribute);
        if (value === null) {
          return;
        }
        el.setAttribute(attribute, value
          .replace(new RegExp("incidents\\[" + from + "\\]", "g"), "incidents[" + to + "]")
          .replace(new RegExp("(^|\\s)incidents-" + from + "(?=-|\\s|$)", "g"), "$1incidents-" + to));
      });
    });
  }

  function clearFields(root) {
    toArray(root.querySelectorAll("input, select, textarea")).forEach(function (el) {
      if (el.type === "checkbox" || el.type === "radio") {
        el.checked = false;
        el.removeAttribute("checked");
      } else if (el.tagName === "SELECT") {
        toArray(el.options).forEach(function (option) {
          option.removeAttribute("selected");
        });
        el.selectedIndex = 0;
      } else if (el.tagName === "TEXTAREA") {
        el.value = "";
        el.textContent = "";
      } else if (el.type !== "hidden") {
        el.value = "";
        el.removeAttribute("value");
      }
    });
  }

  function setupAddIncident(form) {
    var button = toArray(form.querySelectorAll("button")).filter(function (b) {
      return b.name === "action" && b.value === "add_incident";
    })[0];
    if (!button) {
      return;
    }
    // An ordinary button now: Enter in a text field submits with "Continue" instead.
    button.type = "button";
    button.addEventListener("click", function (event) {
      event.preventDefault();
      var incidents = form.querySelectorAll("fieldset.incident");
      if (!incidents.length || incidents.length >= MAX_INCIDENTS) {
        return;
      }
      var last = incidents[incidents.length - 1];
      var from = parseInt(last.getAttribute("data-incident"), 10);
      var to = from + 1;
      var copy = last.cloneNode(true);
      renumber(copy, from, to);
      clearFields(copy);
      clearErrors(copy);
      copy.setAttribute("data-incident", String(to));
      var heading = copy.querySelector(".fieldset__heading") || copy.querySelector("legend");
      heading.textContent = "Incident " + (to + 1);
      last.parentNode.insertBefore(copy, last.nextSibling);
      if (incidents.length + 1 >= MAX_INCIDENTS) {
        button.hidden = true;
      }
      var first = copy.querySelector("input, select, textarea");
      if (first) {
        first.focus();
      }
    });
  }

  // ------------------------------------------------------------ (c) the answers as JSON

  function IndexMap() {}

  function setPath(tree, path, value) {
    var node = tree;
    var parts = path.split(".");
    for (var n = 0; n < parts.length; n += 1) {
      var m = PART.exec(parts[n]);
      if (!m) {
        return;
      }
      var key = m[1];
      var last = n === parts.length - 1;
      if (m[2] === undefined) {
        if (last) {
          node[key] = value;
        } else {
          if (typeof node[key] !== "object" || node[key] === null || node[key] instanceof IndexMap) {
            node[key] = {};
          }
          node = node[key];
        }
      } else {
        if (!(node[key] instanceof IndexMap)) {
          node[key] = new IndexMap();
        }
        if (last) {
          node[key][m[2]] = value;
        } else {
          if (typeof node[key][m[2]] !== "object" || node[key][m[2]] === null) {
            node[key][m[2]] = {};
          }
          node = node[key][m[2]];
        }
      }
    }
  }

  function indexes(map) {
    return Object.keys(map).map(Number).sort(function (a, b) { return a - b; });
  }

  function toLists(node) {
    if (node instanceof IndexMap) {
      return indexes(node).map(function (i) { return toLists(node[i]); });
    }
    if (node && typeof node === "object") {
      var out = {};
      Object.keys(node).forEach(function (key) { out[key] = toLists(node[key]); });
      return out;
    }
    return node;
  }

  function inHiddenSection(el) {
    var block = el.closest("[data-conditional-on]");
    while (block) {
      if (block.hidden) {
        return true;
      }
      block = block.parentElement ? block.parentElement.closest("[data-conditional-on]") : null;
    }
    return false;
  }

  /* The form as the API's JSON, as the server builds it from a posted form (chalicelib/form.py):
     dates joined as year-month-day, checkboxes true or false, empty answers left out, blank
     incidents dropped. Sections hidden by (a) are left out. */
  function readApplication(form) {
    var tree = {};
    var dates = {};
    var dateOrder = [];
    var key = "";
    toArray(form.elements).forEach(function (el) {
      var type = (el.type || "").toLowerCase();
      if (!el.name || el.disabled || el.tagName === "BUTTON" || /^(submit|button|reset|file)$/.test(type)) {
        return;
      }
      if (el.name === "action") {
        return;
      }
      if (el.name === "idempotency_key") {
        key = el.value;
        return;
      }
      if (inHiddenSection(el)) {
        return;
      }
      if (type === "radio") {
        if (el.checked) {
          setPath(tree, el.name, el.value);
        }
        return;
      }
      if (type === "checkbox") {
        setPath(tree, el.name, el.checked);
        return;
      }
      var datePart = /^(.+)\.(day|month|year)$/.exec(el.name);
      if (datePart) {
        if (!dates[datePart[1]]) {
          dates[datePart[1]] = {};
          dateOrder.push(datePart[1]);
        }
        dates[datePart[1]][datePart[2]] = el.value.trim();
        return;
      }
      if (el.value.trim() !== "") {
        setPath(tree, el.name, el.value);
      }
    });
    dateOrder.forEach(function (path) {
      var day = dates[path].day || "";
      var month = dates[path].month || "";
      var year = dates[path].year || "";
      if (!day && !month && !year) {
        return;
      }
      if (/^\d+$/.test(day) && /^\d+$/.test(month) && /^\d+$/.test(year)) {
        setPath(tree, path, pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2));
      } else {
        setPath(tree, path, year + "-" + month + "-" + day); // reported back as not a real date
      }
    });

    var pageIndexes = tree.incidents instanceof IndexMap ? indexes(tree.incidents) : [];
    var answers = toLists(tree);
    var kept = [];
    var positions = [];
    (answers.incidents || []).forEach(function (incident, n) {
      var filled = Object.keys(incident).some(function (k) {
        return incident[k] !== "" && incident[k] !== false && incident[k] !== null && incident[k] !== undefined;
      });
      if (filled) {
        kept.push(incident);
        positions.push(pageIndexes[n]);
      }
    });
    answers.incidents = kept;
    if (answers.basis !== "on_behalf") {
      delete answers.applicant;
      delete answers.victim_consent;
    }
    if (!key) {
      key = String(Date.now()) + "-" + String(Math.random()).slice(2);
      var hidden = byName(form, "idempotency_key")[0];
      if (hidden) {
        hidden.value = key;
      }
    }
    return { answers: answers, positions: positions, key: key };
  }

  /* A new Idempotency-Key for each visit, kept for every retry of it. The static page is built
     once for everyone, so a key written into it must never be used as it is; and no application
     is ever stored under an earlier key without its confirmation being shown. */
  function freshKey(form) {
    var hidden = byName(form, "idempotency_key")[0];
    var c = window.crypto;
    var key = "";
    if (c && c.randomUUID) {
      key = c.randomUUID();
    } else if (c && c.getRandomValues) {
      var bytes = new Uint8Array(16);
      c.getRandomValues(bytes);
      key = toArray(bytes).map(function (b) { return (b + 256).toString(16).slice(1); }).join("");
    }
    if (hidden && key) {
      hidden.value = key;
    }
  }

  // ------------------------------------------------------------ check your answers, in the page

  function choiceText(form, name) {
    var chosen = byName(form, name).filter(function (el) {
      return (el.type === "radio" && el.checked) || (el.tagName === "SELECT" && el.value);
    })[0];
    if (!chosen) {
      return "";
    }
    if (chosen.tagName === "SELECT") {
      return chosen.options[chosen.selectedIndex].textContent.trim();
    }
    var label = form.querySelector("label[for='" + chosen.id + "']");
    return label ? label.textContent.trim() : chosen.value;
  }

  function joined(values) {
    return values.filter(function (v) { return v; }).join(", ");
  }

  function yesNo(value) {
    return value ? "Yes" : "No";
  }

  function contactRows(form, prefix, person) {
    var address = person.address || {};
    return [
      ["Name", person.name],
      ["Address", joined([address.line1, address.line2, address.town, address.postcode])],
      ["Email", person.email],
      ["Phone", joined([person.daytime_phone, person.mobile_phone])],
      ["Contact by", choiceText(form, prefix + ".preferred_contact")]
    ];
  }

  function checkSections(form, read) {
    var a = read.answers;
    var victim = a.victim || {};
    var sections = [{ title: "Who is applying", rows: [["Applying as", choiceText(form, "basis")]] }];
    if (a.basis === "on_behalf") {
      var applicant = a.applicant || {};
      sections.push({ title: "Your details", rows: contactRows(form, "applicant", applicant).concat([
        ["How you know the person affected", choiceText(form, "applicant.relationship")],
        ["Organisation", applicant.organisation],
        ["Consent of the person affected", choiceText(form, "victim_consent")]
      ]) });
    }
    sections.push({ title: "The person affected", rows: [["Who is affected", choiceText(form, "victim.type")]]
      .concat(contactRows(form, "victim", victim))
      .concat([["Home", victim.tenure === "other" ? victim.tenure_other || "Other" : choiceText(form, "victim.tenure")],
        ["Landlord", victim.landlord]]) });
    var place = a.asb_location || {};
    sections.push({ title: "The anti-social behaviour", rows: [
      ["What is happening", a.summary], ["Where it happens", joined([place.description, place.postcode])]] });
    a.incidents.forEach(function (incident, n) {
      var p = "incidents[" + read.positions[n] + "]";
      sections.push({ title: "Incident " + (n + 1), rows: [
        ["Happened on", longDate(incident.happened_on)],
        ["What happened", incident.description],
        ["Reported by", incident.reported_by],
        ["Reported on", longDate(incident.reported_on)],
        ["Reported to", incident.reported_to],
        ["How it was reported", choiceText(form, p + ".how_reported")],
        ["Officer on site", choiceText(form, p + ".officer_type")],
        ["Their reference", incident.agency_reference],
        ["Hate incident or hate crime", yesNo(incident.hate_motivated)]
      ] });
    });
    if (!a.incidents.length) {
      sections.push({ title: "Incidents", rows: [["Incidents", ""]] });
    }
    var more = [["How it has affected people", a.impact], ["Action taken so far", a.action_taken],
      ["What you would like to happen", a.outcome_sought], ["What makes the person affected more vulnerable", a.special_circumstances],
      ["Anything else", a.other_information]].filter(function (row) { return row[1]; });
    if (more.length) {
      sections.push({ title: "More about the case", rows: more });
    }
    var equalities = Object.keys(a.equalities || {}).length;
    sections.push({ title: "Equality monitoring", rows: [
      ["Questions answered", equalities ? equalities + " of 6" : "None"]] });
    sections.push({ title: "Declaration", rows: [
      ["Keep me informed", yesNo(a.keep_informed)],
      ["Information sharing between agencies", yesNo(a.information_sharing_consent)],
      ["Information correct to the best of my knowledge", yesNo(a.declaration)]
    ] });
    return sections;
  }

  function summaryList(rows) {
    var list = make("dl", "summary-list");
    rows.forEach(function (row) {
      var line = make("div", "summary-list__row");
      line.appendChild(make("dt", "summary-list__key", row[0]));
      line.appendChild(make("dd", "summary-list__value pre-line", row[1] ? String(row[1]) : "Not given"));
      list.appendChild(line);
    });
    return list;
  }

  function Enhanced(form) {
    this.form = form;
    this.app = doc.getElementById("application") || form.parentNode;
    this.api = (form.getAttribute("data-api") || "").replace(/\/+$/, "");
    this.panel = null;
    this.sending = false;
  }

  Enhanced.prototype.showCheck = function () {
    var self = this;
    var read = readApplication(this.form);
    this.closeCheck();
    var panel = make("div", "check-answers");
    panel.id = "check-answers";
    var heading = make("h1", null, "Check your answers before sending your application");
    heading.setAttribute("tabindex", "-1");
    panel.appendChild(heading);
    var notice = make("div");
    panel.appendChild(notice);
    checkSections(this.form, read).forEach(function (section) {
      panel.appendChild(make("h2", null, section.title));
      panel.appendChild(summaryList(section.rows));
    });
    panel.appendChild(make("h2", null, "Now send your application"));
    panel.appendChild(make("p", "content", "By sending this application you confirm that, to the best of your " +
      "knowledge, the details you have given are correct, and that you understand the agencies taking part in " +
      "the review will share information about the case with each other."));
    var buttons = make("div", "button-group");
    var send = make("button", "button", "Send application");
    send.type = "button";
    var change = make("button", "button button--secondary", "Change your answers");
    change.type = "button";
    buttons.appendChild(send);
    buttons.appendChild(change);
    panel.appendChild(buttons);
    var status = make("p", "sending-status");
    status.setAttribute("role", "status");
    panel.appendChild(status);

    send.addEventListener("click", function () {
      self.send(read, send, status, notice);
    });
    change.addEventListener("click", function () {
      self.closeCheck();
      self.app.hidden = false;
      var title = self.app.querySelector("h1");
      if (title) {
        title.setAttribute("tabindex", "-1");
        title.focus();
      }
    });

    this.app.hidden = true;
    this.app.parentNode.insertBefore(panel, this.app.nextSibling);
    this.panel = panel;
    window.scrollTo(0, 0);
    heading.focus();
  };

  Enhanced.prototype.closeCheck = function () {
    if (this.panel && this.panel.parentNode) {
      this.panel.parentNode.removeChild(this.panel);
    }
    this.panel = null;
  };

  Enhanced.prototype.send = function (read, button, status, notice) {
    var self = this;
    if (this.sending) {
      return;
    }
    this.sending = true;
    button.setAttribute("aria-disabled", "true");
    status.textContent = "Sending your application…";
    while (notice.firstChild) {
      notice.removeChild(notice.firstChild);
    }

    function done() {
      self.sending = false;
      button.removeAttribute("aria-disabled");
      status.textContent = "";
    }

    window.fetch(this.api + "/applications", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Idempotency-Key": read.key },
      body: JSON.stringify(read.answers),
      credentials: "omit"
    }).then(function (response) {
      return response.text().then(function (text) {
        var body = null;
        try {
          body = text ? JSON.parse(text) : null;
        } catch (ignore) {
          body = null;
        }
        return { status: response.status, body: body };
      });
    }).then(function (result) {
      done();
      if (result.status >= 200 && result.status < 300 && result.body && result.body.reference) {
        self.showConfirmation(result.body);
      } else if (result.status >= 400 && result.status < 500 && result.body && Array.isArray(result.body.errors) &&
                 result.body.errors.length) {
        self.closeCheck();
        self.app.hidden = false;
        showErrors(self.app, self.form, result.body.errors, read.positions);
      } else {
        self.problem(notice);
      }
    }, function () {
      done();
      self.problem(notice);
    });
  };

  /* A network error or a fault on our side: say so, and keep everything typed. Sending again is
     safe: the same Idempotency-Key means the application is never stored twice. */
  Enhanced.prototype.problem = function (notice) {
    var box = make("div", "notification notification--error");
    box.setAttribute("role", "alert");
    box.setAttribute("tabindex", "-1");
    box.appendChild(make("h2", "notification__title", "Your application may not have been sent"));
    box.appendChild(make("p", null, "There is a problem with the service or with your internet connection. " +
      "Your answers are still on this page."));
    box.appendChild(make("p", null, "Try sending it again in a few minutes. It will not be sent twice."));
    notice.appendChild(box);
    box.focus();
  };

  Enhanced.prototype.showConfirmation = function (receipt) {
    var template = doc.getElementById("confirmation-template");
    var main = doc.getElementById("main-content");
    if (!template || !main) {
      return;
    }
    var page = template.content.cloneNode(true);
    var state = receipt.status === "awaiting_consent" ? "awaiting_consent" : "acknowledged";
    toArray(page.querySelectorAll("[data-when]")).forEach(function (el) {
      if (el.getAttribute("data-when") !== state) {
        el.parentNode.removeChild(el);
      }
    });
    toArray(page.querySelectorAll("[data-when-set]")).forEach(function (el) {
      if (!receipt[el.getAttribute("data-when-set")]) {
        el.parentNode.removeChild(el);
      }
    });
    toArray(page.querySelectorAll("[data-slot]")).forEach(function (el) {
      var slot = el.getAttribute("data-slot");
      if (slot === "reference") {
        el.textContent = String(receipt.reference);
      } else if (slot === "acknowledgement_due" || slot === "decision_due") {
        el.textContent = longDate(receipt[slot]);
      } else if (slot === "letters") {
        var letters = Array.isArray(receipt.letters) ? receipt.letters : [];
        letters.forEach(function (letter) {
          var who = letter.to === "applicant" ? "you" : "the person affected";
          el.appendChild(make("li", null, letter.channel === "email" ?
            "We " + (letter.status === "sent" ? "have emailed" : "are emailing") + " a letter to " + who +
              ". If it does not arrive, check the junk or spam folder." :
            "We will post a letter to " + who + "."));
        });
        if (!letters.length) {
          el.appendChild(make("li", null, "We will write to you using the contact details you gave."));
        }
      }
    });
    while (main.firstChild) {
      main.removeChild(main.firstChild);
    }
    main.appendChild(page);
    var parts = doc.title.split(" – ");
    doc.title = "Application sent" + (parts.length > 1 ? " – " + parts[parts.length - 1] : "");
    window.scrollTo(0, 0);
    var heading = main.querySelector("h1");
    if (heading) {
      heading.focus();
    }
  };

  // ------------------------------------------------------------ start

  function start() {
    var form = doc.getElementById("application-form");
    var summary = doc.querySelector(".error-summary");
    if (Element.prototype.closest) {
      setupSummaryLinks();
    }
    if (summary) {
      summary.focus();
    }
    if (!form) {
      return;
    }
    setupConditionals(form);
    setupAutocomplete(form);
    setupAddIncident(form);
    var canSend = window.fetch && window.JSON && Element.prototype.closest && doc.getElementById("confirmation-template") &&
      "content" in doc.createElement("template") && form.getAttribute("data-api");
    if (!canSend) {
      return; // the form posts to the server as it does without JavaScript
    }
    freshKey(form);
    var enhanced = new Enhanced(form);
    form.addEventListener("submit", function (event) {
      if (event.submitter && event.submitter.value === "add_incident") {
        return;
      }
      event.preventDefault();
      enhanced.showCheck();
    });
  }

  if (doc.readyState === "loading") {
    doc.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
