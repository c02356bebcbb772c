// "Copy link" buttons: shown only when this script runs; without it the link stays selectable by hand.
(function () {
  "use strict";

  function say(button, text) {
    var status = button.parentElement.parentElement.querySelector(".copy-status");
    if (status) { status.textContent = text; }
  }

  function copyByHand(input) {
    input.focus();
    input.select();
    try { return document.execCommand("copy"); } catch (error) { return false; }
  }

  function copy(button) {
    var input = document.getElementById(button.getAttribute("data-copy-target"));
    if (!input) { return; }
    var copied = button.getAttribute("data-copied");
    var failed = button.getAttribute("data-copy-failed");
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(
        function () { say(button, copied); },
        function () { say(button, copyByHand(input) ? copied : failed); }
      );
    } else {
      say(button, copyByHand(input) ? copied : failed);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var buttons = document.querySelectorAll("button.copy-link[data-copy-target]");
    Array.prototype.forEach.call(buttons, function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { copy(button); });
    });
  });
})();
