// A "Copy" button beside a read-only box (button[data-copy] names the box's id). Without JavaScript
// the box's text is there to select; with it, the button shows and copies it to the clipboard.
(function () {
  "use strict";
  function reveal() {
    document.querySelectorAll("button[data-copy][hidden]").forEach(function (b) {
      if (navigator.clipboard) { b.hidden = false; }
    });
  }
  document.addEventListener("DOMContentLoaded", reveal);
  document.addEventListener("htmx:load", reveal);
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    if (!button) { return; }
    var box = document.getElementById(button.getAttribute("data-copy"));
    if (!box) { return; }
    navigator.clipboard.writeText(box.value).then(function () {
      button.textContent = "Copied";
    }, function () {
      box.select();
      button.textContent = "Select and copy (Ctrl+C)";
    });
  });
})();
