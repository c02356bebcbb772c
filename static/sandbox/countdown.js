// Counts the re-request timer down and unlocks the button; without JavaScript the server still
// refuses an early re-request and the page says how long to wait.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-countdown]").forEach(function (label) {
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
});
