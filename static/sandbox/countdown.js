// Counts down on the hosted page: the time left to pay, the re-request timer that unlocks its button,
// and after the result the return to the shop (the visible link stays; "Stay on this page" stops it).
// Without JavaScript the server still refuses an early re-request and the link is the way back.
(function () {
  function unlockTimers(root) {
    root.querySelectorAll("[data-countdown]").forEach(function (label) {
      var left = parseInt(label.getAttribute("data-countdown"), 10);
      var template = label.getAttribute("data-template");
      var button = label.parentElement.querySelector("[data-unlock-button]");
      var timer = setInterval(function () {
        left -= 1;
        if (left <= 0) {
          clearInterval(timer);
          label.hidden = true;
          if (button) { button.disabled = false; }
          return;
        }
        label.textContent = template.replace("{s}", String(left));
      }, 1000);
    });
  }

  function returnTimers(root) {
    root.querySelectorAll("[data-return-url]").forEach(function (box) {
      var left = parseInt(box.getAttribute("data-return-seconds"), 10);
      var template = box.getAttribute("data-template");
      var text = box.querySelector("[data-return-text]");
      var stay = box.querySelector("[data-stay]");
      box.hidden = false;
      var timer = setInterval(function () {
        left -= 1;
        if (left <= 0) {
          clearInterval(timer);
          window.location.assign(box.getAttribute("data-return-url"));
          return;
        }
        text.textContent = template.replace("{s}", String(left));
      }, 1000);
      stay.addEventListener("click", function () {
        clearInterval(timer);
        box.hidden = true;
      });
    });
  }

  // "Time left to pay" ticks down from the server's value; at zero the server declines the payin.
  function timeLeft(root) {
    root.querySelectorAll("[data-time-left]").forEach(function (line) {
      var left = parseInt(line.getAttribute("data-time-left"), 10);
      var template = line.getAttribute("data-template");
      var timer = setInterval(function () {
        left = Math.max(0, left - 1);
        var seconds = left % 60;
        line.textContent = template.replace("{s}", Math.floor(left / 60) + ":" + (seconds < 10 ? "0" : "") + seconds);
        if (left === 0) { clearInterval(timer); }
      }, 1000);
    });
  }

  function start(root) {
    if (root.nodeType !== 1 && root !== document) { return; }
    if (root !== document && root.hasAttribute("data-counting")) { return; }
    if (root !== document) { root.setAttribute("data-counting", ""); }
    unlockTimers(root);
    returnTimers(root);
    timeLeft(root);
  }

  document.addEventListener("DOMContentLoaded", function () { start(document); });
  // A step that htmx swapped in (the result after "checking") starts its own timers.
  document.addEventListener("htmx:load", function (event) {
    var elt = event.detail && event.detail.elt;
    if (elt && elt.id === "hh-step") { start(elt); }
  });
})();
