/* Ask before submitting a form that carries data-confirm (e.g. cancelling a booking); without JavaScript the button submits directly. */
/* Ask before cancelling; without JavaScript the button cancels directly. */
document.querySelectorAll("form[data-confirm]").forEach(function (f) {
  f.addEventListener("submit", function (e) {
    if (!window.confirm(f.getAttribute("data-confirm"))) e.preventDefault();
  });
});
