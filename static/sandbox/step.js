// When htmx swaps in the next step (the result after "checking"), it is like a new page: its title
// becomes the document's and keyboard focus moves to its heading, so screen readers announce it.
document.addEventListener("htmx:load", function (event) {
  var step = event.detail && event.detail.elt;
  if (!step || step.id !== "hh-step") { return; }
  document.title = step.getAttribute("data-title");
  var heading = step.querySelector("h1");
  if (heading) { heading.focus(); }
});

// The page polls only with JavaScript, so only then does it say it updates by itself.
function revealPollingNotes() {
  var notes = document.querySelectorAll("[data-polling-note]");
  Array.prototype.forEach.call(notes, function (note) { note.hidden = false; });
}
document.addEventListener("DOMContentLoaded", revealPollingNotes);
document.addEventListener("htmx:afterSettle", revealPollingNotes);
