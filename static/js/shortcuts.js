/*
 * coachbench keyboard: a whole item can be judged without the mouse.
 *
 *   1 2 3 4   pairwise: left, right, equally helpful, neither helps
 *   digits    Likert: the scale's points (0 stands for 10 on a 1-10 scale)
 *   Enter     submit (Ctrl+Enter from the rationale box)
 *   Space     play or pause the selected video
 *   , .       one frame back or forward
 *   r         replay every video;  b  play both clips together
 *   ?         the help overlay (Esc closes it)
 *
 * Keys typed into a text field stay text. Buttons, links and the flag menu keep
 * their own Enter and Space, so keyboard users can still press what they focus.
 */
(function () {
  "use strict";

  var TEXT_FIELDS = "textarea, select, input:not([type]), input[type='text'], input[type='search'], [contenteditable]";
  var OWN_ACTIVATION = "button, a[href], summary, input[type='range'], " + TEXT_FIELDS;

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey || event.isComposing) return;
    var task = window.coachbench && window.coachbench.task();
    if (!task) return;
    var target = event.target instanceof Element ? event.target : document.body;
    if (target.closest("dialog[open]")) return; // the dialog handles Esc and its own button

    if (target.closest(TEXT_FIELDS)) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && target.tagName === "TEXTAREA") {
        event.preventDefault();
        task.submit();
      } else if (event.key === "Escape") {
        target.blur();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey) return;

    var key = event.key;
    var handled = true;
    if (key === "?") {
      task.openHelp();
    } else if (/^[0-9]$/.test(key)) {
      handled = task.choose(key);
    } else if (key === "Enter") {
      if (target.closest(OWN_ACTIVATION)) return;
      task.submit();
    } else if (key === " ") {
      if (target.closest(OWN_ACTIVATION)) return;
      if (task.active) task.active.toggle();
    } else if (key === "r" || key === "R") {
      task.replayAll();
    } else if (key === "b" || key === "B") {
      task.playBoth();
    } else if (key === ",") {
      if (task.active) task.active.step(-1);
    } else if (key === ".") {
      if (task.active) task.active.step(1);
    } else {
      handled = false;
    }
    if (handled) event.preventDefault();
  });
})();
