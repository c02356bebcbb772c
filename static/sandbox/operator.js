// Suggests the operator from the number's prefix while the payer types, when the prefix names one
// operator (the table comes from the server, operators.py). Numbers can be ported, so it only picks
// when the payer has not picked, and it never overrides the payer's own choice.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("hh-phone-form");
  if (!form) { return; }
  var prefixes = JSON.parse(form.getAttribute("data-operator-prefixes"));
  var phone = form.querySelector("input[name=phone]");
  var radios = Array.prototype.slice.call(form.querySelectorAll("input[name=operator]"));
  var group = form.querySelector("[role=radiogroup]");
  var hint = form.querySelector("[data-operator-hint]");
  // A choice the server kept from the payer counts as the payer's; one it suggested does not.
  var picked = radios.some(function (r) { return r.checked; }) && !form.hasAttribute("data-suggested");

  // The three digits after +7 (or 8), as in scenarios.normalize_phone; null until they are known.
  function prefixOf(text) {
    var digits = text.replace(/\D/g, "");
    if (/^\s*\+/.test(text) || digits.charAt(0) === "8" || digits.length === 11) { return digits.length >= 4 ? digits.slice(1, 4) : null; }
    return digits.length === 10 ? digits.slice(0, 3) : null;
  }

  function showHint(on) {
    hint.hidden = !on;
    var ids = (group.getAttribute("aria-describedby") || "").split(" ").filter(function (id) { return id && id !== hint.id; });
    if (on) { ids.push(hint.id); }
    if (ids.length) { group.setAttribute("aria-describedby", ids.join(" ")); } else { group.removeAttribute("aria-describedby"); }
  }

  radios.forEach(function (radio) {
    radio.addEventListener("change", function () { picked = true; showHint(false); });
  });

  phone.addEventListener("input", function () {
    if (picked) { return; }
    var code = prefixes[prefixOf(phone.value)];
    radios.forEach(function (radio) { radio.checked = radio.value === code; });
    showHint(Boolean(code));
  });
});
