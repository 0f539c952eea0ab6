// Enhancement only: every page works without this file.
(function () {
  'use strict';

  // Move focus to the error summary so that screen reader users hear the problem first.
  var summary = document.querySelector('[data-app-error-summary]');
  if (summary) summary.focus();

  // Exception report: say how many learners the bulk form would act on.
  var bulkForm = document.querySelector('[data-app-bulk-form]');
  if (bulkForm) {
    var select = bulkForm.querySelector('[data-app-select]');
    var output = bulkForm.querySelector('[data-app-selected-count]');
    var updateCount = function () {
      if (!select || !output) return;
      var option = select.options[select.selectedIndex];
      var countText = option && option.getAttribute('data-count-text');
      if (countText) {
        output.textContent = countText;
        return;
      }
      var count = option && option.value !== 'none'
        ? Number(option.getAttribute('data-count') || 0)
        : bulkForm.querySelectorAll('input[name="ids"]:checked').length;
      output.textContent = count.toLocaleString('en-GB') + (count === 1 ? ' learner selected' : ' learners selected');
    };
    bulkForm.addEventListener('change', updateCount);
    updateCount();
  }

  // Bulk action progress: poll the status instead of the page's no-JavaScript refresh. The end is
  // announced in the status region; the page is not reloaded under the reader.
  var progress = document.querySelector('[data-app-progress]');
  if (progress && progress.getAttribute('data-finished') === 'no' && window.fetch) {
    var bar = progress.querySelector('[data-app-progress-bar]');
    var state = progress.querySelector('[data-app-progress-state]');
    var text = progress.querySelector('[data-app-progress-text]');
    var check = progress.querySelector('[data-app-progress-check]');
    var poll = function () {
      fetch(progress.getAttribute('data-status-href'), { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (status) {
          if (!status) return setTimeout(poll, 5000);
          bar.max = Math.max(status.total, 1);
          bar.value = status.processed;
          bar.textContent = status.percent + '%';
          state.textContent = status.stateLabel;
          if (text.textContent !== status.statusText) text.textContent = status.statusText;
          document.title = status.title;
          if (status.finished) {
            progress.setAttribute('data-finished', 'yes');
            if (check) check.textContent = 'Show the outcome';
          } else setTimeout(poll, 1500);
        })
        .catch(function () { setTimeout(poll, 5000); });
    };
    setTimeout(poll, 1000);
  }
})();
