// When htmx swaps in the next step (the result after "checking"), it is like a new page: its title
// becomes the document's and keyboard focus moves to its heading, so screen readers announce it.
document.addEventListener("htmx:load", function (event) {
  var step = event.detail && event.detail.elt;
  if (!step || step.id !== "hh-step") { return; }
  document.title = step.getAttribute("data-title");
  var heading = step.querySelector("h1");
  if (heading) { heading.focus(); }
});
