/* Complaint form: progressive enhancement only, the form works the same without it.
   Limits come from the form's data-max-description / data-max-photos / data-site attributes. */
(function () {
  "use strict";
  var form = document.getElementById("complaint-form");
  if (!form) return;
  var MAX = Number(form.getAttribute("data-max-description"));
  var MAX_PHOTOS = Number(form.getAttribute("data-max-photos"));
  var SITE = form.getAttribute("data-site");
  var MAX_BYTES = 5 * 1024 * 1024;

  // Show the unregistered site's fields only when that choice is made.
  var siteBox = document.getElementById("site-fields");
  var map = null;
  function syncSite() {
    var checked = form.querySelector('input[name="nursery_id"]:checked');
    var isSite = !!checked && checked.value === SITE;
    siteBox.hidden = !isSite;
    if (isSite) showMap();
  }
  form.querySelectorAll(".js-hide").forEach(function (el) { el.hidden = true; });
  form.addEventListener("change", function (e) {
    if (e.target.name === "nursery_id") syncSite();
  });

  // The description's length, counted as the server counts it (characters, not UTF-16 units).
  var text = document.getElementById("description");
  var count = document.getElementById("description-count");
  function syncCount() {
    var n = Array.from(text.value.replace(/\r\n/g, "\n")).length;
    count.textContent = "已写 " + n + " / " + MAX + " 字" + (n > MAX ? "，超出 " + (n - MAX) + " 字，请删减" : "");
    count.classList.toggle("over", n > MAX);
  }
  text.addEventListener("input", syncCount);

  // Photos: say at once when there are too many or one is too large (the server checks again).
  var photos = document.getElementById("photos");
  var photosHint = document.getElementById("photos-hint");
  var photosText = photosHint.textContent;
  photos.addEventListener("change", function () {
    var files = Array.from(photos.files || []);
    var big = files.filter(function (f) { return f.size > MAX_BYTES; });
    var msg = photosText;
    if (files.length > MAX_PHOTOS) msg = "最多选择 " + MAX_PHOTOS + " 张照片，您选了 " + files.length + " 张，请重新选择。";
    else if (big.length) msg = "照片“" + big[0].name + "”超过 5 MB，请压缩后再选。";
    else if (files.length) msg = "已选 " + files.length + " 张照片。" + photosText;
    photosHint.textContent = msg;
    photosHint.classList.toggle("over", files.length > MAX_PHOTOS || big.length > 0);
  });

  // A draft of the text survives a nursery search (a separate page load) in this tab only.
  var KEY = "complaint-draft", keep = ["description", "site_name", "site_address", "lat", "lon"];
  try {
    var draft = JSON.parse(sessionStorage.getItem(KEY) || "{}");
    keep.forEach(function (name) {
      var el = form.elements[name];
      if (el && !el.value && draft[name]) el.value = draft[name];
    });
    if (draft.category && !form.querySelector('input[name="category"]:checked')) {
      var cat = form.querySelector('input[name="category"][value="' + CSS.escape(draft.category) + '"]');
      if (cat) cat.checked = true;
    }
    form.addEventListener("input", save);
    form.addEventListener("change", save);
  } catch (err) { /* storage unavailable: no draft */ }
  function save() {
    var data = {};
    keep.forEach(function (name) { data[name] = form.elements[name].value; });
    var cat = form.querySelector('input[name="category"]:checked');
    data.category = cat ? cat.value : "";
    try { sessionStorage.setItem(KEY, JSON.stringify(data)); } catch (err) { /* full or off */ }
  }

  // Locations: the browser reports WGS-84.
  function setPoint(lat, lon, coordsys) {
    form.elements.lat.value = lat.toFixed(6);
    form.elements.lon.value = lon.toFixed(6);
    form.elements.coordsys.value = coordsys;
    save();
  }
  function locate(button, done) {
    if (!navigator.geolocation) return;
    button.hidden = false;
    var label = button.textContent;
    button.addEventListener("click", function () {
      button.disabled = true;
      button.textContent = "正在定位…";
      navigator.geolocation.getCurrentPosition(function (pos) {
        button.disabled = false;
        button.textContent = label;
        done(pos.coords.latitude, pos.coords.longitude);
      }, function () {
        button.disabled = false;
        button.textContent = label;
        alert("无法获取您的位置，请手动填写或搜索。");
      }, { enableHighAccuracy: true, timeout: 10000 });
    });
  }
  var nearMe = document.querySelector("[data-near-me]");
  var search = document.getElementById("nursery-search");
  locate(nearMe, function (lat, lon) {
    search.elements.near_lat.value = lat.toFixed(7);
    search.elements.near_lon.value = lon.toFixed(7);
    search.elements.nursery_q.value = "";
    search.submit();
  });
  locate(document.querySelector("[data-site-here]"), function (lat, lon) {
    setPoint(lat, lon, "wgs84");
  });

  // The optional map: a click fills the coordinates, in the tiles' coordinate system.
  function showMap() {
    var el = document.getElementById("site-map");
    var dataEl = document.getElementById("site-map-data");
    if (map || !el || !dataEl || typeof L === "undefined") return;
    var data = JSON.parse(dataEl.textContent);
    el.hidden = false;
    map = L.map(el).setView(data.center, data.zoom);
    L.tileLayer(data.tiles, { subdomains: data.subdomains || "abc", maxZoom: 18, attribution: data.attribution || "" }).addTo(map);
    var marker = null;
    map.on("click", function (e) {
      if (marker) marker.setLatLng(e.latlng);
      else marker = L.circleMarker(e.latlng, { radius: 8, color: "#c0392b", fillOpacity: 0.9 }).addTo(map);
      setPoint(e.latlng.lat, e.latlng.lng, data.coordsys);
    });
  }

  syncSite();
  syncCount();
})();
