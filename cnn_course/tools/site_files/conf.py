# The Sphinx configuration of the course site. `cnn-course site` (tools/site.py, build_site)
# copies this folder, adds the pages, and sets the two per-build values of html_context:
# course_colab (the Colab prefix of the published notebooks) and course_repo (the repository).
from cnn_course.tools.site import SITE_TITLE

project = SITE_TITLE
language = "es"
extensions = ["myst_nb", "sphinx.ext.mathjax", "sphinx-mathjax-offline", "sphinx_copybutton"]
exclude_patterns = ["_extra", "_build", "**.ipynb_checkpoints"]
master_doc = "index"
templates_path = ["_templates"]        # the theme fixes and Spanish labels
locale_dirs = ["locale"]               # Spanish for Sphinx's strings its catalog lacks
html_extra_path = ["_extra"]           # descargas/: each notebook once, and the whole course
nb_execution_mode = "off"              # render the stored outputs, never execute
nb_ipywidgets_js = {}                  # never load the widgets' JavaScript from another host
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
mathjax_path = "mathjax/tex-chtml.js"  # served from _static/, copied by sphinx-mathjax-offline
copybutton_selector = ":not(.output) > div.highlight > pre"   # code, not outputs
copybutton_exclude = ".linenos, .gp"
html_theme = "sphinx_book_theme"
html_title = SITE_TITLE
html_copy_source = False               # the notebooks are offered once, in descargas/
html_scaled_image_link = False   # the retina figures get course.js's zoom link, not Sphinx's
html_show_sourcelink = False
html_use_index = False                 # no index entries: no empty "Índice" page
html_last_updated_fmt = None
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_js_files = ["course.js"]
html_favicon = "favicon.svg"
html_context = {"default_mode": "light", "course_colab": None, "course_repo": None}
html_theme_options = {
    "secondary_sidebar_items": {"**": ["page-toc"], "index": []},
    "article_header_end": ["course-header-buttons.html"],
    "use_download_button": False,
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "toc_title": "Contenido",
    "search_bar_text": "Buscar en el curso…",
    "footer_content_items": ["extra-footer.html"],
    "extra_footer": "<p>Generado con <code>cnn-course site</code> a partir de las salidas "
                    "guardadas de los cuadernos.</p>",
}
