// Live tail: follows the log of running steps over Server-Sent Events.
// Optional: without it the page shows the log as of loading.
(function () {
  "use strict";
  if (!window.EventSource) return;
  document.querySelectorAll(".log[data-live]").forEach(function (log) {
    var status = document.getElementById(log.id.replace("log-", "live-"));
    var es = new EventSource(log.dataset.live);
    var follow = function () { return log.scrollHeight - log.scrollTop - log.clientHeight < 40; };
    if (status) status.textContent = "Following the log live…";
    es.addEventListener("lines", function (e) {
      var stick = follow();
      log.insertAdjacentHTML("beforeend", e.data);
      if (stick) log.scrollTop = log.scrollHeight;
    });
    es.onerror = function () {
      // EventSource reconnects by itself unless the server refused the stream.
      if (es.readyState === EventSource.CLOSED && status) status.textContent = "Live tail unavailable: reload the page to see new output.";
    };
    es.addEventListener("end", function (e) {
      es.close();
      if (status) status.textContent = "Step finished: " + e.data.replace("_", " ") + ". Reload for the results.";
      log.removeAttribute("data-live");
    });
  });
})();
