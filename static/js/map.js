// The map is an enhancement: the list works without it. Positions arrive already converted
// into the tiles' coordinate system; clicks go back with that system named, and the server
// converts them to WGS-84.
(function () {
  "use strict";
  var dataEl = document.getElementById("map-data");
  var form = document.getElementById("search-form") || document.getElementById("check-form");

  function submitPoint(lat, lon, coordsys, label) {
    if (!form) return;
    form.elements.lat.value = lat.toFixed(7);
    form.elements.lon.value = lon.toFixed(7);
    form.elements.coordsys.value = coordsys;
    form.elements.label.value = label;
    form.elements.q.value = label;
    form.submit();
  }

  var locate = document.querySelector("[data-locate-me]");
  if (locate && navigator.geolocation) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      locate.disabled = true;
      locate.textContent = "正在定位…";
      navigator.geolocation.getCurrentPosition(
        function (pos) {
          // Browsers report WGS-84.
          submitPoint(pos.coords.latitude, pos.coords.longitude, "wgs84", "我的位置");
        },
        function () {
          locate.disabled = false;
          locate.textContent = "◎ 使用我的当前位置";
          alert("无法获取您的位置，请输入小区或街道名称，或在地图上点选。");
        },
        { enableHighAccuracy: true, timeout: 10000 }
      );
    });
  }

  var mapEl = document.getElementById("map");
  if (!dataEl || !mapEl || typeof L === "undefined") return;
  mapEl.hidden = false;  // hidden in the HTML so pages without JavaScript show no empty box
  var legend = document.querySelector(".js-map-legend");
  if (legend) legend.hidden = false;
  var data = JSON.parse(dataEl.textContent);
  var map = L.map(mapEl, { zoomControl: true });
  if (data.tiles) {
    L.tileLayer(data.tiles, {
      subdomains: data.subdomains || "abc",
      maxZoom: 18,
      attribution: data.attribution || "",
    }).addTo(map);
  }
  var bounds = [];
  var circleStyles = [
    { color: "#1b7f3b", weight: 2, fillOpacity: 0.12 },
    { color: "#2a62b8", weight: 2, fillOpacity: 0.05, dashArray: "6 4" },
  ];
  function drawCircles(center) {
    data.radii.forEach(function (r, i) {
      L.circle(center, Object.assign({ radius: r, interactive: false }, circleStyles[i])).addTo(map);
      // Bounds from the centre, not the layer: a circle has no bounds before the map has a view.
      var box = L.latLng(center).toBounds(2 * r);
      bounds.push(box.getNorthEast(), box.getSouthWest());
    });
  }
  if (data.home) {
    drawCircles(data.home);
    L.circleMarker(data.home, { radius: 8, color: "#c0392b", fillOpacity: 0.9 })
      .addTo(map)
      .bindTooltip("您的位置");
  }
  if (data.circlesAround) drawCircles(data.circlesAround);
  data.markers.forEach(function (m) {
    var marker = L.circleMarker(m.pos, {
      radius: 7, color: "#0b5394", weight: 2, fillOpacity: 0.8, className: "nursery-marker",
    });
    var link = document.createElement("a");
    link.href = "/nurseries/" + m.id;
    link.textContent = m.name;
    marker.bindPopup(link).addTo(map);
    bounds.push(m.pos);
  });
  if (bounds.length) {
    map.fitBounds(bounds, { padding: [16, 16], maxZoom: 16 });
  } else {
    map.setView([29.6, 106.52], 12);
  }
  if (form) {
    map.on("click", function (e) {
      submitPoint(e.latlng.lat, e.latlng.lng, data.coordsys || "wgs84", "地图上选定的位置");
    });
  }
  mapEl.dataset.ready = "1";
  mapEl.dataset.markers = String(data.markers.length);
})();
