// Stripe's Payment Element on the pay page: the card is tokenised by Stripe.js, the server confirms the
// PaymentIntent (with an idempotency key per order and attempt), and 3-D Secure's extra step runs here.
(function () {
  "use strict";
  function csrf(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }
  function post(form, body) {
    return fetch(form.dataset.payUrl, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf(form)},
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (data) { return {ok: response.ok, data: data}; });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("stripe-payment-form");
    if (!form || typeof Stripe === "undefined") { return; }
    var stripe = Stripe(form.dataset.publishableKey);
    var elements = stripe.elements({mode: "payment", amount: parseInt(form.dataset.amount, 10),
                                    currency: form.dataset.currency, paymentMethodCreation: "manual",
                                    paymentMethodTypes: ["card"]});
    elements.create("payment").mount("#payment-element");
    var errorBox = document.getElementById("payment-error");
    var button = document.getElementById("pay-button");
    function fail(message) { errorBox.textContent = message; button.disabled = false; }
    function finish(result) {
      if (!result.ok) { return fail((result.data.error && result.data.error.message) || "The payment did not go through."); }
      if (result.data.requiresAction) {
        return stripe.handleNextAction({clientSecret: result.data.clientSecret}).then(function (outcome) {
          if (outcome.error) { return fail(outcome.error.message); }
          return post(form, {paymentIntentId: result.data.paymentIntentId}).then(finish);
        });
      }
      window.location.assign(form.dataset.doneUrl);
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      button.disabled = true;
      errorBox.textContent = "";
      elements.submit().then(function (submitted) {
        if (submitted.error) { return fail(submitted.error.message); }
        return stripe.createPaymentMethod({elements: elements}).then(function (created) {
          if (created.error) { return fail(created.error.message); }
          return post(form, {paymentMethod: created.paymentMethod.id}).then(finish);
        });
      }).catch(function () { fail("The payment could not be sent; try again."); });
    });
  });
})();
