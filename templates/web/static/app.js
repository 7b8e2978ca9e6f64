// A pass that ended (or a background job, a colleague's correction) shows without a reload by hand:
// the page asks every few seconds whether anything it shows has changed, and reloads when nobody is
// typing into it; otherwise it says so and waits for the clerk.
(function () {
  "use strict";
  var body = document.body;
  var url = body.getAttribute("data-state-url");
  var mark = body.getAttribute("data-mark");
  if (!url) { return; }
  var dirty = false;
  document.addEventListener("input", function () { dirty = true; });
  var reload = document.getElementById("reload");
  if (reload) { reload.addEventListener("click", function (e) { e.preventDefault(); location.reload(); }); }
  function check() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (state) {
        if (!state || state.mark === mark) { return; }
        if (dirty) { document.getElementById("fresh").hidden = false; return; }
        location.reload();
      })
      .catch(function () { /* the server restarting: ask again later */ });
  }
  setInterval(check, 4000);
})();
