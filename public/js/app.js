// Enhancement only: every page works without this file.
(function () {
  'use strict';

  // Move focus to the error summary so that screen reader users hear the problem first.
  var summary = document.querySelector('[data-app-error-summary]');
  if (summary) summary.focus();
})();
