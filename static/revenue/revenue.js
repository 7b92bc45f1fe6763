// The revenue-config editor: shows the running sum of the four shares as they are typed.
// The server checks the same rule; this only saves a round trip.
(function () {
  "use strict";
  function toUnits(value) {
    // Whole basis points, so that 0.1 + 0.2 adds up exactly.
    var match = /^\s*(\d*)(?:\.(\d{0,4}))?\s*$/.exec(value || "0");
    if (!match) { return NaN; }
    return parseInt(match[1] || "0", 10) * 10000 + parseInt(((match[2] || "") + "0000").slice(0, 4), 10);
  }
  function update(form, output) {
    var total = 0;
    form.querySelectorAll("input[data-share]").forEach(function (input) { total += toUnits(input.value); });
    if (isNaN(total)) {
      output.textContent = "Each share is a number between 0 and 1 with at most 4 decimals.";
      output.classList.add("invalid");
      return;
    }
    var sum = (total / 10000).toFixed(4);
    output.textContent = total === 10000 ? "The shares sum to 1." : "The shares sum to " + sum + "; they must sum to exactly 1.";
    output.classList.toggle("invalid", total !== 10000);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-share-form]").forEach(function (form) {
      var output = form.querySelector("[data-share-sum]");
      if (!output) { return; }
      form.addEventListener("input", function () { update(form, output); });
      update(form, output);
    });
  });
})();
