// The ATP chart's read-out on tap or keyboard focus (hover shows each column's <title> too).
document.addEventListener("DOMContentLoaded", () => {
  const out = document.getElementById("atp-readout");
  if (!out) return;
  const show = (el) => {
    document.querySelectorAll("svg.atp .hit.on").forEach((h) => h.classList.remove("on"));
    el.classList.add("on");
    out.textContent = el.getAttribute("data-readout");
  };
  document.querySelectorAll("svg.atp .hit").forEach((el) => {
    el.addEventListener("click", () => show(el));
    el.addEventListener("focus", () => show(el));
  });
});
