"""The page's own CSS and the two small scripts of the sources and document panels.

They are Python strings rather than files so that they ship with the package without
any package-data configuration.
"""

# Source links ([n] in answers, "Show in document" on cards) are plain fragment links
# (#src-<turn>-<kind>-<n>): the Chatbot's sanitizer keeps href but strips data-*
# attributes. One page-wide listener turns a click on any of them into this component's
# 'open_source' event. It is installed once; a re-mount only refreshes `trigger`.
SOURCES_JS = """
window.ragOpenSource = (href) => trigger('open_source', {href: href});
if (!window.ragSourceLinks) {
  window.ragSourceLinks = true;
  document.addEventListener('click', (event) => {
    const link = event.target.closest ? event.target.closest('a[href^="#src-"]') : null;
    if (!link) return;
    event.preventDefault();
    window.ragOpenSource(link.getAttribute('href'));
  });
}
"""

# Bring the first highlighted quote into view whenever a document is shown, and let the
# section tree scroll the text to a heading (without touching the page's URL).
DOCUMENT_JS = """
watch('value', () => {
  const mark = element.querySelector('mark');
  if (mark) mark.scrollIntoView({block: 'center'});
});
element.addEventListener('click', (event) => {
  const link = event.target.closest('a[data-section]');
  if (!link) return;
  event.preventDefault();
  const heading = element.querySelector('#' + link.dataset.section);
  if (heading) heading.scrollIntoView({block: 'start'});
});
"""

CSS = """
#rag-sources { max-height: 640px; overflow-y: auto !important; }  /* Gradio sets overflow: visible on HTML blocks */
.rag-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px;
  margin-bottom: 10px; background: var(--background-fill-primary); }
.rag-card.rag-active { border-color: var(--color-accent); box-shadow: 0 0 0 2px var(--color-accent-soft); }
.rag-card header, .rag-doc header { font-weight: 600; }
.rag-card blockquote { margin: 6px 0; padding-left: 10px; border-left: 3px solid var(--border-color-primary);
  font-size: 0.92em; }
.rag-badge { display: inline-block; padding: 0 6px; border-radius: 6px; background: var(--color-accent-soft);
  color: var(--body-text-color); font-size: 0.85em; }
.rag-crumbs { font-size: 0.8em; color: var(--body-text-color-subdued); margin-top: 2px; }
.rag-sep { margin: 0 5px; }
.rag-show { font-size: 0.85em; }
.rag-closest-label, .rag-empty { color: var(--body-text-color-subdued); margin-bottom: 8px; }
.rag-closest-label { font-weight: 600; }
mark { background: #ffe066; color: inherit; padding: 0 1px; }
a.rag-cite { font-weight: 600; text-decoration: none; margin-left: 1px; }
.rag-uncited { text-decoration: underline dashed #c2410c; text-underline-offset: 3px; }
.rag-uncited-flag { color: #c2410c; font-size: 0.8em; }
.rag-unsupported { text-decoration: underline wavy #b91c1c; text-underline-offset: 3px; }
.rag-unsupported-flag { color: #b91c1c; font-size: 0.8em; }
.rag-notice { border-left: 3px solid #d97706; padding: 4px 8px; margin-bottom: 6px; font-size: 0.9em;
  background: rgba(217, 119, 6, 0.08); }
.rag-typing { color: var(--body-text-color-subdued); }
.rag-doc-body { display: grid; grid-template-columns: minmax(180px, 1fr) 3fr; gap: 16px; margin-top: 8px; }
.rag-toc, .rag-doc-text { max-height: 560px; overflow-y: auto; }
.rag-toc ul { list-style: none; padding: 0; margin: 0; font-size: 0.85em; }
.rag-toc li { margin: 3px 0; }
.rag-toc .rag-current > a { font-weight: 700; }
.rag-level-2 { padding-left: 10px; } .rag-level-3 { padding-left: 20px; }
.rag-level-4, .rag-level-5, .rag-level-6 { padding-left: 30px; }
.rag-doc-text p { white-space: pre-wrap; }
.rag-corpus { width: 100%; border-collapse: collapse; font-size: 0.9em; }
.rag-corpus th, .rag-corpus td { text-align: left; padding: 4px 8px;
  border-bottom: 1px solid var(--border-color-primary); }
.rag-status { margin-bottom: 8px; }
"""
