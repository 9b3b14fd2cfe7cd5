/*
 * Card entry through Stripe.js for every form marked data-card-setup (checkout, saved cards).
 *
 * The card number goes from Stripe's field straight to Stripe: confirmCardSetup confirms the
 * page's SetupIntent (its client secret is in data-client-secret), and only the SetupIntent's
 * id is posted to our server, which asks Stripe what was saved. A refused card shows its
 * reason next to the card field, in our words where data-messages knows the code.
 */
(function () {
  'use strict';

  function messageFor(form, error) {
    var known = {};
    try {
      known = JSON.parse(form.dataset.messages || '{}');
    } catch (ignored) {
      known = {};
    }
    return (error && known[error.code]) || (error && error.message) || form.dataset.unavailable;
  }

  function newCardChosen(form) {
    var chosen = form.querySelector('input[data-card-choice]:checked');
    return !chosen || chosen.value === 'new';
  }

  function setBusy(form, busy) {
    form.querySelectorAll('button[type=submit]').forEach(function (button) {
      button.disabled = busy;
    });
  }

  function showCardField(form, box) {
    box.hidden = !newCardChosen(form);
  }

  function start(form) {
    var errors = form.querySelector('[data-card-errors]');
    var mountPoint = form.querySelector('[data-card-element]');
    var intentField = form.querySelector('input[data-setup-intent]');
    var cardBox = mountPoint.closest('[data-testid=new-card]') || mountPoint;
    if (typeof window.Stripe !== 'function') {
      errors.textContent = form.dataset.unavailable;
      return;
    }
    var stripe = window.Stripe(form.dataset.stripeKey);
    var card = stripe.elements().create('card', { hidePostalCode: true });
    card.mount(mountPoint);
    card.on('change', function () {
      errors.textContent = '';
    });
    form.querySelectorAll('input[data-card-choice]').forEach(function (choice) {
      choice.addEventListener('change', function () {
        showCardField(form, cardBox);
      });
    });
    showCardField(form, cardBox);

    var confirming = false;
    form.addEventListener('submit', function (event) {
      if (!newCardChosen(form) || intentField.value) {
        return; // the saved card: an ordinary form post
      }
      event.preventDefault();
      if (confirming) {
        return;
      }
      confirming = true;
      setBusy(form, true);
      errors.textContent = form.dataset.confirming || '';
      stripe
        .confirmCardSetup(form.dataset.clientSecret, {
          payment_method: { card: card },
          return_url: form.dataset.returnUrl,
        })
        .then(function (result) {
          if (result.error || !result.setupIntent) {
            errors.textContent = messageFor(form, result.error);
            confirming = false;
            setBusy(form, false);
            return;
          }
          errors.textContent = '';
          intentField.value = result.setupIntent.id;
          form.submit();
        });
    });
  }

  document.querySelectorAll('form[data-card-setup]').forEach(start);
})();
