// The order page's "time left": ticks in the browser between status updates, so no poll re-renders it.
// The server renders the value for pages without JavaScript and gives the deadline and its own "now";
// counting from the server's "now" keeps a phone with a wrong clock right.
(function () {
  "use strict";

  var TICK_MS = 1000;

  function clockText(seconds) {
    var whole = Math.max(0, Math.floor(seconds));
    var rest = whole % 60;
    return Math.floor(whole / 60) + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function tick() {
    var clocks = document.querySelectorAll(".clock[data-deadline][data-now]");
    Array.prototype.forEach.call(clocks, function (clock) {
      if (clock.orderEndsAt === undefined) {
        var left = Number(clock.getAttribute("data-deadline")) - Number(clock.getAttribute("data-now"));
        clock.orderEndsAt = Date.now() + left * 1000;
      }
      var text = clockText((clock.orderEndsAt - Date.now()) / 1000);
      if (clock.textContent !== text) { clock.textContent = text; }
    });
  }

  // The page polls only with JavaScript, so only then does it say it updates by itself.
  function revealPollingNotes() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-polling-note]"), function (note) {
      note.hidden = false;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    revealPollingNotes();
    document.body.addEventListener("htmx:afterSettle", revealPollingNotes);
    tick();
    window.setInterval(tick, TICK_MS);
  });
})();
