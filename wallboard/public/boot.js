// The page's boot watchdog: a classic script of its own (the CSP allows no inline script), run before the app's module.
// A TV has nobody to press F5: if the app's script failed to load once (a blip while the server restarts, a rolling
// deploy where the new index.html names a script an older process does not have), no code of the app ever runs and the
// screen stays blank. So: if the app has drawn nothing `data-after-ms` after the start, reload once the server answers
// its liveness check, waiting longer at each attempt of the same tab (20 s, 40 s, 80 s … 5 min).
(function () {
  'use strict';
  var KEY = 'nabiz-boot-attempts';
  var script = document.currentScript;
  var afterMs = Number((script && script.getAttribute('data-after-ms')) || 20000);
  var attempts = 0;
  try {
    attempts = Number(sessionStorage.getItem(KEY)) || 0;
  } catch (e) {
    // storage refused: every attempt waits the first delay
  }
  var delay = Math.min(afterMs * Math.pow(2, attempts), 300000);
  function drawn() {
    var root = document.getElementById('root');
    return root !== null && root.childElementCount > 0;
  }
  function check() {
    if (drawn()) {
      try {
        sessionStorage.removeItem(KEY);
      } catch (e) {
        // nothing to forget
      }
      return;
    }
    fetch('/healthz', { cache: 'no-store' }).then(
      function (r) {
        if (!r.ok) return setTimeout(check, delay);
        try {
          sessionStorage.setItem(KEY, String(attempts + 1));
        } catch (e) {
          // the next load waits the first delay again
        }
        location.reload();
      },
      function () {
        setTimeout(check, delay);
      },
    );
  }
  setTimeout(check, delay);
})();
