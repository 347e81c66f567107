/* Filing form: progressive enhancement only; the form works the same without it.
   - more class and staff rows ("＋" buttons clone the last row with the next index);
   - the optional map: a click fills the coordinates in the tiles' coordinate system. */
(function () {
  "use strict";
  var form = document.getElementById("filing-form");
  if (!form) return;

  function addRow(kind) {
    var box = document.getElementById(kind + "-rows");
    var rows = box.querySelectorAll('[data-row="' + kind + '"]');
    if (!rows.length) return;
    var next = Number(box.getAttribute("data-next"));
    var copy = rows[rows.length - 1].cloneNode(true);
    copy.querySelectorAll("[id]").forEach(function (el) {
      el.id = el.id.replace(/-\d+$/, "-" + next);
    });
    copy.querySelectorAll("[for]").forEach(function (el) {
      el.setAttribute("for", el.getAttribute("for").replace(/-\d+$/, "-" + next));
    });
    copy.querySelectorAll("[name]").forEach(function (el) {
      el.name = el.name.replace(/-\d+$/, "-" + next);
      if (el.tagName === "SELECT") el.selectedIndex = 0; else el.value = "";
    });
    var legend = copy.querySelector("legend");
    if (legend) legend.textContent = legend.textContent.replace(/\d+$/, String(next + 1));
    box.appendChild(copy);
    box.setAttribute("data-next", String(next + 1));
    var first = copy.querySelector("input, select");
    if (first) first.focus();
  }
  form.querySelectorAll("[data-add-row]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { addRow(button.getAttribute("data-add-row")); });
  });

  var el = document.getElementById("filing-map");
  var dataEl = document.getElementById("filing-map-data");
  if (!el || !dataEl || typeof L === "undefined") return;
  var data = JSON.parse(dataEl.textContent);
  var map = L.map(el).setView(data.center, data.zoom);
  L.tileLayer(data.tiles, { subdomains: data.subdomains || "abc", maxZoom: 18, attribution: data.attribution || "" }).addTo(map);
  var marker = null;
  map.on("click", function (e) {
    if (marker) marker.setLatLng(e.latlng);
    else marker = L.circleMarker(e.latlng, { radius: 8, color: "#c0392b", fillOpacity: 0.9 }).addTo(map);
    form.elements.lat.value = e.latlng.lat.toFixed(6);
    form.elements.lon.value = e.latlng.lng.toFixed(6);
    form.elements.coordsys.value = data.coordsys;
  });
})();
