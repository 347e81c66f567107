/* Complaint filed page: forget the draft and offer to copy the tracking link. */
(function () {
  "use strict";
  try { sessionStorage.removeItem("complaint-draft"); } catch (err) { /* no storage */ }
  var button = document.querySelector("[data-copy]");
  var note = document.querySelector(".copied");
  if (!button) return;
  function copied(ok) {
    note.textContent = ok ? "已复制，可粘贴到备忘录或发给自己保存" : "复制失败，请长按链接手动复制";
  }
  function fallback(text) {
    var box = document.createElement("textarea");
    box.value = text;
    box.setAttribute("readonly", "");
    box.style.position = "fixed";
    box.style.opacity = "0";
    document.body.appendChild(box);
    box.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (err) { ok = false; }
    document.body.removeChild(box);
    copied(ok);
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    var text = button.getAttribute("data-copy");
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { copied(true); }, function () { fallback(text); });
    } else {
      fallback(text);
    }
  });
})();
