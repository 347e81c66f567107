// Planning dashboard: the coverage map (communities by coverage, nurseries, their circles,
// suggested sites) and the print button of the report. The page works without it: every
// figure, the gap list and the suggestions are in the HTML. Positions arrive already in the
// tiles' coordinate system; network-mode circles are isochrone polygons from the server.
(function () {
  "use strict";

  var printButton = document.querySelector("[data-print]");
  if (printButton) {
    printButton.hidden = false;
    printButton.addEventListener("click", function () { window.print(); });
  }

  var mapEl = document.getElementById("planning-map");
  var configEl = document.getElementById("planning-map-config");
  if (!mapEl || !configEl || typeof L === "undefined") return;
  var config = JSON.parse(configEl.textContent);
  var status = document.getElementById("map-status");
  mapEl.hidden = false;
  var legend = document.querySelector(".js-map-legend");
  if (legend) legend.hidden = false;

  var COLOURS = { "5min": "#1b7f3b", "15min": "#e0a800", none: "#c0392b" };
  var LABELS = { "5min": "5分钟圈内", "15min": "15分钟圈内（5分钟圈外）", none: "15分钟圈外" };
  var map = L.map(mapEl, { zoomControl: true });
  if (config.tiles) {
    L.tileLayer(config.tiles, {
      subdomains: config.subdomains || "abc",
      maxZoom: 18,
      attribution: config.attribution || "",
    }).addTo(map);
  }
  map.setView([29.6, 106.52], 12);

  function say(text) {
    if (!status) return;
    status.textContent = text;
    status.hidden = !text;
  }

  function popup(lines) {
    // Built from text nodes: names come from imported files and are never parsed as HTML.
    var box = document.createElement("div");
    lines.forEach(function (line, i) {
      var p = document.createElement(i === 0 ? "strong" : "div");
      p.textContent = line;
      box.appendChild(p);
    });
    return box;
  }

  function draw(data) {
    // Drawn bottom to top; on the map before anything is added, so markers have elements.
    var circles15 = L.layerGroup().addTo(map), circles5 = L.layerGroup().addTo(map);
    var communities = L.layerGroup().addTo(map), nurseries = L.layerGroup().addTo(map);
    var sites = L.layerGroup().addTo(map);
    var bounds = [];

    if (config.isochrones_url) {
      // Network mode: the walking areas come from the server, the 15-minute one only when
      // its layer is switched on (it is large and covers most of a district).
      map.removeLayer(circles15);
      var loaded = {};
      var loadArea = function (minutes, group) {
        if (loaded[minutes]) return;
        loaded[minutes] = true;
        say("正在计算步行路网服务圈…");
        fetch(config.isochrones_url + "?minutes=" + minutes, { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
          .then(function (layer) {
            say("");
            layer.features.forEach(function (f) {
              if (!f.geometry) return;
              L.geoJSON(f, {
                interactive: false,
                style: minutes === 5
                  ? { color: "#1b7f3b", weight: 1, fillOpacity: 0.15, className: "area-5min" }
                  : { color: "#2a62b8", weight: 1, fillOpacity: 0.06, className: "area-15min" },
              }).addTo(group);
            });
            mapEl.dataset["areas" + minutes] = String(layer.features.length);
          })
          .catch(function () { loaded[minutes] = false; say("步行路网服务圈暂时无法显示。"); });
      };
      loadArea(5, circles5);
      map.on("overlayadd", function (e) {
        if (e.layer === circles15) loadArea(15, circles15);
        if (e.layer === circles5) loadArea(5, circles5);
      });
    } else {
      data.nurseries.forEach(function (n) {
        L.circle(n.pos, { radius: data.radii[0], interactive: false, color: "#1b7f3b",
          weight: 1, fillOpacity: 0.08, className: "circle-5min" }).addTo(circles5);
        L.circle(n.pos, { radius: data.radii[1], interactive: false, color: "#2a62b8",
          weight: 1, fill: false, dashArray: "6 4", className: "circle-15min" }).addTo(circles15);
      });
    }

    data.nurseries.forEach(function (n) {
      L.circleMarker(n.pos, { radius: 5, color: "#0b5394", weight: 2, fillColor: "#fff",
        fillOpacity: 1, className: "nursery-marker" })
        .bindPopup(popup([n.name, "托育机构"]))
        .addTo(nurseries);
    });

    data.communities.forEach(function (c) {
      var lines = [c.name, (c.street || "") + " · 3岁以下儿童 " + c.children + " 名", LABELS[c.coverage]];
      if (c.distance_m !== null) {
        lines.push("距最近机构 " + Math.round(c.distance_m) + " 米，步行约 " + c.walk_minutes + " 分钟（" + data.mode_label + "）");
      }
      L.circleMarker(c.pos, {
        radius: 6, color: "#fff", weight: 1, fillColor: COLOURS[c.coverage], fillOpacity: 0.9,
        className: "community-marker coverage-" + c.coverage,
      }).bindPopup(popup(lines)).addTo(communities);
      bounds.push(c.pos);
    });

    data.sites.forEach(function (s) {
      var icon = L.divIcon({ className: "site-marker", html: "", iconSize: [26, 26] });
      var marker = L.marker(s.pos, { icon: icon, zIndexOffset: 1000, title: "建议选址 " + s.rank,
        alt: "建议选址 " + s.rank });
      marker.bindPopup(popup(["建议选址 " + s.rank, s.label, "新覆盖3岁以下儿童 " + s.gain_children + " 名"]));
      marker.addTo(sites);
      // The number is set as text, after Leaflet has made the element.
      marker.getElement().textContent = String(s.rank);
      marker.getElement().dataset.rank = String(s.rank);
      bounds.push(s.pos);
    });

    L.control.layers(null, {
      "5分钟圈": circles5, "15分钟圈": circles15, "小区": communities,
      "托育机构": nurseries, "建议选址": sites,
    }, { collapsed: true }).addTo(map);
    if (!bounds.length) data.nurseries.forEach(function (n) { bounds.push(n.pos); });
    if (bounds.length) map.fitBounds(bounds, { padding: [16, 16], maxZoom: 16 });
    mapEl.dataset.communities = String(data.communities.length);
    mapEl.dataset.nurseries = String(data.nurseries.length);
    mapEl.dataset.sites = String(data.sites.length);
    mapEl.dataset.ready = "1";
  }

  say("正在载入地图数据…");
  fetch(config.data_url, { credentials: "same-origin" })
    .then(function (r) {
      return r.json().then(function (body) { return r.ok ? body : Promise.reject(body); });
    })
    .then(function (data) { say(""); draw(data); })
    .catch(function (err) {
      say((err && err.error && err.error.message) || "地图数据载入失败，请刷新页面重试。");
    });
})();
