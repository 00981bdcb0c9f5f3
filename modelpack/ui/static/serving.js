// modelpack serve's model page: the try-it form posts its JSON body to /invocations
// and shows the status and the answer (as text: never as markup).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("try-it");
    if (!form) { return; }
    form.addEventListener("submit", function (evt) {
      evt.preventDefault();
      var status = document.getElementById("try-status");
      var answer = document.getElementById("try-answer");
      status.textContent = "Sending…";
      answer.textContent = "";
      var started = performance.now();
      fetch("/invocations", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: document.getElementById("try-body").value
      }).then(function (r) {
        return r.text().then(function (text) {
          var ms = Math.round(performance.now() - started);
          status.textContent = "HTTP " + r.status + " in " + ms + " ms";
          try { text = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* as sent */ }
          answer.textContent = text;
          answer.dataset.status = String(r.status);
        });
      }).catch(function (err) {
        status.textContent = "The request failed: " + err.message;
      });
    });
  });
})();
