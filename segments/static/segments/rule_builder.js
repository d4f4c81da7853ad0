/* The segment rule builder: condition rows and nested groups drawn above the definition's
 * JSON textarea, which stays visible (advanced users edit it; the builder follows). Every
 * change writes the JSON and asks the server how many people match now (and shows a few).
 * The vocabulary (fields, operators, activity kinds) comes from the server's one checker. */
(function () {
  "use strict";

  function h(tag, attrs, children) {
    const el = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([key, value]) => {
      if (key === "text") el.textContent = value;
      else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else if (value !== undefined && value !== null) el.setAttribute(key, value);
    });
    (children || []).forEach((child) => child && el.appendChild(child));
    return el;
  }

  function select(options, current, onchange, label) {
    const el = h("select", {onchange: (e) => onchange(e.target.value), "aria-label": label},
      options.map(([value, text]) => h("option", {value: value, text: text})));
    el.value = current;
    return el;
  }

  function button(text, onclick, cls) {
    return h("button", {type: "button", class: cls || "rb-add", text: text,
                        onclick: (e) => { e.preventDefault(); onclick(); }});
  }

  function setup(root) {
    const textarea = document.getElementById(root.dataset.for);
    const vocab = JSON.parse(document.getElementById("segment-builder-vocabulary").textContent);
    const kindOf = {};
    vocab.fields.forEach((f) => { kindOf[f.name] = f.kind; });
    const tree = h("div", {class: "rb-tree"});
    const count = h("p", {class: "rb-count", "aria-live": "polite"});
    const sample = h("ul", {class: "rb-sample"});
    root.append(tree, count, sample);
    let state = null;
    let timer = null;

    const fieldKind = (name) => (name || "").startsWith("attributes.") ? "json" : kindOf[name];

    function write() {
      textarea.value = JSON.stringify(state, null, 1);
      preview();
    }
    function redraw() { write(); draw(); }

    function parseValue(kind, op, text) {
      if (op === "in" || op === "not_in") {
        return text.split(",").map((part) => part.trim()).filter(Boolean)
          .map((part) => parseValue(kind, "eq", part));
      }
      if (op === "within_days" || op === "older_than_days") return toNumber(text);
      if (kind === "number") return toNumber(text);
      if (kind === "json") {
        if (text === "true" || text === "false") return text === "true";
        if (/^-?\d+(\.\d+)?$/.test(text.trim())) return Number(text);
      }
      return text;
    }
    function toNumber(text) {
      return /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text;
    }
    const shown = (value) => Array.isArray(value) ? value.join(", ") :
      (value === undefined || value === null ? "" : String(value));

    function fieldRow(node) {
      const isAttribute = (node.field || "").startsWith("attributes.");
      const kind = fieldKind(node.field) || "text";
      const options = vocab.fields.map((f) => [f.name, f.label]);
      options.push(["attributes.", "attribute…"]);
      const row = h("span", {class: "rb-row"});
      row.append(select(options, isAttribute ? "attributes." : node.field, (value) => {
        const ops = vocab.ops[fieldKind(value === "attributes." ? "attributes.x" : value)];
        node.field = value === "attributes." ? "attributes.name" : value;
        node.op = ops[0].op;
        node.value = "";
        redraw();
      }, "field"));
      if (isAttribute) {
        row.append(h("input", {type: "text", class: "rb-path", "aria-label": "attribute path",
          value: node.field.slice("attributes.".length), oninput: (e) => {
            node.field = "attributes." + e.target.value.trim(); write();
          }}));
      }
      const ops = vocab.ops[kind] || [];
      row.append(select(ops.map((o) => [o.op, o.label]), node.op, (value) => {
        node.op = value;
        if (value === "exists" || value === "not_exists") delete node.value;
        else node.value = parseValue(kind, value, shown(node.value));
        redraw();
      }, "operator"));
      if (node.op !== "exists" && node.op !== "not_exists") {
        const days = node.op === "within_days" || node.op === "older_than_days";
        row.append(h("input", {type: "text", class: "rb-value", "aria-label": "value",
          placeholder: node.op === "in" || node.op === "not_in" ? "a, b, c" :
            (days ? "days" : (kind === "date" ? "2026-01-31T00:00" : "value")),
          value: shown(node.value), oninput: (e) => {
            node.value = parseValue(kind, node.op, e.target.value); write();
          }}));
        if (days) row.append(h("span", {text: node.op === "within_days" ? "days" : "days ago"}));
      }
      return row;
    }

    function whereText(where) {
      return Object.entries(where || {}).map(([k, v]) => `${k}=${v}`).join(", ");
    }
    function parseWhere(text) {
      const where = {};
      text.split(",").forEach((pair) => {
        const at = pair.indexOf("=");
        if (at > 0) where[pair.slice(0, at).trim()] = parseValue("json", "eq", pair.slice(at + 1).trim());
      });
      return where;
    }

    function behaviourRow(node) {
      const row = h("span", {class: "rb-row"});
      const count = node.count || {op: "gte", value: 1};
      row.append(
        h("span", {text: "did"}),
        select(vocab.kinds.map((k) => [k.kind, k.label.toLowerCase()]), node.kind,
          (value) => { node.kind = value; write(); }, "activity"),
        select(vocab.countOps.map((o) => [o.op, o.label.replace(/^is /, "")]), count.op,
          (value) => { node.count = {op: value, value: count.value}; write(); }, "how many"),
        h("input", {type: "number", min: "0", class: "rb-number", "aria-label": "times",
          value: count.value, oninput: (e) => {
            node.count = {op: count.op, value: toNumber(e.target.value)}; write();
          }}),
        h("span", {text: "times, in the last"}),
        h("input", {type: "number", min: "1", class: "rb-number", "aria-label": "days",
          placeholder: "all", value: node.within_days || "", oninput: (e) => {
            if (e.target.value === "") delete node.within_days;
            else node.within_days = toNumber(e.target.value);
            write();
          }}),
        h("span", {text: "days, where"}),
        h("input", {type: "text", class: "rb-where", "aria-label": "where",
          placeholder: "name=Added to cart", value: whereText(node.where), oninput: (e) => {
            const where = parseWhere(e.target.value);
            if (Object.keys(where).length) node.where = where; else delete node.where;
            write();
          }}));
      if (!node.count) node.count = count;
      return row;
    }

    function groupBox(node, parentSet) {
      // {"all"}, {"any"} and {"not": {"any"}} ("none of") are groups.
      const none = node.not && node.not.any;
      const key = none ? "none" : (node.all ? "all" : "any");
      const children = none ? node.not.any : node[key];
      const box = h("div", {class: "rb-group"});
      box.append(h("div", {class: "rb-group-head"}, [
        h("span", {text: "People matching"}),
        select([["all", "all of"], ["any", "any of"], ["none", "none of"]], key, (value) => {
          const next = value === "none" ? {not: {any: children}} : {[value]: children};
          parentSet(next);
          redraw();
        }, "group"),
        h("span", {text: "these:"}),
      ]));
      const list = h("ul", {class: "rb-children"});
      children.forEach((child, index) => {
        const set = (replacement) => { children[index] = replacement; };
        const item = h("li", {}, [drawNode(child, set)]);
        item.append(button("Remove", () => {
          children.splice(index, 1);
          redraw();
        }, "rb-remove"));
        list.append(item);
      });
      box.append(list, h("div", {class: "rb-actions"}, [
        button("+ Condition", () => {
          children.push({field: "city", op: "eq", value: ""}); redraw();
        }),
        button("+ Activity", () => {
          children.push({kind: "page_view", count: {op: "gte", value: 1}}); redraw();
        }),
        button("+ Group", () => {
          children.push({any: [{field: "city", op: "eq", value: ""}]}); redraw();
        }),
      ]));
      return box;
    }

    function drawNode(node, parentSet) {
      if (node && (node.all || node.any || (node.not && node.not.any))) {
        return groupBox(node, parentSet);
      }
      if (node && node.not) {
        return h("div", {class: "rb-not"}, [h("span", {text: "not"}),
          drawNode(node.not, (replacement) => { node.not = replacement; })]);
      }
      if (node && typeof node.field === "string") return fieldRow(node);
      if (node && typeof node.kind === "string") return behaviourRow(node);
      return h("span", {class: "rb-raw", text: "(edit this part in the JSON below)"});
    }

    function draw() {
      tree.replaceChildren(drawNode(state, (replacement) => { state = replacement; }));
    }

    function load() {
      let text = textarea.value.trim();
      try {
        state = text ? JSON.parse(text) : null;
        if (!state || (typeof state === "object" && !Object.keys(state).length)) {
          state = {all: [{field: "city", op: "eq", value: ""}]};  // a new segment
          text = "";
        }
      } catch (error) {
        count.textContent = "The JSON below is not valid yet: " + error.message;
        return;
      }
      if (!(state && (state.all || state.any || (state.not && state.not.any)))) {
        state = {all: [state]};  // the builder always starts with a group
      }
      draw();
      if (!text) write(); else preview();
    }

    function preview() {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const body = new FormData();
        body.append("definition", textarea.value);
        const token = document.querySelector("input[name=csrfmiddlewaretoken]");
        try {
          const response = await fetch(textarea.dataset.previewUrl, {
            method: "POST", body: body, credentials: "same-origin",
            headers: {"X-CSRFToken": token ? token.value : ""},
          });
          const answer = await response.json();
          sample.replaceChildren();
          if (answer.error) {
            count.className = "rb-count rb-error";
            count.textContent = `Not a valid rule yet — ${answer.error.path}: ${answer.error.message}`;
            return;
          }
          count.className = "rb-count";
          count.textContent = `Matches ${answer.count.toLocaleString()} ` +
            (answer.count === 1 ? "person" : "people") + " now" +
            (answer.sample.length ? ", for example:" : ".");
          answer.sample.forEach((person) => sample.append(
            h("li", {}, [h("a", {href: person.url, text: person.name})])));
        } catch (error) {
          count.textContent = "Could not count the matching people (" + error.message + ").";
        }
      }, 300);
    }

    textarea.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(load, 500);
    });
    load();
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll(".rule-builder").forEach(setup);
  });
})();
