// cnn-course: every figure of a notebook opens full size (a link to the image itself).
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".cell_output img").forEach((img) => {
    const src = img.getAttribute("src") || "";
    if (img.closest("a") || src.startsWith("data:")) return;
    const link = document.createElement("a");
    link.href = src;
    link.className = "course-zoom";
    link.title = "Abrir la figura a tamaño completo";
    img.replaceWith(link);
    link.appendChild(img);
  });
});
