/* Inline glossary definitions work without this file (CSS shows them on hover and focus).
   It adds what WCAG 1.4.13 asks of content shown on hover or focus: Escape dismisses it
   without moving the pointer or the focus; it comes back on the next hover or focus. */
(function () {
  "use strict";
  var DISMISSED = "is-dismissed";
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" && event.key !== "Esc") return;
    var shown = document.querySelectorAll(".glossary-term:hover + .glossary-definition, .glossary-term:focus + .glossary-definition, .glossary-definition:hover");
    for (var i = 0; i < shown.length; i++) shown[i].classList.add(DISMISSED);
  });
  function reset(event) {
    var term = event.target.closest && event.target.closest(".glossary-term");
    var definition = term && term.nextElementSibling;
    if (definition && definition.classList.contains("glossary-definition")) definition.classList.remove(DISMISSED);
  }
  document.addEventListener("focusin", reset);
  document.addEventListener("mouseover", reset);
})();
