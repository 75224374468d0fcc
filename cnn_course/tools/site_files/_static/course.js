// cnn-course: figures open full screen in a dialog that closes back to the same place; the
// menu button says whether the menu is open; a search result opens at the matching words.
document.addEventListener("DOMContentLoaded", () => {
  let lightbox = null;
  const open = (img) => {
    if (!lightbox) {
      lightbox = document.createElement("dialog");
      lightbox.className = "course-lightbox";
      lightbox.setAttribute("aria-label", "Figura a pantalla completa");
      lightbox.innerHTML = '<div class="course-lightbox__bar"><span>Desliza o pellizca para ' +
        'moverte y ampliar</span><button type="button" class="course-lightbox__close" ' +
        'aria-label="Cerrar la figura">✕</button></div><div class="course-lightbox__pane"></div>';
      lightbox.querySelector("button").addEventListener("click", () => lightbox.close());
      lightbox.addEventListener("click", (e) => { if (e.target === lightbox) lightbox.close(); });
      document.body.appendChild(lightbox);
    }
    const copy = img.cloneNode();
    copy.removeAttribute("loading");
    const pane = lightbox.querySelector(".course-lightbox__pane");
    pane.replaceChildren(copy);
    lightbox.showModal();   // closing gives the focus back; the page never moved
  };
  document.querySelectorAll(".course-figure").forEach((box) => {
    const img = box.querySelector("img");
    img.addEventListener("click", () => open(img));
    box.querySelector(".course-figure__open").addEventListener("click", () => open(img));
  });

  const menu = document.querySelector(".primary-toggle");
  const modal = document.getElementById("pst-primary-sidebar-modal");
  const sidebar = document.getElementById("pst-primary-sidebar");
  const expanded = () => {
    if (!menu) return;
    const shown = modal && modal.open ? true :
      (sidebar && sidebar.offsetParent !== null && getComputedStyle(sidebar).display !== "none"
       && window.innerWidth >= 960);
    menu.setAttribute("aria-expanded", shown ? "true" : "false");
  };
  if (menu) {
    menu.setAttribute("aria-controls", "pst-primary-sidebar");
    expanded();
    const watch = new MutationObserver(() => expanded());
    if (modal) watch.observe(modal, { attributes: true, attributeFilter: ["open"] });
    watch.observe(document.body, { attributes: true, subtree: false });
    if (sidebar) watch.observe(sidebar, { attributes: true });
    menu.addEventListener("click", () => setTimeout(expanded, 50));
  }

});

// A page opened from the search results starts at the first of the words searched for
// (sphinx_highlight.js marks them), not at its top.
window.addEventListener("load", () => {
  if (location.hash || !document.referrer.includes("search.html")) return;
  const hit = document.querySelector("article .highlighted");
  if (hit) hit.scrollIntoView({ block: "center" });
});
