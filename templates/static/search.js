// The search page: Pagefind's UI, under the site's base path, starting from ?q= if given.
(function () {
  var box = document.getElementById("search");
  if (!box || typeof PagefindUI === "undefined") return;
  var ui = new PagefindUI({
    element: "#search",
    baseUrl: box.dataset.base,
    bundlePath: box.dataset.bundle,
    // the index's other parts (one Pagefind bundle for each group of years)
    mergeIndex: JSON.parse(box.dataset.merge || "[]").map(function (path) {
      return { bundlePath: path };
    }),
    showImages: false,
    showSubResults: false,
    resetStyles: false,
  });
  // Pagefind's input has only a placeholder: give it a name screen readers announce.
  var labelled = new MutationObserver(function () {
    var input = box.querySelector("input.pagefind-ui__search-input");
    if (input) {
      input.setAttribute("aria-label", "Search the archive");
      input.setAttribute("type", "search");
      labelled.disconnect();
    }
  });
  labelled.observe(box, { childList: true, subtree: true });
  var query = new URLSearchParams(window.location.search).get("q");
  if (query) ui.triggerSearch(query);
})();
