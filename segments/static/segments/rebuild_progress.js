// The segment page's "rebuild" line: while a rebuild runs on the workers, ask for its
// progress every two seconds and show it (plain text from the server, in the viewer's zone),
// with the members and last rebuild fields next to it.
(function () {
  "use strict";
  function show(data, element) {
    element.textContent = data.text;
    Object.keys(data.fields || {}).forEach(function (name) {
      var field = document.querySelector(".field-" + name + " .readonly");
      if (field) { field.textContent = data.fields[name]; }
    });
  }
  function watch(element) {
    var timer = window.setInterval(function () {
      fetch(element.dataset.rebuildProgress, {credentials: "same-origin"})
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          show(data, element);
          if (!data.running) { window.clearInterval(timer); }
        })
        .catch(function () { /* the next tick tries again */ });
    }, 2000);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-rebuild-progress][data-running='yes']").forEach(watch);
  });
})();
