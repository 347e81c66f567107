/* Booking form: show only the fields the chosen care type uses (progressive enhancement). */
(function () {
  var form = document.getElementById("book-form");
  if (!form) return;
  function sync() {
    var checked = form.querySelector('input[name="care_type"]:checked');
    var care = checked ? checked.value : null;
    form.querySelectorAll(".care-only").forEach(function (box) {
      var show = !care || box.getAttribute("data-care").split(" ").indexOf(care) >= 0;
      box.hidden = !show;
      box.querySelectorAll("input, select").forEach(function (el) { el.disabled = !show; });
    });
  }
  form.addEventListener("change", sync);
  sync();
})();
