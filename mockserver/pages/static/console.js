// pacspace-mock dev console: keeps the lists current without a reload. Every 2 s it polls the
// page's JSON route (the body's data-live attribute); when its stamp changes, it fetches the page
// again and swaps each element marked data-live-region (by id) for the new one. The new HTML is
// the server's own autoescaped rendering, parsed with DOMParser (nothing in it runs).
(function () {
  "use strict";
  var url = document.body.getAttribute("data-live");
  if (!url) { return; }
  var state = document.getElementById("live-state");
  var stamp = null;
  var busy = false;

  function mark(on) { if (state) { state.setAttribute("data-state", on ? "on" : "off"); } }

  function swap(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    document.querySelectorAll("[data-live-region][id]").forEach(function (old) {
      var next = fresh.getElementById(old.id);
      if (next && !old.contains(document.activeElement)) { old.replaceWith(document.adoptNode(next)); }
    });
  }

  function poll() {
    if (busy || document.hidden) { return; }
    busy = true;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (r.status === 401) { window.location.reload(); throw new Error("signed out"); }
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      })
      .then(function (reply) {
        mark(true);
        var now = reply.data.stamp;
        if (stamp !== null && now !== stamp) {
          return fetch(window.location.href, { credentials: "same-origin" }).then(function (r) {
            if (!r.ok) { throw new Error("HTTP " + r.status); }
            return r.text();
          }).then(function (html) { swap(html); stamp = now; document.body.setAttribute("data-stamp", now); });
        }
        stamp = now;
        document.body.setAttribute("data-stamp", now);
      })
      .catch(function () { mark(false); })
      .then(function () { busy = false; });
  }

  poll();
  window.setInterval(poll, 2000);
}());
