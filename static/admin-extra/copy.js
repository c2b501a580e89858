"use strict";
// Copy buttons for secrets shown once (issued API keys, set-password links). A button names the
// element to copy in data-copy; the status next to it says whether it worked. The clipboard API
// exists only in secure contexts (HTTPS or localhost): elsewhere the text is selected instead, so
// Ctrl+C copies it. An external file, not an inline script, so a strict CSP allows it.
(function () {
  function say(button, text) {
    const status = button.parentElement.querySelector(".copy-status");
    if (status) status.textContent = text;
  }

  function selectText(element) {
    const range = document.createRange();
    range.selectNodeContents(element);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  async function copy(button) {
    const source = document.getElementById(button.dataset.copy);
    if (!source) return;
    try {
      await navigator.clipboard.writeText(source.textContent.trim());
      button.textContent = "Copied";
      say(button, "Copied to the clipboard.");
    } catch (error) {
      selectText(source);
      say(button, "Selected: press Ctrl+C (⌘C) to copy.");
    }
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button.copy-button");
    if (button) copy(button);
  });
})();
