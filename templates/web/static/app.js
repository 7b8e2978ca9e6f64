// A pass that ended (or a background job, a colleague's correction) shows without a reload by hand:
// the page asks every few seconds whether anything it shows has changed, and reloads when nobody is
// typing into it or has clicked into a field; otherwise it says so and waits for the clerk.
(function () {
  "use strict";
  var body = document.body;
  var url = body.getAttribute("data-state-url");
  var mark = body.getAttribute("data-mark");
  if (!url) { return; }
  // What the clerk was just told (已记录…) outlives the reload that shows the rebuilt round.
  var KEPT = "intake-flash";
  var kept = sessionStorage.getItem(KEPT);
  sessionStorage.removeItem(KEPT);
  var main = document.querySelector("main");
  if (kept && main && !document.querySelector(".flash")) {
    JSON.parse(kept).forEach(function (f) {
      var p = document.createElement("p");
      p.className = f.css;
      p.textContent = f.text;
      main.insertBefore(p, main.firstChild);
    });
  }
  function keepFlashes() {
    var shown = Array.prototype.map.call(document.querySelectorAll("main > .flash"), function (el) {
      return { css: el.className, text: el.textContent };
    });
    if (shown.length) { sessionStorage.setItem(KEPT, JSON.stringify(shown.reverse())); }
  }
  var dirty = false;
  document.addEventListener("input", function () { dirty = true; });
  // A clerk who has clicked into a field is about to type: a reload then would take the first
  // keystrokes away, so the page waits for them too and says there is news.
  var FIELD = "input:not([type=submit]):not([type=button]):not([type=hidden]), textarea, select";
  document.addEventListener("focusin", function (e) {
    if (e.target && e.target.matches && e.target.matches(FIELD)) { dirty = true; }
  });
  var reload = document.getElementById("reload");
  if (reload) { reload.addEventListener("click", function (e) { e.preventDefault(); location.reload(); }); }
  function check() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (state) {
        if (!state || state.mark === mark) { return; }
        if (dirty) { document.getElementById("fresh").hidden = false; return; }
        keepFlashes();
        location.reload();
      })
      .catch(function () { /* the server restarting: ask again later */ });
  }
  setInterval(check, 4000);
})();
