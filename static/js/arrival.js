/*
 * The study page's Start/Continue button takes the focus on arrival, so Enter opens the next item
 * without seven Tabs through the top bar. Not the autofocus attribute: that scrolls the button into
 * view, past instructions a first-time coach should read from the top.
 */
(function () {
  "use strict";
  var button = document.querySelector("[data-focus-on-arrival]");
  if (button && document.activeElement === document.body) button.focus({ preventScroll: true });
})();
