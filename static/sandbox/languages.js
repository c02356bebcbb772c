// On the phone step the language links carry what the payer has typed so far (number and operator),
// so switching language keeps it; the server reads them back into the form. Never a code: the code
// step's links carry nothing.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("hh-phone-form");
  if (!form) { return; }
  var links = document.querySelectorAll("a[data-keep-typed]");

  function carry() {
    var phone = form.querySelector("input[name=phone]").value;
    var operator = form.querySelector("input[name=operator]:checked");
    links.forEach(function (link) {
      var url = new URL(link.href);
      url.searchParams.delete("phone");
      url.searchParams.delete("operator");
      if (phone) { url.searchParams.set("phone", phone); }
      if (operator) { url.searchParams.set("operator", operator.value); }
      link.href = url.toString();
    });
  }

  form.addEventListener("input", carry);
  form.addEventListener("change", carry);
});
