// Drops: every <time data-countdown> counts down to its datetime, once a second; the server
// rendered the same text at page load, so the page reads right without this script too.
(function () {
  function left(ms) {
    if (ms <= 0) return "now";
    var s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600),
        m = Math.floor(s % 3600 / 60);
    s = s % 60;
    return "in " + (d ? d + " d " : "") + (d || h ? h + " h " : "") + (d || h || m ? m + " min " : "") + s + " s";
  }
  function tick() {
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      el.textContent = left(Date.parse(el.getAttribute("datetime")) - Date.now());
    });
  }
  tick();
  setInterval(tick, 1000);
})();
